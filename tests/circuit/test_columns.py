"""Typed columns (zkvm/circuit/columns.py) and lookups evaluated from their declarations (lookups.report_lookups)."""

from __future__ import annotations

import numpy as np
import pytest

from zkvm.circuit import alu, cpu, dot, memory, muldiv, program, read_buf, segments, shift
from zkvm.circuit import bytes as bytes_table
from zkvm.circuit import range as range_table
from zkvm.circuit.columns import Col, Columns, Include
from zkvm.circuit.lookups import LookupSends, fixed_lookups, report_lookups
from zkvm.circuit.opcodes import BUS_RANGE16
from zkvm.stark.dsl.air import Table


class _Inner(Columns):
    p, q = Col(), Col()


class _Demo(Columns):
    a = Col()
    x = Col(3)
    inner = Include(_Inner)
    pair = Col(names=[("u_lo", "u_hi"), ("w_lo", "w_hi")])
    f = Col(fixed=True)


class _More(_Demo):
    z = Col()


def test_declaration_order_is_column_order():
    assert _Demo.NAMES == ("a", "x0", "x1", "x2", "p", "q", "u_lo", "u_hi", "w_lo", "w_hi")
    assert _Demo.FIXED == ("f",)
    assert _More.NAMES == _Demo.NAMES + ("z",)
    assert _Demo.INDEX["q"] == 5 and _Demo.INDEX["f"] == 0


def test_expressions_follow_the_declaration():
    t = Table("demo")
    c = _Demo.exprs(t)
    assert t.main_names == list(_Demo.NAMES) and t.fixed_names == ["f"]
    assert repr(c.x[2]) == "x2" and repr(c.pair[1][0]) == "w_lo" and repr(c.q.next) == "q.next"
    assert [repr(e) for e in c.inner] == ["p", "q"]


def test_a_misspelt_column_is_an_attribute_error():
    c = _Demo.exprs(Table("demo"))
    with pytest.raises(AttributeError):
        c.aa  # noqa: B018
    v = _Demo.values()
    with pytest.raises(AttributeError, match="declares no column 'aa'"):
        v.aa = np.zeros(2)
    with pytest.raises(AttributeError, match="not been filled"):
        v.a  # noqa: B018
    with pytest.raises(AttributeError, match="read-only"):
        c.a = 1
    with pytest.raises(ValueError, match="group of 3 columns given 2"):
        v.x = [np.zeros(2), np.zeros(2)]


def test_values_assemble_in_order_and_views_write_through():
    v = _Demo.values()
    v.a, v.x, v.inner = np.array([1, 2]), [np.array([3, 4])] * 3, (np.array([5, 6]), np.array([-1, 7]))
    v.pair = [(np.array([8, 9]), np.array([10, 11])), (np.array([12, 13]), np.array([14, 15]))]
    out = v.assemble(2, 4)
    assert out.dtype == np.uint32 and out.shape == (4, len(_Demo.NAMES))
    assert out[0].tolist() == [1, 3, 3, 3, 5, (1 << 31) - (1 << 27), 8, 10, 12, 14]  # -1 -> p - 1
    assert not out[2:].any()
    view = _Demo.view(out)
    view.q[3] = 42
    assert out[3, _Demo.INDEX["q"]] == 42 and view.x[1][1] == 4


@pytest.mark.parametrize("cols, names", [
    (alu.AluCols, alu.COLUMNS), (shift.ShiftCols, shift.COLUMNS), (muldiv.MulCols, muldiv.MUL_COLUMNS),
    (muldiv.DivCols, muldiv.DIV_COLUMNS), (dot.DotCols, dot.COLUMNS), (read_buf.ReadBufCols, read_buf.COLUMNS),
    (bytes_table.BytesCols, bytes_table.COLUMNS), (range_table.RangeCols, range_table.COLUMNS),
])
def test_every_column_declared_once(cols, names):
    assert cols.NAMES == names and len(set(cols.NAMES)) == len(cols.NAMES)


def test_cpu_program_and_memory_columns():
    assert cpu.CpuCols.NAMES[4:4 + len(program.FIELDS)] == tuple(program.FIELDS)
    assert cpu.CpuSegCols.NAMES[-4:] == ("is_start", "is_end", "jpos_out", "eof_out")
    assert program.ProgramCols.FIXED == ("valid", "pc", *program.FIELDS)
    assert memory.ZinitCols.NAMES[0] == "is_real" and segments.BoundaryCols.NAMES[-1] == "d2"


def test_report_lookups_counts_each_send_times_its_multiplicity():
    t = Table("demo")
    c = _Demo.exprs(t)
    t.send(BUS_RANGE16, [c.a + 1], mult=c.x[0] + c.x[1])
    t.send("other", [c.a], mult=1)  # not a fixed-table lookup: not reported
    sends = LookupSends()
    report_lookups(fixed_lookups(lambda: t), [np.array([5, 6, 7]), np.array([1, 0, 1]), np.array([1, 0, 0])] +
                   [None] * 7, 3, sends)
    assert sorted(np.concatenate(sends.range16).tolist()) == [6, 6, 8]


def test_report_lookups_refuses_an_out_of_range_witness():
    t = Table("demo")
    c = _Demo.exprs(t)
    t.send(BUS_RANGE16, [c.a], mult=1)
    with pytest.raises(ValueError, match="range16 send out of range"):
        report_lookups(fixed_lookups(lambda: t), [np.array([1 << 16])] + [None] * 9, 1, LookupSends())
    with pytest.raises(ValueError, match="multiplicity"):
        t2 = Table("demo2")
        c2 = _Demo.exprs(t2)
        t2.send(BUS_RANGE16, [c2.q], mult=c2.a)
        report_lookups(fixed_lookups(lambda: t2), [np.array([-1])] + [None] * 9, 1, LookupSends())
