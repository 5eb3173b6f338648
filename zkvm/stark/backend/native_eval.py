"""Prover-side fast path for the constraint evaluator: the same Expr DAG that ``air.evaluate`` walks is
compiled into a register program and run by the C constraint VM (``evalvm/evalvm.c``) over every LDE row.
Used only by the prover; when the extension is not built, ``available()`` is False and the prover falls back
to the numpy backend of ``air.evaluate`` (same results, tested).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from zkvm.field.babybear import P
from zkvm.stark.backend import BACKEND
from zkvm.stark.dsl.air import Expr, _walk

_evalvm = BACKEND.evalvm

OP_LOAD, OP_CONST, OP_ADD, OP_SUB, OP_MUL, OP_NEG = range(6)
KIND_INDEX = {"always": 0, "transition": 1, "first": 2, "last": 3}


def available() -> bool:
    return _evalvm is not None


class Program:
    """A DAG compiled to ``(op, dst, a, b)`` instructions. Registers are reused once a node's last consumer
    has run (roots stay live to the end), so the VM's working set stays in L1 even for large AIRs."""

    def __init__(self, roots: Sequence[Expr], publics: Mapping[str, int]) -> None:
        self.sources: list[tuple[str, bool]] = []  # (kind, is_next) in source-id order
        src_id: dict[tuple[str, bool], int] = {}
        order = _walk(roots)
        pos = {id(node): i for i, node in enumerate(order)}
        last_use = {id(node): i for i, node in enumerate(order)}
        for i, node in enumerate(order):
            if node.op in ("add", "sub", "mul", "neg"):
                for a in node.args:
                    last_use[id(a)] = max(last_use[id(a)], i)
        for r in roots:
            last_use[id(r)] = len(order)
        reg: dict[int, int] = {}
        free: list[int] = []
        n_regs = 0
        prog: list[tuple[int, int, int, int]] = []
        for i, node in enumerate(order):
            op, args = node.op, node.args
            operands = [reg[id(a)] for a in args] if op in ("add", "sub", "mul", "neg") else []
            # operands whose last use is this instruction can be overwritten by its result
            for a in (args if op in ("add", "sub", "mul", "neg") else ()):
                if last_use[id(a)] == i and reg[id(a)] not in free:
                    free.append(reg[id(a)])
            if free:
                r = free.pop()
            else:
                r = n_regs
                n_regs += 1
            if op == "col":
                key = (args[1], args[4])
                if key not in src_id:
                    src_id[key] = len(self.sources)
                    self.sources.append(key)
                prog.append((OP_LOAD, r, src_id[key], args[2]))
            elif op == "const":
                prog.append((OP_CONST, r, args[0], 0))
            elif op == "pub":
                prog.append((OP_CONST, r, int(publics[args[0]]), 0))
            elif op == "neg":
                prog.append((OP_NEG, r, operands[0], 0))
            else:
                code = {"add": OP_ADD, "sub": OP_SUB, "mul": OP_MUL}[op]
                prog.append((code, r, operands[0], operands[1]))
            reg[id(node)] = r
            if last_use[id(node)] == i:  # never used (cannot happen for roots): free at once
                free.append(r)
        del pos
        self.roots = [reg[id(r)] for r in roots]
        self.n_regs = max(n_regs, 1)
        self.code = np.asarray(prog, dtype=np.int32).reshape(-1, 4)


def run(program: Program, matrices: Mapping[str, tuple[np.ndarray, int]], n_rows: int, blowup: int,
        outputs: Sequence[tuple[int, int, np.ndarray]], raw: Sequence[int], r0: int = 0,
        r1: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate rows ``r0 .. r1`` of an LDE of ``n_rows`` rows (``.next`` wraps modulo ``n_rows``).

    ``matrices[kind] = (array, row_stride)`` where ``array`` starts at row 0 (``row_stride`` elements between
    rows, so strided views of a larger LDE work); ``outputs`` = (root index, kind index, ext coefficient[4]);
    ``raw`` = root indices whose values are returned. Returns (acc uint32[4, r1-r0, 4], raw uint32[len, r1-r0]).
    """
    r1 = n_rows if r1 is None else r1
    if not 0 <= r0 < r1 <= n_rows:
        raise ValueError("bad row range")
    ffi, lib = _evalvm.ffi, _evalvm.lib
    keep = []
    srcs = ffi.new("zk_src[]", max(len(program.sources), 1))
    for i, (kind, nxt) in enumerate(program.sources):
        arr, stride = matrices[kind]
        keep.append(arr)
        srcs[i].base = ffi.cast("const uint32_t *", arr.ctypes.data)
        srcs[i].row_stride = stride
        # the VM numbers rows from 0 and wraps at n_rows: start the window at r0 (+ blowup for .next)
        srcs[i].shift = (r0 + (blowup if nxt else 0)) % n_rows
    out_regs = np.asarray([program.roots[i] for i, _, _ in outputs], dtype=np.int32)
    out_kinds = np.asarray([k for _, k, _ in outputs], dtype=np.int32)
    out_coeffs = np.ascontiguousarray(np.asarray([c for _, _, c in outputs], dtype=np.uint32).reshape(-1, 4))
    raw_regs = np.asarray([program.roots[i] for i in raw], dtype=np.int32)
    acc = np.empty((4, r1 - r0, 4), dtype=np.uint32)
    raw_out = np.empty((len(raw), r1 - r0), dtype=np.uint32)

    def ptr(a, t):
        return ffi.cast(t, a.ctypes.data) if a.size else ffi.NULL

    status = lib.zk_eval_program(srcs, len(program.sources), ptr(program.code, "const int32_t *"),
                                 program.code.shape[0], program.n_regs, ptr(out_regs, "const int32_t *"),
                                 ptr(out_kinds, "const int32_t *"), ptr(out_coeffs, "const uint32_t *"),
                                 len(outputs), ptr(raw_regs, "const int32_t *"), len(raw), n_rows, r1 - r0,
                                 ffi.cast("uint32_t *", acc.ctypes.data), ptr(raw_out, "uint32_t *"))
    if status != 0:
        raise MemoryError(f"constraint VM failed with status {status}")
    return acc, raw_out


def base_dot_ext(m: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """``m[N, w] @ coeffs[w, 4]`` over the field (``m`` may be a row-strided view with unit column stride)."""
    ffi, lib = _evalvm.ffi, _evalvm.lib
    n, w = m.shape
    if m.strides[1] != 4 and w > 1:
        m = np.ascontiguousarray(m)
    stride = m.strides[0] // 4 if n > 1 else w
    coeffs = np.ascontiguousarray(coeffs, dtype=np.uint32)
    out = np.empty((n, 4), dtype=np.uint32)
    if n == 0:
        return out
    if w == 0:
        out[:] = 0
        return out
    status = lib.zk_base_dot_ext(ffi.cast("const uint32_t *", m.ctypes.data), n, w, stride,
                                 ffi.cast("const uint32_t *", coeffs.ctypes.data), ffi.cast("uint32_t *", out.ctypes.data))
    if status != 0:
        raise ValueError(f"base_dot_ext failed with status {status}")
    return out


def weighted_col_sums(m: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``out[col] = sum_row m[row, col] · weights[row]`` (extension weights) -> ``uint32[w, 4]``."""
    ffi, lib = _evalvm.ffi, _evalvm.lib
    m = np.ascontiguousarray(m, dtype=np.uint32)
    weights = np.ascontiguousarray(weights, dtype=np.uint32)
    n, w = m.shape
    out = np.zeros((w, 4), dtype=np.uint32)
    if n and w:
        lib.zk_weighted_col_sums(ffi.cast("const uint32_t *", m.ctypes.data), n, w,
                                 ffi.cast("const uint32_t *", weights.ctypes.data), ffi.cast("uint32_t *", out.ctypes.data))
    return out


def grind(prefix: bytes, bits: int) -> int | None:
    """Smallest nonce with SHA256(prefix || le64(nonce)) having ``bits`` leading zero bits (None if not found)."""
    ffi, lib = _evalvm.ffi, _evalvm.lib
    out = ffi.new("uint64_t *")
    if lib.zk_grind(prefix, len(prefix), bits, 1 << min(bits + 12, 63), out) != 0:
        return None
    return int(out[0])


_SCALAR_OPS = {"mul": 0, "add": 1, "sub": 2, "rsub": 3}


def ext_scalar_op(a: np.ndarray, s: np.ndarray, op: str) -> np.ndarray:
    """Extension array ``a[..., 4]`` op one extension scalar ``s[4]``: "mul", "add", "sub" (a - s), "rsub"."""
    ffi, lib = _evalvm.ffi, _evalvm.lib
    a = np.ascontiguousarray(a, dtype=np.uint32)
    sv = np.ascontiguousarray(np.asarray(s, dtype=np.uint32).reshape(4))
    out = np.empty_like(a)
    n = a.size // 4
    if n and lib.zk_ext_scalar_op(ffi.cast("uint32_t *", out.ctypes.data), ffi.cast("const uint32_t *", a.ctypes.data),
                                  ffi.cast("const uint32_t *", sv.ctypes.data), n, _SCALAR_OPS[op]) != 0:
        raise ValueError("ext_scalar_op: bad arguments")
    return out


def logup_layout(groups, bus_ids: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """(its int32[n, 4], group_sizes int32[g]) for ``logup_quotient``: per interaction its raw offset (values
    then multiplicity, in the order ``prover._quotient_roots`` lists them), tuple length, sign and bus id."""
    its, sizes, pos = [], [], 0
    for g in groups:
        sizes.append(len(g))
        for it in g:
            its.append((pos, len(it.values), 1 if it.sign > 0 else -1, bus_ids[it.bus] % P))
            pos += len(it.values) + 1
    return np.asarray(its, dtype=np.int32).reshape(-1, 4), np.asarray(sizes, dtype=np.int32)


def logup_quotient(acc: np.ndarray, raw: np.ndarray, layout: tuple[np.ndarray, np.ndarray], aux_lde: np.ndarray,
                   shift_cur: int, shift_next: int, alpha: np.ndarray, betas: np.ndarray, final: np.ndarray,
                   lam: np.ndarray) -> None:
    """In place: add the LogUp constraints (groups, then running sum first / step / last) times ``lam`` into
    the VM accumulator ``acc`` (uint32[4, b, 4] from ``run``). ``raw`` is ``run``'s raw output; the aux LDE
    rows read are ``(k + shift) mod len(aux_lde)``."""
    ffi, lib = _evalvm.ffi, _evalvm.lib
    its, sizes = layout
    if not (acc.flags.c_contiguous and acc.dtype == np.uint32 and raw.flags.c_contiguous and raw.dtype == np.uint32):
        raise ValueError("logup_quotient: acc and raw must be C-contiguous uint32")
    if aux_lde.strides[1] != 4 or aux_lde.dtype != np.uint32:
        raise ValueError("logup_quotient: aux LDE needs unit column stride")
    b = acc.shape[1]
    small = [np.ascontiguousarray(np.asarray(x, dtype=np.uint32).reshape(-1, 4)) for x in (alpha, betas, final, lam)]

    def p(a, t="const uint32_t *"):
        return ffi.cast(t, a.ctypes.data)

    status = lib.zk_logup_quotient(p(raw), raw.shape[0], b, p(its, "const int32_t *"), its.shape[0],
                                   p(sizes, "const int32_t *"), sizes.shape[0], p(aux_lde), aux_lde.strides[0] // 4,
                                   aux_lde.shape[0], shift_cur, shift_next, p(small[0]), p(small[1]),
                                   small[1].shape[0], p(small[2]), p(small[3]), p(acc, "uint32_t *"))
    if status != 0:
        raise ValueError(f"logup_quotient failed with status {status}")


def logup_aux(raw: np.ndarray, layout: tuple[np.ndarray, np.ndarray], alpha: np.ndarray,
              betas: np.ndarray) -> np.ndarray:
    """The LogUp h columns ``uint32[n, 4·groups]`` on the trace rows from the VM's raw interaction values
    ``raw[n_raw, n]``. Raises ``ZeroDivisionError(interaction index)`` if a denominator vanishes."""
    ffi, lib = _evalvm.ffi, _evalvm.lib
    its, sizes = layout
    raw = np.ascontiguousarray(raw, dtype=np.uint32)
    n = raw.shape[1]
    al = np.ascontiguousarray(np.asarray(alpha, dtype=np.uint32).reshape(4))
    be = np.ascontiguousarray(np.asarray(betas, dtype=np.uint32).reshape(-1, 4))
    out = np.empty((n, 4 * sizes.shape[0]), dtype=np.uint32)
    bad = ffi.new("int *", -1)

    def p(a, t="const uint32_t *"):
        return ffi.cast(t, a.ctypes.data)

    status = lib.zk_logup_aux(p(raw), raw.shape[0], n, p(its, "const int32_t *"), its.shape[0],
                              p(sizes, "const int32_t *"), sizes.shape[0], p(al), p(be), be.shape[0],
                              p(out, "uint32_t *"), bad)
    if status == -3:
        raise ZeroDivisionError(int(bad[0]))
    if status == -2:
        raise MemoryError("logup_aux: out of memory")
    if status != 0:
        raise ValueError(f"logup_aux failed with status {status}")
    return out


def quotient_finish(acc: np.ndarray, r0: int, x0: int, omega: int, g_last: int, zh_period: np.ndarray) -> np.ndarray:
    """The quotient rows of one block from the VM accumulators ``acc[4, b, 4]`` (see ``prover._quotient``):
    row k is the LDE point ``x0·omega^k`` and ``Z_H = zh_period[(r0 + k) mod len(zh_period)]``."""
    ffi, lib = _evalvm.ffi, _evalvm.lib
    if not (acc.flags.c_contiguous and acc.dtype == np.uint32 and acc.shape[0] == 4):
        raise ValueError("quotient_finish: acc must be C-contiguous uint32[4, b, 4]")
    zh = np.ascontiguousarray(zh_period, dtype=np.uint32)
    b = acc.shape[1]
    out = np.empty((b, 4), dtype=np.uint32)
    status = lib.zk_quotient_finish(ffi.cast("const uint32_t *", acc.ctypes.data), b, r0, x0, omega, g_last,
                                    ffi.cast("const uint32_t *", zh.ctypes.data), zh.shape[0],
                                    ffi.cast("uint32_t *", out.ctypes.data))
    if status == -3:
        raise ZeroDivisionError("quotient_finish: vanishing denominator")
    if status != 0:
        raise ValueError(f"quotient_finish failed with status {status}")
    return out
