"""Debug-mode trace checker: the same constraint expressions as the prover, evaluated on the trace rows
(vectorised over all rows), reporting the first failing constraint and row, or an unbalanced bus tuple."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from zkvm.field.babybear import P
from zkvm.stark.dsl.air import Air, evaluate
from zkvm.stark.dsl.algebra import BaseArrayOps
from zkvm.stark.dsl.traces import ABSENT, read_traces
from zkvm.stark.errors import BusError, ConstraintError
from zkvm.stark.verifying.protocol import normalize_public_terms, publics_vector


def check_trace(air: Air, fixed: Mapping[str, np.ndarray], main: Mapping[str, np.ndarray],
                publics: Mapping[str, int], public_terms=(), balance: bool = True):
    """Raise ConstraintError(table, constraint, row) or BusError(bus) if the traces do not satisfy ``air``.
    ``balance=False``: check the constraints only and return the bus terms (for `check_balance` over several
    traces that share their buses, e.g. the segments of a run)."""
    ca = air.compile()
    pubs = dict(zip(air.publics, publics_vector(air, publics)))
    terms = normalize_public_terms(ca, public_terms)
    fixed_arr, main_arr, heights = read_traces(ca, fixed, main)
    ops = BaseArrayOps()
    bus_parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {b: [] for b in ca.bus_ids}
    for ct, lh in zip(ca.tables, heights):
        if lh == ABSENT:  # an absent table has no rows: no constraint to check, nothing on any bus
            continue
        n = 1 << lh
        cache: dict = {}

        def column(kind, idx, nxt, ct=ct, cache=cache):
            key = (kind, idx, nxt)
            if key not in cache:
                src = main_arr[ct.name] if kind == "main" else fixed_arr[ct.name]
                col = src[:, idx].astype(np.uint64)
                cache[key] = np.roll(col, -1) if nxt else col
            return cache[key]

        t = ct.table
        roots = [c.expr for c in t.constraints]
        for it in t.interactions:
            roots.extend(it.values)
            roots.append(it.mult)
        vals = evaluate(roots, ops, column, pubs.__getitem__)
        for c, v in zip(t.constraints, vals):
            rows = {"always": slice(0, n), "transition": slice(0, n - 1), "first": slice(0, 1),
                    "last": slice(n - 1, n)}[c.kind]
            arr = np.broadcast_to(np.asarray(v, dtype=np.uint64), (n,))[rows]
            bad = np.flatnonzero(arr)
            if bad.size:
                row = int(bad[0]) + (rows.start or 0)
                raise ConstraintError(t.name, c.name, row, int(arr[bad[0]]))
        pos = len(t.constraints)
        for it in t.interactions:
            k = len(it.values)
            tup = np.stack([np.broadcast_to(np.asarray(v, dtype=np.uint64), (n,)) for v in vals[pos:pos + k]], axis=1)
            m = np.broadcast_to(np.asarray(vals[pos + k], dtype=np.uint64), (n,))
            pos += k + 1
            keep = m != 0
            signed = m[keep] if it.sign > 0 else (np.uint64(P) - m[keep]) % np.uint64(P)
            bus_parts[it.bus].append((tup[keep].astype(np.int64), signed.astype(np.int64)))
    for block in terms:
        bus_parts[block.bus].append((block.values.astype(np.int64), np.full(len(block), block.mult, dtype=np.int64)))
    if not balance:
        return bus_parts
    check_balance(bus_parts)


def check_balance(bus_parts: Mapping[str, list]) -> None:
    """BusError naming the first bus (and tuple) whose signed multiplicities do not cancel."""
    for bus, parts in bus_parts.items():
        if not parts:
            continue
        tuples = np.concatenate([p[0] for p in parts], axis=0)
        mults = np.concatenate([p[1] for p in parts])
        if tuples.shape[0] == 0:
            continue
        order = np.lexsort(tuples.T[::-1])
        tuples, mults = tuples[order], mults[order]
        new_group = np.ones(len(tuples), dtype=bool)
        new_group[1:] = np.any(tuples[1:] != tuples[:-1], axis=1)
        starts = np.flatnonzero(new_group)
        # sums of values < p over at most 2^32 rows fit in int64 only in chunks: reduce with object-free trick
        sums = np.add.reduceat(mults % P, starts) % P
        bad = np.flatnonzero(sums)
        if bad.size:
            i = int(bad[0])
            bal = int(sums[i])
            raise BusError(bus, tuple(int(x) for x in tuples[starts[i]]), bal if bal <= P // 2 else bal - P)
