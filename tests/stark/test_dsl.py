"""The DSL rejects AIRs the protocol cannot prove soundly, with a clear AirError; expressions evaluate as
written (one evaluator, several backends)."""

from __future__ import annotations

import numpy as np
import pytest

from zkvm.field.babybear import Ext, P
from zkvm.stark import Air, Table
from zkvm.stark.dsl.air import evaluate
from zkvm.stark.dsl.algebra import BaseArrayOps, ExtScalarOps
from zkvm.stark.errors import AirError


def test_degree_limits():
    t = Table("t")
    a = t.main("a")
    t.always("cubic", a * a * a)
    t.transition("cubic_next", a.next * a * a)
    Air("ok", [t]).compile()
    t.always("quartic", a * a * a * a)
    with pytest.raises(AirError, match="quartic"):
        Air("bad", [t]).compile()
    u = Table("u")
    b = u.main("b")
    u.first("cubic_boundary", b * b * b)
    with pytest.raises(AirError, match="cubic_boundary"):
        Air("bad", [u]).compile()


def test_bus_rules():
    t = Table("t")
    a = t.main("a")
    t.send("bus", [a, a])
    t.receive("bus", [a])
    with pytest.raises(AirError, match="tuples of length"):
        Air("arity", [t]).compile()
    u = Table("u")
    b = u.main("b")
    u.send("sq", [b * b * b])
    with pytest.raises(AirError, match="tuple degree"):
        Air("deg", [u]).compile()
    v = Table("v")
    c = v.main("c")
    with pytest.raises(AirError, match="next"):
        v.send("n", [c.next])


def test_logup_grouping():
    t = Table("t")
    a, m = t.main("a"), t.main("m")
    t.send("b", [a])             # linear tuples with constant multiplicity: paired
    t.send("b", [a + 1])
    t.send("b", [a * a])         # degree-2 tuple: alone
    t.receive("b", [a], mult=m)  # left alone (nothing after it)
    ct = Air("g", [t]).compile().tables[0]
    assert [len(g) for g in ct.groups] == [2, 1, 1]
    assert ct.n_aux == 4 * 4


def test_structural_errors():
    t = Table("t")
    t.main("a")
    with pytest.raises(AirError, match="duplicate column"):
        t.main("a")
    t.always("c", t.main("b"))
    with pytest.raises(AirError, match="duplicate constraint"):
        t.always("c", 0)
    other = Table("o")
    x = other.main("x")
    with pytest.raises(AirError, match="of table 'o'"):
        t.always("cross", x)
    air = Air("p", [t], publics=["k"])
    with pytest.raises(AirError, match="no public"):
        air.public("nope")
    with pytest.raises(AirError, match="truth value"):
        bool(x)
    with pytest.raises(AirError):
        x + 1.5
    with pytest.raises(AirError, match="duplicate table"):
        Air("dup", [t, t])


@pytest.mark.parametrize("seed", range(3))
def test_backends_agree(seed):
    """Base arrays and extension scalars evaluate the same DAG to the same values."""
    rng = np.random.default_rng(seed)
    t = Table("t")
    a, b = t.main("a"), t.main("b")
    air = Air("e", [t], publics=["k"])
    exprs = [a * b - 3 * a + air.public("k"), -(a - b) * (a + 7) * b, a.next * a - b.next, 5 - a]
    n = 16
    cols = rng.integers(0, P, (n, 2), dtype=np.uint64)
    pubs = {"k": int(rng.integers(0, P))}

    def col_arr(kind, idx, nxt):
        c = cols[:, idx]
        return np.roll(c, -1) if nxt else c

    arrays = evaluate(exprs, BaseArrayOps(), col_arr, pubs.__getitem__)
    for row in range(n):
        def col_ext(kind, idx, nxt, row=row):
            return Ext(int(cols[(row + 1) % n if nxt else row, idx]))

        scal = evaluate(exprs, ExtScalarOps(), col_ext, pubs.__getitem__)
        for arr, s in zip(arrays, scal):
            want = int(np.broadcast_to(arr, (n,))[row]) if not isinstance(arr, int) else arr
            assert Ext.lift(s) == Ext(want), f"seed={seed} row={row}"
