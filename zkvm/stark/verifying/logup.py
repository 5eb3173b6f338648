"""LogUp buses: fingerprints, the prover's auxiliary trace, and the auxiliary constraints.

Aux layout of a table with interactions (see the degree rule in ``air.py``): one extension column ``h_g`` per
group of one or two interactions, holding ``sum_{k in g} sign_k·m_k / d_k`` on each row, then the running sum
``S`` (exclusive prefix sum: ``S[0] = 0``, ``S[i+1] = S[i] + sum_g h_g[i]``). The table's final sum
``F = S[n-1] + sum_g h_g[n-1]`` is sent in the proof; the verifier checks ``sum_t F_t + public = 0``.
Each extension column is committed as its 4 base-field coordinate columns.

The constraint formulas below are written once, over an ``ops`` backend, and serve both the prover (arrays
over the LDE) and the verifier (scalars at the out-of-domain point).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from zkvm.field import babybear as bb
from zkvm.field.babybear import Ext, P
from zkvm.stark.dsl.air import CompiledAir, CompiledTable, Interaction


def beta_powers(beta: Ext, count: int) -> list[Ext]:
    out = [Ext(1)]
    for _ in range(count):
        out.append(out[-1] * beta)
    return out


def denominator(ops, values: Sequence, alpha: Ext, betas: Sequence[Ext], bus_id: int):
    """``alpha - (bus_id + sum_j beta^(j+1)·v_j)``."""
    acc = ops.sub(alpha, bus_id)
    for j, v in enumerate(values):
        acc = ops.sub(acc, ops.mul(v, betas[j + 1]))
    return acc


@dataclass(frozen=True)
class TermBlock:
    """Public terms of one bus sharing one multiplicity, one row of ``values`` (``uint32[n, arity]``, entries
    < p) per term. A journal is one block: as a Python tuple per byte it cost ~500 bytes of objects a byte."""

    bus: str
    values: np.ndarray
    mult: int

    def __len__(self) -> int:
        return int(self.values.shape[0])


#: Rows of a term block processed at once (bounds the verifier's temporaries to a few MB per block).
TERM_CHUNK = 1 << 15


def as_blocks(public_terms) -> list[TermBlock]:
    """``TermBlock``s as given; a ``(bus, values, mult)`` tuple becomes a block of one row (unchecked: see
    ``protocol.normalize_public_terms`` for untrusted terms)."""
    out = []
    for term in public_terms:
        if isinstance(term, TermBlock):
            out.append(term)
        else:
            bus, values, mult = term
            out.append(TermBlock(bus, np.array([[int(v) for v in values]], dtype=np.uint32).reshape(1, -1),
                                 int(mult)))
    return out


def public_contribution(ca: CompiledAir, public_terms, alpha: Ext, betas: Sequence[Ext]) -> Ext:
    """Sum of ``mult / (alpha - fingerprint)`` over the public terms (they count as sends).

    Vectorised per block and chunk (one batched extension inversion per chunk of ``TERM_CHUNK`` rows) because
    a journal contributes one term per byte: time and memory stay linear in the journal, temporaries bounded.
    Raises ZeroDivisionError if a denominator vanishes."""
    total = Ext(0)
    for block in as_blocks(public_terms):
        base = bb.ext_sub(alpha.to_array(), bb.ext_from_base(ca.bus_ids[block.bus] % P))
        acc = np.zeros(4, dtype=np.uint64)
        for start in range(0, len(block), TERM_CHUNK):
            vals = block.values[start:start + TERM_CHUNK]
            d = np.broadcast_to(base, (vals.shape[0], 4))
            for j in range(vals.shape[1]):
                d = bb.ext_sub(d, bb.ext_mul_base(np.broadcast_to(betas[j + 1].to_array(), d.shape), vals[:, j]))
            acc = bb.ext_add(acc, bb.ext_sum(bb.ext_batch_inv(d)))
        total = total + Ext(*(int(x) for x in acc)) * (block.mult % P)
    return total


def group_constraints(ops, group: list[Interaction], evals: dict[int, tuple[list, object]], h,
                      alpha: Ext, betas: Sequence[Ext], bus_ids: dict[str, int]):
    """The constraint tying ``h`` to its group: ``h·d - s·m`` or ``h·d1·d2 - (s1·m1·d2 + s2·m2·d1)``.

    ``evals[id(interaction)] = (tuple values, multiplicity)`` evaluated by the caller."""
    ds, ms = [], []
    for it in group:
        vals, m = evals[id(it)]
        ds.append(denominator(ops, vals, alpha, betas, bus_ids[it.bus]))
        ms.append(m if it.sign > 0 else ops.neg(m))
    if len(group) == 1:
        return ops.sub(ops.mul(h, ds[0]), ms[0])
    lhs = ops.mul(ops.mul(h, ds[0]), ds[1])
    rhs = ops.add(ops.mul(ms[0], ds[1]), ops.mul(ms[1], ds[0]))
    return ops.sub(lhs, rhs)


def sum_constraints(ops, hs: list, s, s_next, final):
    """(first, transition, last) constraints of the running sum ``S``."""
    total = hs[0]
    for h in hs[1:]:
        total = ops.add(total, h)
    step = ops.sub(ops.sub(s_next, s), total)
    last = ops.sub(ops.sub(final, s), total)
    return s, step, last


def aux_trace(ct: CompiledTable, evals: dict[int, tuple[list, object]], n: int, alpha: Ext, betas: Sequence[Ext],
              bus_ids: dict[str, int], kernels=None) -> tuple[np.ndarray, Ext]:
    """The aux trace ``uint32[n, 4·(groups+1)]`` of a table and its final sum (prover side, on trace rows).
    ``kernels``: array kernels (``ext_*``, ``ext_batch_inverse``), numpy by default."""
    from zkvm.stark.dsl import algebra
    from zkvm.stark.dsl.algebra import ExtArrayOps

    k = kernels or bb
    ext_batch_inverse = getattr(kernels, "ext_batch_inverse", algebra.ext_batch_inverse)
    ops = ExtArrayOps(kernels)
    cols = []
    for group in ct.groups:
        h = np.zeros((n, 4), dtype=np.uint32)
        for it in group:
            vals, m = evals[id(it)]
            d = np.broadcast_to(denominator(ops, vals, alpha, betas, bus_ids[it.bus]), (n, 4))
            try:
                dinv = ext_batch_inverse(np.ascontiguousarray(d))
            except ZeroDivisionError:
                raise ArithmeticError(f"table {ct.name!r}: LogUp denominator vanished (bus {it.bus!r})") from None
            term = ops.mul(np.broadcast_to(np.asarray(m, dtype=np.uint64), (n,)) if not isinstance(m, int) else m,
                           dinv)
            term = np.broadcast_to(term, (n, 4))
            h = k.ext_add(h, term) if it.sign > 0 else k.ext_sub(h, term)
        cols.append(h)
    return with_running_sum(np.concatenate(cols, axis=1))


def with_running_sum(hs: np.ndarray) -> tuple[np.ndarray, Ext]:
    """The aux trace from its h columns ``uint32[n, 4·groups]``: appends the running sum ``S`` and returns
    (aux trace, final sum)."""
    n, w = hs.shape
    row_total = hs.reshape(n, w // 4, 4).sum(axis=1, dtype=np.uint64) % np.uint64(P)
    cum = (np.cumsum(row_total, axis=0) % np.uint64(P)).astype(np.uint32)
    final = Ext(cum[-1])
    aux = np.empty((n, w + 4), dtype=np.uint32)
    aux[:, :w] = hs
    aux[0, w:] = 0
    aux[1:, w:] = cum[:-1]
    return aux, final
