"""Test bench for one instruction-family table: a dummy CPU ("sender" table, kept in tests) that sends exactly
what the family table receives, plus the range16 and bytes lookup tables.

A (possibly malicious) family trace is checked as a whole statement: the sender's trace is derived from the
family table's receive tuples and the lookup multiplicities from the table's sends (evaluated on the trace),
so the only thing left that can reject a tampered witness is the family table's own constraints — or an
out-of-range lookup value, which no multiplicity can balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from zkvm.circuit import bytes as byte_table
from zkvm.circuit import range as range_table
from zkvm.circuit.families import FAMILIES
from zkvm.circuit.lookups import FamilyTable
from zkvm.circuit.opcodes import BUS_ALU, BUS_BYTES, BUS_RANGE16, BYTE_AND, BYTE_OR, BYTE_RANGE, BYTE_XOR
from zkvm.field.babybear import P
from zkvm.stark.dsl import air as dsl

SENDER = "sender"
SENDER_COLUMNS = ("op", "a_lo", "a_hi", "b_lo", "b_hi", "c_lo", "c_hi", "mult")


class NumpyOps(dsl.Ops):
    """Exact arithmetic mod p on int64 arrays (values < p < 2^31, so products fit in int64)."""

    def add(self, a, b):
        return (np.asarray(a, dtype=np.int64) + b) % P

    def sub(self, a, b):
        return (np.asarray(a, dtype=np.int64) - b) % P

    def mul(self, a, b):
        return (np.asarray(a, dtype=np.int64) * b) % P

    def neg(self, a):
        return (-np.asarray(a, dtype=np.int64)) % P


def evaluate_on(trace: np.ndarray, exprs) -> list[np.ndarray]:
    """Values of row-local expressions of a table on every row of its main trace."""
    h = trace.shape[0]

    def column(kind, index, is_next):
        if kind != "main" or is_next:
            raise ValueError("family tables use only row-local main columns")
        return trace[:, index].astype(np.int64)

    vals = dsl.evaluate(list(exprs), NumpyOps(), column, lambda name: 0)
    return [np.broadcast_to(np.asarray(v, dtype=np.int64) % P, (h,)) for v in vals]


def sender_table() -> dsl.Table:
    t = dsl.Table(SENDER)
    cols = [t.main(name) for name in SENDER_COLUMNS]
    t.send(BUS_ALU, cols[:7], mult=cols[7])
    return t


_BYTE_RESULT = {BYTE_AND: lambda x, y: x & y, BYTE_OR: lambda x, y: x | y, BYTE_XOR: lambda x, y: x ^ y,
                BYTE_RANGE: lambda x, y: 0 * x}


def lookup_multiplicities(table: dsl.Table, trace: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicity columns of the range16 and bytes tables that balance every *valid* lookup the trace makes.
    Invalid ones (out of range, wrong bitwise result) are left unmatched, so the bus rejects them."""
    range_mult = np.zeros(1 << 16, dtype=np.int64)
    byte_mult = np.zeros((1 << 16, len(byte_table.MULT_OPS)), dtype=np.int64)
    for it in table.interactions:
        if it.sign != 1 or it.bus not in (BUS_RANGE16, BUS_BYTES):
            continue
        *vals, mult = evaluate_on(trace, list(it.values) + [it.mult])
        live = mult != 0
        if it.bus == BUS_RANGE16:
            x = vals[0][live]
            ok = x < (1 << 16)
            np.add.at(range_mult, x[ok], mult[live][ok])
            continue
        op, x, y, z = (v[live] for v in vals)
        for j, code in enumerate(byte_table.MULT_OPS):
            ok = (op == code) & (x < 256) & (y < 256)
            ok &= z == np.where(ok, _BYTE_RESULT[code](np.where(ok, x, 0), np.where(ok, y, 0)), -1)
            np.add.at(byte_mult[:, j], x[ok] * 256 + y[ok], mult[live][ok])
    return range_table.fold(range_mult % P), byte_table.fold(byte_mult % P)


@dataclass
class Bench:
    spec: FamilyTable
    table: dsl.Table
    air: dsl.Air
    fixed: dict

    def main(self, trace: np.ndarray) -> dict[str, np.ndarray]:
        """All main traces of the bench for this family trace (sender and lookups derived from it)."""
        receive = next(it for it in self.table.interactions if it.bus == BUS_ALU)
        values = evaluate_on(trace, list(receive.values) + [receive.mult])
        sender = np.stack(values, axis=1).astype(np.uint32)
        range_mult, byte_mult = lookup_multiplicities(self.table, trace)
        return {SENDER: sender, self.spec.name: trace, range_table.NAME: range_mult, byte_table.NAME: byte_mult}

    def check(self, trace: np.ndarray) -> None:
        from zkvm.stark.dsl.check import check_trace

        check_trace(self.air, self.fixed, self.main(trace), {}, [])


@lru_cache(maxsize=None)
def bench(name: str) -> Bench:
    spec = next(s for s in FAMILIES if s.name == name)
    table = spec.table()
    air = dsl.Air(f"bench-{name}", [sender_table(), table, range_table.table(), byte_table.table()])
    fixed = {range_table.NAME: range_table.fixed_columns(), byte_table.NAME: byte_table.fixed_columns()}
    return Bench(spec, table, air, fixed)


def field(x: int) -> int:
    return x % P


def fdiv(a: int, b: int) -> int:
    """a / b in the field."""
    return a * pow(b, P - 2, P) % P


def set_row(trace: np.ndarray, spec: FamilyTable, row: int, **values: int) -> np.ndarray:
    """A copy of the trace with some cells of one row replaced (values taken mod p)."""
    out = trace.copy()
    for name, value in values.items():
        out[row, spec.columns.index(name)] = value % P
    return out


def get(trace: np.ndarray, spec: FamilyTable, row: int, name: str) -> int:
    return int(trace[row, spec.columns.index(name)])


def expect_rejected(b: Bench, trace: np.ndarray, constraints: set[str] | None = None,
                    bus: str | None = None) -> None:
    """The tampered trace must be rejected: by one of the named constraints of the family table, or (bus given)
    by that bus not balancing."""
    import pytest
    from zkvm.stark.errors import BusError, ConstraintError

    if bus is not None:
        with pytest.raises(BusError) as info:
            b.check(trace)
        assert info.value.bus == bus, f"rejected by bus {info.value.bus!r}, expected {bus!r}"
        return
    with pytest.raises(ConstraintError) as info:
        b.check(trace)
    err = info.value
    assert err.table == b.spec.name and (constraints is None or err.constraint in constraints), \
        f"rejected by {err.table}:{err.constraint}, expected one of {constraints}"


def byte_cells(prefix: str, word: int) -> dict[str, int]:
    return {f"{prefix}{i}": (word >> (8 * i)) & 255 for i in range(4)}


def constraint_values(b: Bench, trace: np.ndarray, name: str) -> np.ndarray:
    expr = next(c.expr for c in b.table.constraints if c.name == name)
    return evaluate_on(trace, [expr])[0]


def resolve_carries(b: Bench, trace: np.ndarray, row: int, prefix: str) -> np.ndarray:
    """Re-derive the carry columns k{l}x/k{l}y of a (tampered) row so that the limb equations
    `{prefix}_limb{l}` hold over the field. Honest-looking carries (< 4096) are split into bytes; anything
    else lands whole in k{l}x, where the byte lookup rejects it."""
    spec = b.spec
    out = set_row(trace, spec, row, **{f"k{l}{part}": 0 for l in range(4) for part in "xy"})
    inv16 = pow(1 << 16, P - 2, P)
    for l in range(4):  # limb l's equation holds with k_l = (lhs_l + k_{l-1} - z_l) / 2^16
        carry = int(constraint_values(b, out, f"{prefix}_limb{l}")[row]) * inv16 % P
        split = {f"k{l}x": carry & 15, f"k{l}y": carry >> 4} if carry < 4096 else {f"k{l}x": carry}
        out = set_row(out, spec, row, **split)
    return out


def carries_are_small(trace: np.ndarray, spec: FamilyTable, row: int) -> bool:
    return all(get(trace, spec, row, f"k{l}x") < 16 and get(trace, spec, row, f"k{l}y") < 256 for l in range(4))
