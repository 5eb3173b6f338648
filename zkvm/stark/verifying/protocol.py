"""Pieces of the protocol that prover and verifier must compute identically: statement absorption, the fixed
digest, the per-table commitment/opening layout, and the list of constraint values at a point.

Pure Python + numpy (imported by the verifier).
"""

from __future__ import annotations

import hashlib
import struct
from typing import Callable, Mapping, Sequence

import numpy as np

from zkvm.field.babybear import Ext, P
from zkvm.stark.dsl.air import Air, CompiledAir, CompiledTable, evaluate
from zkvm.stark.errors import PublicInputMismatch
from zkvm.stark.verifying import logup
from zkvm.stark.verifying.logup import TermBlock
from zkvm.stark.verifying.options import FIXED_LOG_BLOWUP, ProofOptions
from zkvm.stark.verifying.transcript import Transcript

FIXED_TAG = b"zkvm-fixed-v2"  # v2: fixed tree leaves in fixed_leaf order
QUOTIENT_CHUNKS = 2  # constraint degree <= 3 -> quotient degree < 2n (see air.py)
QUOTIENT_WIDTH = 4 * QUOTIENT_CHUNKS
MAX_LOG_HEIGHT = 22  # 4M rows per table; with blowup <= 16 the LDE stays within BabyBear's two-adicity


def publics_vector(air: Air, publics: Mapping[str, int]) -> list[int]:
    """Publics in declaration order; every declared name present, values canonical field elements."""
    if set(publics) != set(air.publics):
        raise PublicInputMismatch(f"publics {sorted(publics)} do not match the AIR's {sorted(air.publics)}")
    out = []
    for name in air.publics:
        v = publics[name]
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < P:
            raise PublicInputMismatch(f"public {name!r} = {v!r} is not a field element in [0, p)")
        out.append(v)
    return out


def normalize_public_terms(ca: CompiledAir, public_terms) -> list[TermBlock]:
    """Check public terms against the AIR: ``(bus, values, mult)`` tuples or ``logup.TermBlock``s, every value
    and multiplicity a field element. Returns them as blocks, in order (a tuple becomes a block of one row)."""
    out = []
    for term in public_terms:
        if isinstance(term, TermBlock):
            out.append(_checked_block(ca, term))
            continue
        try:
            bus, values, mult = term
            values = tuple(values)
        except (TypeError, ValueError):
            raise PublicInputMismatch(f"public term {term!r} is not (bus, tuple, mult)") from None
        if bus not in ca.bus_ids:
            raise PublicInputMismatch(f"public term on unknown bus {bus!r}")
        if len(values) != ca.bus_arity[bus]:
            raise PublicInputMismatch(f"public term on bus {bus!r} has {len(values)} values, bus arity is "
                                      f"{ca.bus_arity[bus]}")
        for v in values + (mult,):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < P:
                raise PublicInputMismatch(f"public term {term!r}: {v!r} is not a field element in [0, p)")
        out.append(TermBlock(bus, np.array([values], dtype=np.uint32).reshape(1, len(values)), mult))
    return out


def _checked_block(ca: CompiledAir, block: TermBlock) -> TermBlock:
    if block.bus not in ca.bus_ids:
        raise PublicInputMismatch(f"public terms on unknown bus {block.bus!r}")
    vals = block.values
    if not isinstance(vals, np.ndarray) or vals.dtype.kind != "u" or vals.ndim != 2:
        raise PublicInputMismatch(f"public terms on bus {block.bus!r}: values must be a 2-d unsigned array")
    if vals.shape[1] != ca.bus_arity[block.bus]:
        raise PublicInputMismatch(f"public terms on bus {block.bus!r} have {vals.shape[1]} values, bus arity is "
                                  f"{ca.bus_arity[block.bus]}")
    if vals.size and int(vals.max()) >= P:
        raise PublicInputMismatch(f"public terms on bus {block.bus!r}: a value is not a field element in [0, p)")
    m = block.mult
    if isinstance(m, bool) or not isinstance(m, int) or not 0 <= m < P:
        raise PublicInputMismatch(f"public terms on bus {block.bus!r}: {m!r} is not a field element in [0, p)")
    return TermBlock(block.bus, np.ascontiguousarray(vals, dtype=np.uint32), m)


def absorb_statement(tr: Transcript, ca: CompiledAir, options: ProofOptions, log_heights: Sequence[int],
                     publics: Sequence[int], public_terms: Sequence[TermBlock], fixed_digest: bytes) -> None:
    tr.absorb("options", options.to_bytes())
    tr.absorb("air", ca.digest)
    tr.absorb("heights", bytes(log_heights))
    tr.absorb("publics", struct.pack(f"<{len(publics)}I", *publics))
    blocks = logup.as_blocks(public_terms)
    # per term: u32 bus id, u32 arity, the values, u32 mult - streamed a chunk of rows at a time
    size = 4 + sum(4 * len(b) * (3 + b.values.shape[1]) for b in blocks)

    def encoded():
        yield struct.pack("<I", sum(len(b) for b in blocks))
        for b in blocks:
            k = b.values.shape[1]
            for start in range(0, len(b), logup.TERM_CHUNK):
                vals = b.values[start:start + logup.TERM_CHUNK]
                rows = np.empty((vals.shape[0], 3 + k), dtype="<u4")
                rows[:, 0], rows[:, 1], rows[:, 2:2 + k], rows[:, -1] = ca.bus_ids[b.bus], k, vals, b.mult
                yield rows.tobytes()

    tr.absorb_stream("public_terms", size, encoded())
    tr.absorb("fixed_digest", fixed_digest)


def fixed_digest(ca: CompiledAir, fixed_log_heights: Sequence[int], fixed_roots: Sequence[bytes]) -> bytes:
    """SHA-256 over the AIR digest and, per table with fixed columns, its height and fixed LDE root."""
    h = hashlib.sha256(FIXED_TAG)
    h.update(ca.digest)
    tables = [ct for ct in ca.tables if ct.n_fixed]
    h.update(struct.pack("<I", len(tables)))
    for ct, lh, root in zip(tables, fixed_log_heights, fixed_roots):
        name = ct.name.encode()
        h.update(struct.pack("<I", len(name)) + name + struct.pack("<BI", lh, ct.n_fixed) + root)
    return h.digest()


def fixed_leaf(i: int, log_rows: int) -> int:
    """The leaf of row ``i`` of a fixed LDE (``2^log_rows`` rows on the coset, blowup 2^FIXED_LOG_BLOWUP) in its
    Merkle tree. A proof at a smaller blowup reads only every 2^(FIXED_LOG_BLOWUP - lb)-th row: with the row's
    low FIXED_LOG_BLOWUP bits bit-reversed to the top of the leaf index, exactly those rows fill the first
    leaves, one subtree, whatever the proof's blowup. Its queries then share the two or three levels above that
    subtree (a sibling each) instead of needing a sibling per query on each of those levels at the bottom."""
    b = FIXED_LOG_BLOWUP
    r = i & ((1 << b) - 1)
    return (int(_BITREV[r]) << (log_rows - b)) | (i >> b)


def fixed_leaf_rows(lde: np.ndarray) -> np.ndarray:
    """The rows of a fixed LDE in leaf order (``out[fixed_leaf(i)] = lde[i]``; a copy)."""
    b = 1 << FIXED_LOG_BLOWUP
    n, w = lde.shape
    return np.ascontiguousarray(lde.reshape(n // b, b, w).transpose(1, 0, 2)[_BITREV].reshape(n, w))


_BITREV = np.array([int(format(r, f"0{FIXED_LOG_BLOWUP}b")[::-1], 2) for r in range(1 << FIXED_LOG_BLOWUP)],
                   dtype=np.int64)


#: Index standing for the FRI mask in :func:`phase_layouts` (it is no table).
FRI_MASK = -1


def phase_layouts(tables: Sequence[CompiledTable], log_heights: Sequence[int], log_blowups: Sequence[int],
                  quot_widths: Sequence[int], zk: bool) -> dict[str, list[tuple[int, int, int]]]:
    """The matrices of each phase commitment (one mixed-height tree each, ``merkle_verify``), in commitment and
    opening order: ``(table index, log2 LDE height, width)``. ``main``: every table with main columns; ``aux``:
    every table with bus interactions; ``quotient``: every table's quotient chunks (absent tables, height 0, have
    none of these), then under zk the FRI mask
    (:data:`FRI_MASK`, extension values on the largest LDE domain; zk.py, 4.). Phases without matrices are
    absent; the dict keeps the order main, aux, quotient. (Fixed columns keep one tree per table: their roots
    define the image id, independent of the proof options.)"""
    # an absent table (height 0) has no matrix in any phase
    spans = [(t, lh + lbt) for t, (lh, lbt) in enumerate(zip(log_heights, log_blowups)) if lh]
    main = [(t, lh, tables[t].n_main) for t, lh in spans if tables[t].n_main]
    aux = [(t, lh, tables[t].n_aux) for t, lh in spans if tables[t].has_bus]
    quot = [(t, lh, quot_widths[t]) for t, lh in spans]
    if zk:
        quot.append((FRI_MASK, max(lh for _, lh in spans), 4))
    return {name: mats for name, mats in (("main", main), ("aux", aux), ("quotient", quot)) if mats}


def ood_layout(ct: CompiledTable, quot_width: int = QUOTIENT_WIDTH) -> tuple[int, int]:
    """Number of values opened at zeta (every committed column) and at zeta·g (columns used with .next)."""
    z = ct.n_fixed + ct.n_main + ct.n_aux + quot_width
    zg = len(ct.next_fixed) + len(ct.next_main) + (4 if ct.has_bus else 0)
    return z, zg


def constraint_values(ct: CompiledTable, air: Air, base_ops, ext_ops, column: Callable, public: Callable,
                      aux: Callable[[int], object], aux_sum_next, alpha: Ext, betas: Sequence[Ext],
                      bus_ids: Mapping[str, int], final: Ext | None) -> list:
    """All constraint values of a table in canonical order (``ct.constraint_names``).

    ``column(kind, idx, is_next)`` gives main/fixed values, ``aux(g)`` the extension value of aux column g (the
    running sum is ``g = len(groups)``) and ``aux_sum_next`` the running sum on the next row. User constraints
    come out in ``base_ops`` representation, LogUp ones in ``ext_ops``.
    """
    t = ct.table
    roots = [c.expr for c in t.constraints]
    its = [it for group in ct.groups for it in group]
    for it in its:
        roots.extend(it.values)
        roots.append(it.mult)
    vals = evaluate(roots, base_ops, column, public)
    out = vals[:len(t.constraints)]
    if not ct.groups:
        return out
    evals = {}
    pos = len(t.constraints)
    for it in its:
        k = len(it.values)
        evals[id(it)] = (vals[pos:pos + k], vals[pos + k])
        pos += k + 1
    hs = [aux(g) for g in range(len(ct.groups))]
    for g, group in enumerate(ct.groups):
        out.append(logup.group_constraints(ext_ops, group, evals, hs[g], alpha, betas, bus_ids))
    out.extend(logup.sum_constraints(ext_ops, hs, aux(len(ct.groups)), aux_sum_next, final))
    return out


def max_tuple_len(ca: CompiledAir) -> int:
    return max(ca.bus_arity.values(), default=0)


def challenge_bytes(alpha: Ext, beta: Ext) -> bytes:
    """LogUp challenges given from outside (shared by the segments of a run), as a transcript absorbs them."""
    return np.asarray([alpha.to_array(), beta.to_array()], dtype="<u4").tobytes()
