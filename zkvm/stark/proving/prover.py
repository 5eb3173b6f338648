"""The STARK prover: commits traces, LogUp aux traces and quotients of every table, opens them at an
out-of-domain point, and proves the openings with one batched DEEP-FRI across tables of different heights.

Phases (``_phase_*`` below, in the order of ``verifying/schedule.py``; the verifier's ``_phase_*`` mirror them):
1. fixed columns (LDE at the canonical blowup, committed once per table: ``commit_fixed``), 2. main traces
(LDE per table, ONE mixed-height Merkle tree over all of them), 3. LogUp challenges, aux traces (one tree),
4. composition challenge, quotient per table (2 chunks; one tree, with the zk FRI mask), 5. out-of-domain point
``zeta`` and openings at ``zeta`` / ``zeta·g``, 6. DEEP quotients and FRI, 7. proof of work and query openings
(one authentication path per phase tree and query: ``merkle_verify``, mixed-height trees).

Zero knowledge (``ProofOptions.zk``, on by default) is constructed and argued in ``zk.py``: salted leaves,
randomised main/aux columns (possibly on an extended coset: each table's LDE blowup is ``lb + plan.log_ext``),
blinded quotient chunks, and a random FRI mask committed before ``gamma``.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from zkvm.errors import InputError, ZkvmError
from zkvm.field import babybear as bb
from zkvm.field.babybear import GENERATOR, Ext, P
from zkvm.stark.backend import accel, kernels, native_eval, ntt
from zkvm.stark.dsl.air import Air, CompiledAir, CompiledTable
from zkvm.stark.dsl.algebra import BaseArrayOps, ExtArrayOps, ext_powers, inv_x_minus_z, mat_dot
from zkvm.stark.dsl.traces import ABSENT, _as_trace, _log_height, read_traces, silent
from zkvm.stark.errors import TraceShapeError
from zkvm.stark.proving import masks, prng
from zkvm.stark.proving.merkle import MerkleTree, MixedMerkleTree
from zkvm.stark.verifying import blinding, fri, logup, schedule, zk
from zkvm.stark.verifying.options import FIXED_LOG_BLOWUP, ProofOptions
from zkvm.stark.verifying.proof import BatchOpening, Opening, Proof, QueryProof
from zkvm.stark.verifying.protocol import (FRI_MASK, QUOTIENT_CHUNKS, constraint_values, fixed_digest, fixed_leaf,
                                          fixed_leaf_rows, normalize_public_terms, phase_layouts, publics_vector)
from zkvm.stark.verifying.transcript import Transcript

_P64 = np.uint64(P)
BLOCK = 1 << 15  # rows per block in the quotient evaluation (bounds temporaries, keeps them in cache)
DEEP_BLOCK = 1 << 18  # rows per block of the DEEP quotient


# ---------------------------------------------------------------- fixed columns

@dataclass
class FixedCommitment:
    """LDEs (at FIXED_LOG_BLOWUP) and Merkle trees of the fixed columns; ``digest`` goes into image ids."""

    ldes: dict[str, np.ndarray]
    trees: dict[str, MerkleTree]
    digest: bytes


def commit_fixed_data(air: Air, fixed: Mapping[str, np.ndarray], cache_dir: str | None = None) -> FixedCommitment:
    """``cache_dir``: keep each table's fixed LDE and Merkle levels there, keyed by the table's content (the
    prover's proving key: the 2^16-row lookup tables are the same in every proof, an image's program/image
    tables in every proof of that image). A stale or damaged file can only make a proof that does not verify."""
    ca = air.compile()
    ldes, trees, lhs, roots = {}, {}, [], []
    for ct in ca.tables:
        if not ct.n_fixed:
            continue
        if ct.name not in fixed:
            raise TraceShapeError(f"table {ct.name!r}: fixed trace missing")
        f = _as_trace(fixed[ct.name], "fixed", ct.name, ct.n_fixed)
        lh = _log_height(f.shape[0], ct.name)
        cached = _fixed_cache_load(cache_dir, ct.name, f) if cache_dir else None
        if cached is None:
            ldes[ct.name] = ntt.lde(f, FIXED_LOG_BLOWUP, GENERATOR)
            trees[ct.name] = MerkleTree(fixed_leaf_rows(ldes[ct.name]))  # leaves in protocol.fixed_leaf order
            if cache_dir:
                _fixed_cache_store(cache_dir, ct.name, f, ldes[ct.name], trees[ct.name])
        else:
            ldes[ct.name], trees[ct.name] = cached
        lhs.append(lh)
        roots.append(trees[ct.name].root)
    return FixedCommitment(ldes, trees, fixed_digest(ca, lhs, roots))


def _fixed_cache_key(name: str, f: np.ndarray) -> str:
    import hashlib

    from zkvm.stark.proving import merkle

    h = hashlib.sha256(b"zkvm-fixed-lde-v2")
    h.update(repr((name, f.shape, FIXED_LOG_BLOWUP, int(GENERATOR), merkle._UNSTORED_LEVELS)).encode())
    h.update(np.ascontiguousarray(f, dtype=np.uint32).tobytes())
    return h.hexdigest()


def _fixed_cache_load(cache_dir: str, name: str, f: np.ndarray):
    import os

    path = os.path.join(cache_dir, _fixed_cache_key(name, f) + ".npz")
    try:
        with np.load(path) as z:
            lde = z["lde"]
            levels = [z[f"level{i}"] for i in range(int(z["n_levels"]))]
    except (OSError, KeyError, ValueError):
        return None
    if lde.shape != (f.shape[0] << FIXED_LOG_BLOWUP, f.shape[1]) or lde.dtype != np.uint32:
        return None
    return lde, MerkleTree.from_levels(fixed_leaf_rows(lde), levels)


def _fixed_cache_store(cache_dir: str, name: str, f: np.ndarray, lde: np.ndarray, tree: MerkleTree) -> None:
    import os
    import tempfile

    os.makedirs(cache_dir, exist_ok=True)
    levels = tree.stored_levels()
    with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".tmp", delete=False) as tmp:
        np.savez(tmp, lde=lde, n_levels=np.int64(len(levels)), **{f"level{i}": lv for i, lv in enumerate(levels)})
    os.replace(tmp.name, os.path.join(cache_dir, _fixed_cache_key(name, f) + ".npz"))  # atomic for readers


def commit_fixed(air: Air, fixed: Mapping[str, np.ndarray]) -> bytes:
    """The deterministic (never salted) commitment to the fixed columns, independent of proof options."""
    return commit_fixed_data(air, fixed).digest


# ---------------------------------------------------------------- helpers

def _domain(log_n: int, shift: int = 1) -> np.ndarray:
    return bb.mul(bb.powers(bb.two_adic_root(log_n), 1 << log_n), shift).astype(np.uint64)


def lagrange_weights(n: int, z: Ext) -> np.ndarray:
    """``L_i(z)`` for the Lagrange basis of H_n, as ``uint32[n, 4]``."""
    h = _domain(n.bit_length() - 1)
    zn = z ** n
    c = -(zn - 1) * bb.inv_int(n)
    weights = accel.ext_mul_base(inv_x_minus_z(h, z, accel), h)  # w^i/(w^i - z)
    return accel.ext_mul(weights, c.to_array())  # L_i(z) = (z^n - 1)/n · w^i/(z - w^i)


def eval_at(trace: np.ndarray, z: Ext, cache: dict | None = None) -> list[Ext]:
    """Values at ``z`` of the polynomials interpolating each column of ``trace[n, w]`` on H_n (barycentric).
    ``cache`` (optional) keeps the Lagrange weights per (n, z) for the next call at the same point."""
    n, w = trace.shape
    if w == 0:
        return []
    key = (n, tuple(z.c))
    if cache is not None and key in cache:
        weights = cache[key]
    else:
        weights = lagrange_weights(n, z)
        if cache is not None:
            cache[key] = weights
    if native_eval.available():
        out = native_eval.weighted_col_sums(trace, weights)
    else:
        out = mat_dot(trace.T, weights)
    return [Ext(row) for row in out]


def _stack_rows(src: np.ndarray, r0: int, r1: int, shift: int) -> np.ndarray:
    """Rows r0+shift .. r1+shift of src, wrapping around."""
    n = src.shape[0]
    a, b = (r0 + shift) % n, (r1 + shift) % n
    if a < b or r1 - r0 == 0:
        return src[a:a + (r1 - r0)]
    return np.concatenate([src[a:], src[:b]], axis=0)


class _Timer:
    def __init__(self, progress: bool) -> None:
        self.times: dict[str, float] = {}
        self._bar = None
        if progress:
            from tqdm import tqdm
            self._bar = tqdm(total=7, desc="prove", unit="phase", leave=False)

    @contextmanager
    def phase(self, name: str, table: str | None = None):
        """Time a phase; per-table work (LDE, LogUp, quotient of one table) also adds to "table.<name>"."""
        if self._bar is not None:
            self._bar.set_postfix_str(name)
        t0 = time.perf_counter()
        yield
        dt = time.perf_counter() - t0
        self.times[name] = self.times.get(name, 0.0) + dt
        if table is not None:
            self.times[f"table.{table}"] = self.times.get(f"table.{table}", 0.0) + dt

    def step(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@dataclass
class _TableState:
    ct: CompiledTable
    log_n: int
    main: np.ndarray | None = None
    fixed: np.ndarray | None = None
    main_lde: np.ndarray | None = None
    fixed_lde: np.ndarray | None = None  # subsampled to the proof's blowup (view)
    aux: np.ndarray | None = None
    aux_lde: np.ndarray | None = None
    final: Ext | None = None
    quot_coeffs: np.ndarray | None = None
    quot_lde: np.ndarray | None = None
    trees: dict = field(default_factory=dict)
    plan: zk.TablePlan | None = None
    lb: int = 0                                  # this table's LDE log blowup (options' + plan.log_ext)
    masks: dict = field(default_factory=dict)    # zk randomisers r[k, w] of "main" / "aux"


# ---------------------------------------------------------------- quotient

def _quotient(st: _TableState, air: Air, lb: int, pubs: dict[str, int], alpha: Ext, betas, bus_ids,
              lam: Ext, fixed_full: np.ndarray | None, fixed_stride: int) -> np.ndarray:
    """Q = (A + (x - g^-1)·T)/Z_H + F/(x - 1) + L/(x - g^-1) over the LDE coset, as ``uint32[N, 4]``.

    A, T, F, L are the lambda-combinations of the always / transition / first / last constraints. The base
    constraints run on the C constraint VM when it is built (numpy otherwise); LogUp constraints (extension)
    use the array kernels."""
    ct = st.ct
    n = 1 << st.log_n
    blow = 1 << lb
    big_n = n << lb
    names = ct.constraint_names
    lam_pows = ext_powers(lam, len(names))
    kinds = [k for k, _ in names]
    n_user = len(ct.table.constraints)
    ext_ops = ExtArrayOps(accel)
    n_groups = len(ct.groups)
    native = native_eval.available()
    if native:
        roots, raw_idx = _quotient_roots(ct)
        program = native_eval.Program(roots, pubs)
        matrices = {}
        if st.main_lde is not None:
            matrices["main"] = (st.main_lde, st.main_lde.shape[1])
        if fixed_full is not None:
            matrices["fixed"] = (fixed_full, fixed_full.shape[1] * fixed_stride)
        outputs = [(i, native_eval.KIND_INDEX[kinds[i]], lam_pows[i]) for i in range(n_user)]
        logup_layout = native_eval.logup_layout(ct.groups, bus_ids)
        betas_arr = np.asarray([b.to_array() for b in betas], dtype=np.uint32).reshape(-1, 4)
    out = np.empty((big_n, 4), dtype=np.uint32)
    omega_big = bb.two_adic_root(st.log_n + lb)
    g_last = bb.inv_int(bb.two_adic_root(st.log_n))
    # x^n on the coset takes only `blow` distinct values: Z_H(x) = s^n·w_B^(i mod B) - 1
    zh_period = bb.sub(bb.mul(bb.powers(bb.two_adic_root(lb), blow), bb.pow_int(GENERATOR, n)), 1).astype(np.uint64)
    block = BLOCK if not native else 1 << 16  # bounds the VM's raw interaction values (~150 columns)
    for r0 in range(0, big_n, block):
        r1 = min(big_n, r0 + block)
        b = r1 - r0
        blocks: dict = {}

        def rows(kind: str, nxt: bool):
            key = (kind, nxt)
            if key not in blocks:
                src = {"main": st.main_lde, "fixed": st.fixed_lde, "aux": st.aux_lde}[kind]
                blocks[key] = _stack_rows(src, r0, r1, blow if nxt else 0)
            return blocks[key]

        def aux(g: int):
            return np.ascontiguousarray(rows("aux", False)[:, 4 * g:4 * g + 4])

        if native:
            acc_all, raw_all = native_eval.run(program, matrices, big_n, blow, outputs, raw_idx, r0, r1)
            if ct.groups:  # LogUp constraints fused per row in C, added into the VM's accumulators
                native_eval.logup_quotient(acc_all, raw_all, logup_layout, st.aux_lde, r0 % big_n,
                                           (r0 + blow) % big_n, alpha.to_array(), betas_arr,
                                           st.final.to_array(), lam_pows[n_user:])
            x0 = GENERATOR * bb.pow_int(omega_big, r0) % P
            out[r0:r1] = native_eval.quotient_finish(acc_all, r0, x0, omega_big, g_last, zh_period)
            continue
        else:
            aux_next = np.ascontiguousarray(rows("aux", True)[:, 4 * n_groups:4 * n_groups + 4]) if ct.groups else None
            cols: dict = {}

            def column(kind: str, idx: int, nxt: bool):
                key = (kind, idx, nxt)
                if key not in cols:
                    cols[key] = rows(kind, nxt)[:, idx].astype(np.uint64)
                return cols[key]

            vals = constraint_values(ct, air, BaseArrayOps(), ext_ops, column, pubs.__getitem__, aux, aux_next,
                                     alpha, betas, bus_ids, st.final)
            acc = {k: np.zeros((b, 4), dtype=np.uint32) for k in ("always", "transition", "first", "last")}
            for kind in acc:
                base_idx = [i for i, v in enumerate(vals) if kinds[i] == kind and not _is_ext(v)]
                if base_idx:
                    mat = np.empty((b, len(base_idx)), dtype=np.uint64)
                    for j, i in enumerate(base_idx):
                        mat[:, j] = vals[i]
                    acc[kind] = bb.ext_add(acc[kind], mat_dot(mat, lam_pows[base_idx]))
                for i, v in enumerate(vals):
                    if kinds[i] == kind and _is_ext(v):
                        acc[kind] = bb.ext_add(acc[kind], bb.ext_mul(np.broadcast_to(v, (b, 4)), lam_pows[i]))
        xs = bb.mul(bb.powers(omega_big, b), GENERATOR * bb.pow_int(omega_big, r0) % P)
        u = bb.sub(xs, 1)                 # x - 1
        v = bb.sub(xs, g_last)            # x - g^(n-1)
        zh = zh_period[np.arange(r0, r1) % blow].astype(np.uint32)
        uv = accel.mul(u, v)
        inner = accel.ext_add(acc["always"], accel.ext_mul_base(acc["transition"], v))
        boundary = accel.ext_add(accel.ext_mul_base(acc["first"], v), accel.ext_mul_base(acc["last"], u))
        num = accel.ext_add(accel.ext_mul_base(inner, uv), accel.ext_mul_base(boundary, zh))
        den_inv = accel.batch_inverse(accel.mul(uv, zh))
        out[r0:r1] = accel.ext_mul_base(num, den_inv)
    return out


def _quotient_roots(ct: CompiledTable, with_constraints: bool = True) -> tuple[list, list[int]]:
    """The expressions the VM evaluates: user constraints (unless ``with_constraints`` is False), then every
    interaction's tuple values and multiplicity (returned raw for the LogUp constraints)."""
    roots = [c.expr for c in ct.table.constraints] if with_constraints else []
    raw = []
    for g in ct.groups:
        for it in g:
            for e in list(it.values) + [it.mult]:
                raw.append(len(roots))
                roots.append(e)
    return roots, raw


def _is_ext(v) -> bool:
    return isinstance(v, np.ndarray) and v.ndim == 2


# ---------------------------------------------------------------- prove

def prove(air: Air, fixed: Mapping[str, np.ndarray], main: Mapping[str, np.ndarray], publics: Mapping[str, int],
          public_terms=(), options: ProofOptions = ProofOptions(), *, progress: bool = False,
          fixed_commitment: FixedCommitment | None = None, timings: dict | None = None,
          zk_randomness: prng.Randomness | None = None, logup_challenges: tuple | None = None,
          commit_only: bool = False):
    """Prove that the traces satisfy ``air`` with these publics. Does not check the traces first (use
    ``check_trace``); an unsatisfying trace yields a proof the verifier rejects.

    Proofs that share their LogUp challenges (the segments of a run, ``zkvm.segmented``): ``commit_only``
    stops after the main commitment and returns a `PendingProof` (its main root and log heights; ``finish((alpha,
    beta))`` completes the proof from there, with those challenges absorbed into the transcript instead of
    drawn). ``logup_challenges=(alpha, beta)`` proves in one go with given challenges - with the same
    ``zk_randomness`` key as the ``commit_only`` call, the main commitment is the same.

    ``zk_randomness`` is for tests only (a seeded ``prng.Randomness``); proofs draw from ``os.urandom``."""
    try:
        options.validate()
    except ValueError as e:
        raise InputError(f"bad proof options: {e}") from None
    ca = air.compile()
    pubs_vec = publics_vector(air, publics)
    pubs = dict(zip(air.publics, pubs_vec))
    terms = normalize_public_terms(ca, public_terms)
    fixed_arr, main_arr, log_heights = read_traces(ca, fixed, main)
    for t in _silent_tables(ca, main_arr, fixed_arr, pubs, log_heights):
        log_heights[t] = ABSENT  # left out of the proof (shape.py: absent tables)
        main_arr.pop(ca.tables[t].name, None)
    if all(lh == ABSENT for lh in log_heights):
        raise InputError("every table is absent (optional and silent): nothing to prove")
    del main  # a caller that keeps no reference of its own lets _prove free the traces after the openings at zeta
    lb = options.log_blowup
    rng = (zk_randomness or prng.Randomness()) if options.zk else None
    # zk: the LogUp final sums are blinded (blinding.py): more main columns and a hub table
    ca, log_heights = blinding.blind_traces(air, options.zk, main_arr, log_heights, rng)
    try:
        plans = zk.table_plans(ca, log_heights, options, FIXED_LOG_BLOWUP)
    except ValueError as e:
        raise InputError(f"zero knowledge: {e}") from None
    timer = _Timer(progress)
    steps = _prove(ca, air, fixed_arr, main_arr, log_heights, pubs_vec, pubs, terms, options, lb, timer,
                   fixed_commitment, plans, rng, logup_challenges, commit_only)
    if commit_only:
        try:
            root, heights, held, state = next(steps)
        except BaseException:
            timer.close()
            raise
        return PendingProof(root, heights, held, steps, timer, timings, state)
    try:
        return _run_to_end(steps, None)
    finally:
        timer.close()
        if timings is not None:
            timings.update(timer.times)


def _run_to_end(steps, value):
    try:
        steps.send(value)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the prover paused twice")


class SpillLost(ZkvmError):
    """A paused proof's spilled state is gone or damaged (file missing or of the wrong size): recompute it."""


class PendingProof:
    """A proof stopped after its main commitment (``prove(commit_only=True)``): ``root`` and ``log_heights`` are
    what the shared LogUp challenges are drawn from; ``finish(challenges)`` completes the proof (once). Holds
    the prover's state (traces, their LDEs and Merkle tree, about ``nbytes`` in memory) until then; ``spill``
    moves the traces and LDEs to files (``nbytes`` drops to the tree's digests), read back memory-mapped by
    ``finish``."""

    def __init__(self, root: bytes, log_heights: list, nbytes: int, steps, timer, timings, state=None) -> None:
        self.root, self.log_heights, self.nbytes = root, list(log_heights), int(nbytes)
        self._steps, self._timer, self._timings = steps, timer, timings
        self._state = state          # (the run, its MainCommit): what spill() moves out and back
        self._spilled: list = []     # (path, shape, dtype, holder, attribute or matrix index)

    @property
    def spilled(self) -> bool:
        return bool(self._spilled)

    @property
    def spilled_bytes(self) -> int:
        files = {path: int(np.prod(shape)) * np.dtype(dtype).itemsize for path, shape, dtype, _, _ in self._spilled}
        return sum(files.values())

    def spill(self, folder: str) -> None:
        """Write the traces and their LDEs to ``folder`` (one ``.npy`` each) and drop them from memory. They are
        prover-private scratch: ``finish`` checks each file's size and raises ``SpillLost`` if one is missing
        or truncated (a wrong file of the right size would give a proof the verifier rejects, never a false one:
        the commitment was made before the spill)."""
        if self._steps is None or self._state is None or self._spilled:
            return
        run, main = self._state
        places = [(st, attr) for st in run.states for attr in ("main", "main_lde") if getattr(st, attr) is not None]
        places += [(tree, k) for tree in main.trees for k in range(len(tree.matrices))]
        arrays = [getattr(h, w) if isinstance(w, str) else h.matrices[w] for h, w in places]
        files: dict[int, tuple] = {}  # id -> (path, shape, dtype); `arrays` keeps every id its array's
        try:  # write everything first: a full disk leaves the state as it was
            for a in arrays:
                if id(a) not in files:
                    path = os.path.join(folder, f"{id(self):x}-{len(files)}.npy")
                    files[id(a)] = (path, a.shape, a.dtype.str)
                    np.save(path, a, allow_pickle=False)
        except BaseException:
            for path, _, _ in files.values():
                if os.path.exists(path):
                    os.unlink(path)
            raise
        for (holder, where), a in zip(places, arrays):
            self._spilled.append((*files[id(a)], holder, where))
            if isinstance(where, str):
                setattr(holder, where, None)
            else:
                holder.matrices[where] = None
        del arrays
        self.nbytes = sum(level.nbytes for tree in main.trees for level in tree._upper)  # what stays: the digests

    def _unspill(self) -> None:
        loaded: dict = {}
        for path, shape, dtype, holder, where in self._spilled:
            if path not in loaded:
                try:  # np.load checks the file holds the whole array its header declares
                    a = np.load(path, mmap_mode="r", allow_pickle=False)
                except (OSError, ValueError) as exc:
                    raise SpillLost(f"spilled state {os.path.basename(path)}: {exc}") from None
                if a.shape != tuple(shape) or a.dtype.str != dtype:
                    raise SpillLost(f"spilled state {os.path.basename(path)} has shape {a.shape}, not {shape}")
                loaded[path] = a
            if isinstance(where, str):
                setattr(holder, where, loaded[path])
            else:
                holder.matrices[where] = loaded[path]

    def discard(self) -> None:
        """Delete the spilled files (the proof will not be finished from this state)."""
        for path in {p for p, *_ in self._spilled}:
            try:
                os.unlink(path)
            except OSError:
                pass
        self._spilled = []

    def finish(self, logup_challenges: tuple) -> Proof:
        if self._steps is None:
            raise RuntimeError("this proof was already finished")
        if self._spilled:
            self._unspill()  # SpillLost before anything is consumed: the caller may recompute instead
        steps, self._steps, self._state = self._steps, None, None
        try:
            return _run_to_end(steps, tuple(logup_challenges))
        finally:
            self._timer.close()
            if self._timings is not None:
                self._timings.update(self._timer.times)
            self.discard()


def _silent_tables(ca: CompiledAir, main: Mapping, fixed: Mapping, pubs, log_heights) -> list[int]:
    """Indices of the optional tables present in ``log_heights`` that send and receive nothing."""
    return [t for t, ct in enumerate(ca.tables)
            if ct.optional and log_heights[t] != ABSENT and silent(ct, main.get(ct.name), fixed.get(ct.name), pubs)]


def proof_log_heights(air: Air, fixed: Mapping[str, np.ndarray], main: Mapping[str, np.ndarray],
                      publics: Mapping[str, int], zk_on: bool) -> list[int]:
    """The table heights ``prove`` will give a proof of these traces (absent tables 0, under zk the blinding hub
    last), from the traces' shapes and multiplicities alone - what a caller needs to choose options for it
    (``shape.smallest_options``). Traces must have the shapes ``prove`` accepts."""
    ca = air.compile()
    pubs = dict(zip(air.publics, publics_vector(air, publics)))
    heights = []
    for ct in ca.tables:
        arr = main.get(ct.name) if ct.n_main else fixed.get(ct.name)
        if arr is None:
            raise TraceShapeError(f"table {ct.name!r}: trace missing")
        n = np.shape(arr)[0]
        heights.append(ABSENT if n == 0 else _log_height(n, ct.name))
    for t in _silent_tables(ca, main, fixed, pubs, heights):
        heights[t] = ABSENT
    full = blinding.compiled_air(air, zk_on)
    if blinding.is_augmented(full):
        heights.append(blinding.hub_log_height(len(blinding.blinded_tables(full, heights))))
    return heights


def _salts(rng, n: int):
    return None if rng is None else rng.salt_stream(n)  # regenerated on demand, not stored (prng.SaltStream)


def _prove(ca, air, fixed_arr, main_arr, log_heights, pubs_vec, pubs, terms, options, lb, timer,
           fixed_commitment, plans, rng, logup_challenges=None, commit_only=False):
    """A generator: with ``commit_only`` it yields (main root, log heights, bytes held) once and continues with the
    challenges sent to it; it returns the Proof (StopIteration.value).

    The phases follow ``schedule`` (the verifier's ``_phase_*`` functions mirror them): each commits, then draws
    the next challenge from the transcript, and hands the next phase a small frozen record."""
    run = _phase_fixed(ca, air, fixed_arr, main_arr, log_heights, pubs_vec, pubs, terms, options, lb, timer,
                       fixed_commitment, plans, rng)
    main = _phase_main(run)
    if commit_only:  # paused (PendingProof): the challenges come from every segment's commitment
        held = sum(x.nbytes for st in run.states for x in (st.main, st.main_lde) if x is not None)
        held += sum(64 << t.depth for t in main.trees)  # the tree's digests, about 2·32 B a leaf
        logup_challenges = yield (main.roots[0] if main.roots else b""), list(log_heights), held, (run, main)
    lc = schedule.main_committed(run.tr, ca, main.roots, logup_challenges)
    aux = _phase_aux(run, lc)
    quot = _phase_quotient(run, lc, aux)
    ood = _phase_ood(run, quot)
    fri_commit = _phase_fri(run, quot, ood)
    op = _phase_queries(run, main.trees + aux.trees + quot.trees, fri_commit)
    return Proof(options, list(log_heights), run.fixed_roots, main.roots, aux.roots, aux.final_sums, quot.roots,
                 ood.ood_z, ood.ood_zg, fri_commit.roots, fri_commit.final_poly, op.nonce, op.queries, op.qproofs,
                 op.auth_paths, fixed_log_heights=run.fixed_log_heights)


# ---------------------------------------------------------------- what each phase hands to the next

@dataclass(frozen=True)
class _Run:
    """What every phase reads: the statement, the transcript, the zk randomness and the tables' states (which the
    phases fill in, and the OOD phase empties of trace-domain data)."""
    ca: CompiledAir
    air: Air
    options: ProofOptions
    lb: int
    pubs: dict
    tr: Transcript
    rng: prng.Randomness | None
    timer: _Timer
    fc: FixedCommitment
    fixed_roots: list        # every table with fixed columns, absent ones too (they make the fixed digest)
    fixed_log_heights: list
    states: list
    state_of: dict
    layouts: dict


@dataclass(frozen=True)
class MainCommit:
    roots: list       # the main phase tree's root (none if no table has main columns)
    trees: list       # that tree, opened at every query


@dataclass(frozen=True)
class AuxCommit:
    roots: list
    final_sums: list  # per bus table
    trees: list
    lam: Ext          # drawn after the aux root and final sums


@dataclass(frozen=True)
class QuotientCommit:
    roots: list
    trees: list
    mask_lde: np.ndarray | None  # zk: the FRI mask, committed with the quotients
    zeta: Ext


@dataclass(frozen=True)
class OodPoint:
    zeta: Ext
    ood_z: list
    ood_zg: list
    gamma: Ext


@dataclass(frozen=True)
class FriCommit:
    sizes: list
    layers: list      # per layer: (leaf matrix, Merkle tree)
    roots: list
    final_poly: list


@dataclass(frozen=True)
class Openings:
    nonce: int
    queries: list
    qproofs: list
    auth_paths: list


# ---------------------------------------------------------------- the phases

def _phase_fixed(ca, air, fixed_arr, main_arr, log_heights, pubs_vec, pubs, terms, options, lb, timer,
                 fixed_commitment, plans, rng) -> _Run:
    """The fixed commitment (cached by the caller or made here), the tables' states and the statement."""
    with timer.phase("lde"):
        fc = fixed_commitment or commit_fixed_data(air, fixed_arr)
    states = [_TableState(ct, lh, main_arr.get(ct.name), fixed_arr.get(ct.name), plan=plan,
                          lb=lb + plan.log_ext) for ct, lh, plan in zip(ca.tables, log_heights, plans)
              if lh != ABSENT]  # below, table indices t (phase layouts) go through `state_of`
    state_of = {st.ct.index: st for st in states}
    main_arr.clear()  # our own dict (read_traces): the states hold the traces now, and drop them after zeta
    tr = schedule.statement(ca, options, log_heights, pubs_vec, terms, fc.digest)
    fixed_roots = [fc.trees[ct.name].root for ct in ca.tables if ct.n_fixed]
    fixed_log_heights = [int(fc.ldes[ct.name].shape[0] >> FIXED_LOG_BLOWUP).bit_length() - 1
                         for ct in ca.tables if ct.n_fixed]
    for st in states:
        if st.ct.n_fixed:
            st.fixed_lde = fc.ldes[st.ct.name][::1 << (FIXED_LOG_BLOWUP - st.lb)]
            st.trees["fixed"] = fc.trees[st.ct.name]
    layouts = phase_layouts(ca.tables, log_heights, [state_of[t].lb if t in state_of else 0
                                                     for t in range(len(ca.tables))],
                            [0 if p is None else p.quot_width for p in plans], rng is not None)
    timer.step()
    return _Run(ca, air, options, lb, pubs, tr, rng, timer, fc, fixed_roots, fixed_log_heights, states, state_of,
                layouts)


def _phase_main(run: _Run) -> MainCommit:
    """Main traces: one mixed tree over every table's main LDE."""
    timer, rng, lb = run.timer, run.rng, run.lb
    for st in run.states:
        if st.ct.n_main:
            with timer.phase("lde", st.ct.name):
                if rng is None:
                    st.main_lde = ntt.lde(st.main, lb, GENERATOR)
                else:
                    st.main_lde, st.masks["main"] = masks.randomised_lde(st.main, st.log_n, st.plan, lb, rng)
    trees = []
    if "main" in run.layouts:
        with timer.phase("merkle"):
            trees.append(_phase_tree([run.state_of[t].main_lde for t, _, _ in run.layouts["main"]], rng))
    timer.step()
    return MainCommit([t.root for t in trees], trees)


def _phase_aux(run: _Run, lc: schedule.LogupChallenges) -> AuxCommit:
    """LogUp: the aux trace (running sums of the bus interactions) of every bus table, one tree over them."""
    timer, rng, lb = run.timer, run.rng, run.lb
    alpha, betas = lc.alpha, lc.betas
    final_sums = []
    base_ops = BaseArrayOps()
    for st in run.states:
        if not st.ct.has_bus:
            continue
        with timer.phase("quotient", st.ct.name):
            if native_eval.available():
                st.aux, st.final = _native_aux_trace(st, run.pubs, alpha, betas, run.ca.bus_ids)
            else:
                evals = _trace_interactions(st, run.pubs, base_ops)
                st.aux, st.final = logup.aux_trace(st.ct, evals, 1 << st.log_n, alpha, betas, run.ca.bus_ids, accel)
        with timer.phase("lde", st.ct.name):
            if rng is None:
                st.aux_lde = ntt.lde(st.aux, lb, GENERATOR)
            else:
                st.aux_lde, st.masks["aux"] = masks.randomised_lde(st.aux, st.log_n, st.plan, lb, rng)
        final_sums.append(st.final.c)
    trees = []
    if "aux" in run.layouts:
        with timer.phase("merkle"):
            trees.append(_phase_tree([run.state_of[t].aux_lde for t, _, _ in run.layouts["aux"]], rng))
    timer.step()
    roots = [t.root for t in trees]
    return AuxCommit(roots, final_sums, trees, schedule.aux_committed(run.tr, roots, final_sums))


def _phase_quotient(run: _Run, lc: schedule.LogupChallenges, aux: AuxCommit) -> QuotientCommit:
    """The quotient of every table (split in chunks; under zk blinded), and the zk FRI mask: one tree."""
    timer, rng, lb = run.timer, run.rng, run.lb
    for st in run.states:
        n = 1 << st.log_n
        with timer.phase("quotient", st.ct.name):
            q = _quotient(st, run.air, st.lb, run.pubs, lc.alpha, lc.betas, run.ca.bus_ids, aux.lam,
                          run.fc.ldes.get(st.ct.name), _fixed_stride(st))
        with timer.phase("lde", st.ct.name):
            coeffs = ntt.interpolate(q, GENERATOR)
            if rng is None:
                st.quot_coeffs = coeffs[:QUOTIENT_CHUNKS * n].copy()  # higher ones vanish for a valid trace
                st.quot_lde = np.concatenate([ntt.evaluate(st.quot_coeffs[c * n:(c + 1) * n], lb, GENERATOR)
                                              for c in range(QUOTIENT_CHUNKS)], axis=1)
            else:
                st.quot_coeffs = masks.split_quotient(coeffs, st.plan, rng)
                st.quot_lde = masks.evaluate_long(np.concatenate(st.quot_coeffs, axis=1), st.log_n + st.plan.log_ext,
                                                  lb)
    # zk: the FRI mask R joins the quotient commitment (zk.py, 4.: committed before gamma)
    mask_lde = None
    if rng is not None:
        with timer.phase("fri"):
            lde_max = max(st.log_n + st.lb for st in run.states)
            mask_lde = masks.mask_polynomial(lde_max - lb, lb, run.options, rng)
    with timer.phase("merkle"):
        tree = _phase_tree([mask_lde if t == FRI_MASK else run.state_of[t].quot_lde
                            for t, _, _ in run.layouts["quotient"]], rng)
    timer.step()
    return QuotientCommit([tree.root], [tree], mask_lde, schedule.quotient_committed(run.tr, [tree.root]))


def _phase_ood(run: _Run, quot: QuotientCommit) -> OodPoint:
    """Every table's columns at zeta and zeta·g (then the trace-domain data is freed)."""
    zeta = quot.zeta
    ood_z, ood_zg = [[] for _ in run.ca.tables], [[] for _ in run.ca.tables]  # absent tables: none
    with run.timer.phase("fri"):
        weights_cache: dict = {}  # tables of equal height share their Lagrange weights at zeta and zeta·g
        for st in run.states:
            z_vals, zg_vals = _ood_values(st, zeta, weights_cache)
            ood_z[st.ct.index] = [v.c for v in z_vals]
            ood_zg[st.ct.index] = [v.c for v in zg_vals]
    for st in run.states:  # trace-domain data is not needed past the openings at zeta: free it before DEEP/FRI
        st.main = st.fixed = st.aux = st.quot_coeffs = None
        st.masks = {}
    run.timer.step()
    return OodPoint(zeta, ood_z, ood_zg, schedule.ood_sent(run.tr, ood_z, ood_zg))


def _phase_fri(run: _Run, quot: QuotientCommit, ood: OodPoint) -> FriCommit:
    """DEEP quotients of every table, rolled into one batched FRI across heights; the final polynomial."""
    states, options, lb, tr = run.states, run.options, run.lb, run.tr
    zeta, gamma = ood.zeta, ood.gamma
    with run.timer.phase("fri"):
        rollins: dict[int, np.ndarray] = {}
        counter = 0
        cosets = [(st.log_n, st.lb) for st in states]
        inv_cache: dict = {}  # only for cosets shared by several tables; dropped after the loop
        for st in states:
            zv, zgv = ood.ood_z[st.ct.index], ood.ood_zg[st.ct.index]
            shared = cosets.count((st.log_n, st.lb)) > 1
            d, counter = _deep(st, st.lb, zeta, gamma, counter, zv, zgv, inv_cache if shared else None)
            size = d.shape[0]
            rollins[size] = d if size not in rollins else accel.ext_add(rollins[size], d)
        del inv_cache
        sizes = fri.layer_sizes([(1 << st.log_n) << st.lb for st in states], lb, options.log_final_len,
                                options.log_fold_arity)
        n_max = sizes[0]
        f = rollins[n_max]
        if quot.mask_lde is not None:
            f = accel.ext_add(f, accel.ext_mul(quot.mask_lde, (gamma ** counter).to_array()))
        layers = []
        fri_roots = []
        for k in range(len(sizes) - 1):
            m, m2 = sizes[k], sizes[k + 1]
            mat = fri.leaf_matrix(f, m2)
            with run.timer.phase("merkle"):
                tree = MerkleTree(mat)  # unsalted even under zk: F is masked (zk.py, 4.)
            layers.append((mat, tree))
            fri_roots.append(tree.root)
            beta_k = schedule.fri_layer_committed(tr, tree.root)
            arity = m // m2
            f = fri.fold_array(f, beta_k, fri.layer_shift(n_max, m), arity.bit_length() - 1, accel)
            if m2 in rollins:
                f = accel.ext_add(f, accel.ext_mul(rollins[m2], (beta_k ** arity).to_array()))
        final_deg = zk.final_poly_len(options, sizes[-1] >> lb)
        coeffs = ntt.interpolate(f, fri.layer_shift(n_max, sizes[-1]))
        final_poly = [tuple(int(c) for c in row) for row in coeffs[:final_deg]]
        schedule.final_poly_sent(tr, final_poly)
    run.timer.step()
    return FriCommit(sizes, layers, fri_roots, final_poly)


def _phase_queries(run: _Run, phase_trees: list, fri_commit: FriCommit) -> Openings:
    """Proof of work, query positions, and the openings: per query a row of each fixed tree, of every matrix of
    each phase tree (all on one path) and of each FRI layer; per tree, the siblings of all queries' paths
    together, each sent once."""
    options, tr, sizes, layers = run.options, run.tr, fri_commit.sizes, fri_commit.layers
    with run.timer.phase("fri"):
        nonce = tr.grind(options.grinding_bits, native_eval.grind if native_eval.available() else None)
        queries = schedule.query_positions(tr, nonce, options, sizes[0])
    with run.timer.phase("merkle"):
        fixed_states = [st for st in run.states if st.ct.n_fixed]
        fixed_idx = [[(q % ((1 << st.log_n) << st.lb)) * _fixed_stride(st) for q in queries] for st in fixed_states]
        fri_idx = [[(q % sizes[k]) % sizes[k + 1] for q in queries] for k in range(len(layers))]
        qproofs = []
        for qi in range(len(queries)):
            fixed_ops = [Opening(run.fc.ldes[st.ct.name][idx[qi]].tolist())
                         for st, idx in zip(fixed_states, fixed_idx)]
            batches = []
            for tree in phase_trees:
                batches.append(BatchOpening(*tree.open_rows(queries[qi])))
            fri_ops = [Opening(mat[idx[qi]].tolist()) for (mat, _), idx in zip(layers, fri_idx)]
            qproofs.append(QueryProof(fixed_ops, batches, fri_ops))
        auth_paths = ([st.trees["fixed"].multi_open([fixed_leaf(i, st.log_n + FIXED_LOG_BLOWUP) for i in idx])
                       for st, idx in zip(fixed_states, fixed_idx)]
                      + [tree.multi_open(queries) for tree in phase_trees]
                      + [tree.multi_open(idx) for (_, tree), idx in zip(layers, fri_idx)])
    run.timer.step()
    return Openings(nonce, queries, qproofs, auth_paths)


def _phase_tree(matrices: list[np.ndarray], rng) -> MixedMerkleTree:
    """The mixed tree of one proof phase; under zk every leaf gets a fresh salt (that hides the injected rows
    too: ``merkle_verify``, mixed-height trees)."""
    if rng is None:
        return MixedMerkleTree(matrices)
    return MixedMerkleTree(matrices, _salts(rng, max(m.shape[0] for m in matrices)))


def _fixed_stride(st: _TableState) -> int:
    """Rows of the fixed commitment (blowup 2^FIXED_LOG_BLOWUP) per row of this table's LDE."""
    return 1 << (FIXED_LOG_BLOWUP - st.lb) if st.ct.n_fixed else 1



def _trace_interactions(st: _TableState, pubs, base_ops) -> dict:
    """Tuple values and multiplicities of every interaction on the trace rows (base arrays)."""
    from zkvm.stark.dsl.air import evaluate

    its = [it for g in st.ct.groups for it in g]
    roots = []
    for it in its:
        roots.extend(it.values)
        roots.append(it.mult)
    n = 1 << st.log_n

    def column(kind, idx, nxt):
        src = st.main if kind == "main" else st.fixed
        return src[:, idx].astype(np.uint64)

    vals = evaluate(roots, base_ops, column, pubs.__getitem__)
    vals = [np.full(n, v, dtype=np.uint64) if isinstance(v, int) else v for v in vals]
    out, pos = {}, 0
    for it in its:
        k = len(it.values)
        out[id(it)] = (vals[pos:pos + k], vals[pos + k])
        pos += k + 1
    return out


def _native_aux_trace(st: _TableState, pubs, alpha: Ext, betas, bus_ids) -> tuple[np.ndarray, Ext]:
    """``logup.aux_trace`` on the C constraint VM: interaction values on the trace rows, then the h columns
    (denominators batch-inverted in C) and the running sum."""
    ct = st.ct
    roots, raw_idx = _quotient_roots(ct, with_constraints=False)
    program = native_eval.Program(roots, pubs)
    n = 1 << st.log_n
    matrices = {}
    if st.main is not None:
        matrices["main"] = (np.ascontiguousarray(st.main), st.main.shape[1])
    if st.fixed is not None:
        matrices["fixed"] = (np.ascontiguousarray(st.fixed), st.fixed.shape[1])
    _, raw = native_eval.run(program, matrices, n, 1, [], raw_idx)
    betas_arr = np.asarray([b.to_array() for b in betas], dtype=np.uint32).reshape(-1, 4)
    layout = native_eval.logup_layout(ct.groups, bus_ids)
    try:
        hs = native_eval.logup_aux(raw, layout, alpha.to_array(), betas_arr)
    except ZeroDivisionError as e:
        bus = [it.bus for g in ct.groups for it in g][e.args[0]]
        raise ArithmeticError(f"table {ct.name!r}: LogUp denominator vanished (bus {bus!r})") from None
    return logup.with_running_sum(hs)


def _ood_values(st: _TableState, zeta: Ext, cache: dict | None = None) -> tuple[list[Ext], list[Ext]]:
    ct = st.ct
    n = 1 << st.log_n
    zg = zeta * bb.two_adic_root(st.log_n)
    z_vals: list[Ext] = []
    zg_vals: list[Ext] = []
    if ct.n_fixed:
        z_vals += eval_at(st.fixed, zeta, cache)
    def randomised(kind: str, vals: list[Ext], point: Ext, cols=None) -> list[Ext]:
        if kind not in st.masks:
            return vals
        r = st.masks[kind] if cols is None else st.masks[kind][:, cols]
        return [v + c for v, c in zip(vals, masks.randomiser_at(r, point, n))]

    if ct.n_main:
        z_vals += randomised("main", eval_at(st.main, zeta, cache), zeta)
    if ct.has_bus:
        z_vals += randomised("aux", eval_at(st.aux, zeta, cache), zeta)
    if isinstance(st.quot_coeffs, list):  # zk: blinded chunks of plan.chunk_len + plan.quot_mask coefficients
        for chunk in st.quot_coeffs:
            z_vals += [Ext(row) for row in kernels.poly_eval_ext(chunk, zeta)]
    else:
        for c in range(QUOTIENT_CHUNKS):
            chunk = st.quot_coeffs[c * n:(c + 1) * n]
            z_vals += [Ext(row) for row in kernels.poly_eval_ext(chunk, zeta)]
    if ct.next_fixed:
        zg_vals += eval_at(st.fixed[:, ct.next_fixed], zg, cache)
    if ct.next_main:
        zg_vals += randomised("main", eval_at(st.main[:, ct.next_main], zg, cache), zg, ct.next_main)
    if ct.has_bus:
        g = len(ct.groups)
        cols = list(range(4 * g, 4 * g + 4))
        zg_vals += randomised("aux", eval_at(st.aux[:, 4 * g:4 * g + 4], zg, cache), zg, cols)
    return z_vals, zg_vals


def _deep(st: _TableState, lb: int, zeta: Ext, gamma: Ext, counter: int, zv, zgv,
          inv_cache: dict | None = None) -> tuple[np.ndarray, int]:
    """Table's DEEP quotient on its LDE coset: sum gamma^i (f_i(x) - f_i(z))/(x - z) over both points.
    ``inv_cache`` shares the 1/(x - z) blocks between tables on the same coset (same height and blowup)."""
    ct = st.ct
    n_z, n_zg = len(zv), len(zgv)
    gp = ext_powers(gamma, counter + n_z + n_zg)[counter:]
    mats_z = [m for m in (st.fixed_lde, st.main_lde, st.aux_lde, st.quot_lde) if m is not None and m.shape[1]]
    mats_zg = []
    if ct.next_fixed:
        mats_zg.append((st.fixed_lde, ct.next_fixed))
    if ct.next_main:
        mats_zg.append((st.main_lde, ct.next_main))
    if ct.has_bus:
        g = len(ct.groups)
        mats_zg.append((st.aux_lde, list(range(4 * g, 4 * g + 4))))
    big_n = (1 << st.log_n) << lb
    omega = bb.two_adic_root(st.log_n + lb)
    zg = zeta * bb.two_adic_root(st.log_n)
    dot = native_eval.base_dot_ext if native_eval.available() else mat_dot

    def claimed(coeffs, values) -> np.ndarray:
        v = Ext(0)
        for i, val in enumerate(values):
            v = v + Ext(coeffs[i]) * Ext(val)
        return v.to_array()

    v_z, v_zg = claimed(gp[:n_z], zv), claimed(gp[n_z:], zgv)

    def combine(parts, coeffs, value) -> np.ndarray:
        acc = None
        pos = 0
        for m in parts:
            w = m.shape[1]
            term = dot(m, coeffs[pos:pos + w])
            acc = term if acc is None else accel.ext_add(acc, term)
            pos += w
        return accel.ext_sub(acc, value)

    def inv(xs, r0: int, point: Ext) -> np.ndarray:
        key = (st.log_n, lb, r0, tuple(point.c))
        if inv_cache is None:
            return inv_x_minus_z(xs, point, accel)
        if key not in inv_cache:
            inv_cache[key] = inv_x_minus_z(xs, point, accel)
        return inv_cache[key]

    # row blocks keep every temporary small (the LDE matrices are the big residents)
    d = np.empty((big_n, 4), dtype=np.uint32)
    for r0 in range(0, big_n, DEEP_BLOCK):
        r1 = min(big_n, r0 + DEEP_BLOCK)
        xs = bb.mul(bb.powers(omega, r1 - r0), GENERATOR * bb.pow_int(omega, r0) % P)
        num_z = combine([m[r0:r1] for m in mats_z], gp[:n_z], v_z)
        blk = accel.ext_mul(num_z, inv(xs, r0, zeta))
        if n_zg:
            num_zg = combine([np.ascontiguousarray(m[r0:r1][:, idx]) for m, idx in mats_zg], gp[n_z:], v_zg)
            blk = accel.ext_add(blk, accel.ext_mul(num_zg, inv(xs, r0, zg)))
        d[r0:r1] = blk
    return d, counter + n_z + n_zg
