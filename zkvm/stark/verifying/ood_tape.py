"""The verifier's out-of-domain constraint evaluation as one numpy program over every table at once.

``protocol.constraint_values`` (the single source of the constraint formulas: the AIR's DAG plus the LogUp
group and running-sum constraints) is run ONCE per compiled AIR with a recording backend; the recorded
operations are scheduled by depth, and each depth level becomes one vectorised add/sub and one vectorised
extension multiplication over all tables. Evaluating a proof then costs a few hundred numpy calls instead of
tens of thousands of scalar extension operations. Values are GF(p^4) elements as ``uint64[..., 4]`` rows, all
canonical (< p) between operations. The tape depends on the AIR only (never on a proof), so it is cached per
``CompiledAir``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from zkvm.field.babybear import P, W
from zkvm.stark.dsl.air import Air, CompiledAir
from zkvm.stark.verifying.protocol import constraint_values

_P = np.uint64(P)
_W = np.uint64(W)
KIND_INDEX = {"always": 0, "transition": 1, "first": 2, "last": 3}


def ext_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise GF(p^4) product of canonical ``uint64[n, 4]`` arrays (result canonical, uint64)."""
    a0, a1, a2, a3 = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    b0, b1, b2, b3 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    out = np.empty(a.shape, dtype=np.uint64)
    # each product < 2^62; reduce before summing so no sum of reduced terms reaches 2^64
    out[:, 0] = (a0 * b0 % _P + _W * ((a1 * b3 % _P + a2 * b2 % _P + a3 * b1 % _P) % _P)) % _P
    out[:, 1] = (a0 * b1 % _P + a1 * b0 % _P + _W * ((a2 * b3 % _P + a3 * b2 % _P) % _P)) % _P
    out[:, 2] = (a0 * b2 % _P + a1 * b1 % _P + a2 * b0 % _P + _W * (a3 * b3 % _P)) % _P
    out[:, 3] = (a0 * b3 % _P + a1 * b2 % _P + a2 * b1 % _P + a3 * b0 % _P) % _P
    return out


def from_coords(v: np.ndarray) -> np.ndarray:
    """Extension values of committed extension columns from their 4 coordinate values: ``v[..., c, :]`` is the
    value of coordinate polynomial ``c``; result ``sum_c X^c · v_c`` (``X^4 = W``)."""
    v = v.astype(np.uint64)
    out = v[..., 0, :].copy()
    for c in range(1, 4):
        # X^c · (a0, a1, a2, a3): coefficient j moves to j + c; those passing 4 wrap around times W
        s = v[..., c, :]
        shifted = np.concatenate([_W * s[..., 4 - c:] % _P, s[..., :4 - c]], axis=-1)
        out = out + shifted
    return out % _P


class _Node:
    __slots__ = ("i",)

    def __init__(self, i: int) -> None:
        self.i = i


class _Recorder:
    """An ``ops`` backend (and leaf provider) that records operations on slots instead of computing."""

    def __init__(self) -> None:
        self.consts: dict[int, int] = {}  # value -> slot
        self.inputs: list[tuple] = []     # slot -> how to fill it per proof
        self.ops: list[tuple[str, int, int, int]] = []  # (op, dst, a, b) over slots numbered after inputs

    def leaf(self, key: tuple) -> _Node:
        self.inputs.append(key)
        return _Node(-len(self.inputs))  # provisional: leaves and op results are renumbered in build()

    def const(self, v: int) -> _Node:
        v %= P
        if v not in self.consts:
            self.consts[v] = self.leaf(("const", v)).i
        return _Node(self.consts[v])

    def _lift(self, v) -> _Node:
        return v if isinstance(v, _Node) else self.const(int(v))

    def _op(self, op: str, a, b) -> _Node:
        self.ops.append((op, len(self.ops), self._lift(a).i, self._lift(b).i))
        return _Node(len(self.ops) - 1)

    # ExtScalarOps semantics: int op int folds to an int constant
    def add(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return (a + b) % P
        return self._op("add", a, b)

    def sub(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return (a - b) % P
        return self._op("sub", a, b)

    def mul(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return (a * b) % P
        return self._op("mul", a, b)

    def neg(self, a):
        if isinstance(a, int):
            return (-a) % P
        return self._op("sub", 0, a)


@dataclass
class OodTape:
    """A compiled OOD evaluation: fill ``inputs`` (``uint64[n_inputs, 4]``) with :meth:`input_index` slots, then
    :meth:`run` gives every constraint value; :attr:`pow_index`/:attr:`segment` place them in the per-table,
    per-kind random combination."""

    n_inputs: int
    const_slots: np.ndarray      # slots of the constants
    const_values: np.ndarray     # uint64[n_consts, 4]
    input_index: dict            # ("z"|"zg"|"aux"|"s_next"|"final", t, k) / ("alpha",) / ("beta", j) / ("pub", name) -> slot
    levels: list                 # per depth: (lin_dst, lin_a, lin_b, lin_neg_b, mul_dst, mul_a, mul_b)
    n_slots: int
    outputs: np.ndarray          # slot of every constraint value, tables in order
    pow_index: np.ndarray        # its index within its table (power of lambda)
    segment: np.ndarray          # 4·table + kind
    n_tables: int
    fills: dict                  # per input kind: slot and source arrays (see _build)

    def inputs(self, z_all: np.ndarray, z_off: np.ndarray, zg_all: np.ndarray, zg_off: np.ndarray, pubs,
               alpha: np.ndarray, betas: np.ndarray, finals: np.ndarray) -> np.ndarray:
        """The input rows for one proof: ``z_all``/``zg_all`` every table's OOD values concatenated
        (``uint64[n, 4]``) with per-table offsets, ``pubs`` name -> int, ``alpha`` ``[4]``, ``betas`` ``[k, 4]``,
        ``finals`` ``[tables, 4]`` (rows of tables without a bus unused)."""
        f = self.fills
        x = np.zeros((self.n_inputs, 4), dtype=np.uint64)
        s, t, k = f["z"]
        x[s] = z_all[z_off[t] + k]
        s, t, k = f["zg"]
        x[s] = zg_all[zg_off[t] + k]
        s, t, k = f["aux"]
        x[s] = from_coords(z_all[(z_off[t] + k)[:, None] + np.arange(4)])
        s, t, k = f["s_next"]
        x[s] = from_coords(zg_all[(zg_off[t] + k)[:, None] + np.arange(4)])
        s, t, _ = f["final"]
        x[s] = finals[t]
        s, names = f["pub"]
        x[s, 0] = [pubs[n] % P for n in names]
        x[f["alpha"]] = alpha
        s, j = f["beta"]
        x[s] = betas[j]
        return x

    def run(self, inputs: np.ndarray) -> np.ndarray:
        v = np.empty((self.n_slots, 4), dtype=np.uint64)
        v[:self.n_inputs] = inputs
        v[self.const_slots] = self.const_values
        for lin_dst, lin_a, lin_b, lin_sub, mul_dst, mul_a, mul_b in self.levels:
            if len(lin_dst):
                b = v[lin_b]
                b[lin_sub] = (_P - b[lin_sub]) % _P
                v[lin_dst] = (v[lin_a] + b) % _P
            if len(mul_dst):
                v[mul_dst] = ext_mul(v[mul_a], v[mul_b])
        return v[self.outputs]


_CACHE: "weakref.WeakKeyDictionary[Air, tuple[CompiledAir, int, OodTape]]" = weakref.WeakKeyDictionary()


def tape_for(ca: CompiledAir, n_betas: int) -> OodTape:
    """The tape of ``ca`` (cached per AIR object while its compiled form is the same)."""
    if has_tape(ca, n_betas):
        return _CACHE[ca.air][2]
    tape = _build(ca, n_betas)
    _CACHE[ca.air] = (ca, n_betas, tape)
    return tape


def has_tape(ca: CompiledAir, n_betas: int) -> bool:
    cached = _CACHE.get(ca.air)
    return cached is not None and cached[0] is ca and cached[1] == n_betas


def prime(ca: CompiledAir, n_betas: int, tape: OodTape) -> None:
    """Use ``tape`` (built earlier for this AIR: ``air_cache``) as ``ca``'s."""
    _CACHE[ca.air] = (ca, n_betas, tape)


def _build(ca: CompiledAir, n_betas: int) -> OodTape:
    rec = _Recorder()
    index: dict = {}

    def leaf(key):
        if key not in index:
            index[key] = rec.leaf(key)
        return index[key]

    alpha = leaf(("alpha",))
    betas = [leaf(("beta", j)) for j in range(n_betas)]
    out_slots, pow_idx, segs = [], [], []
    for t, ct in enumerate(ca.tables):
        nf, nm = ct.n_fixed, ct.n_main
        nxt_f = {c: k for k, c in enumerate(ct.next_fixed)}
        nxt_m = {c: len(ct.next_fixed) + k for k, c in enumerate(ct.next_main)}

        def column(kind, idx, is_next, t=t, nf=nf, nxt_f=nxt_f, nxt_m=nxt_m):
            if is_next:
                return leaf(("zg", t, (nxt_m if kind == "main" else nxt_f)[idx]))
            return leaf(("z", t, nf + idx if kind == "main" else idx))

        def aux(g, t=t):
            return leaf(("aux", t, g))

        s_next = leaf(("s_next", t, 0)) if ct.has_bus else None
        final = leaf(("final", t, 0)) if ct.has_bus else None
        vals = constraint_values(ct, ca.air, rec, rec, column, lambda name: leaf(("pub", name)), aux, s_next,
                                 alpha, betas, ca.bus_ids, final)
        for k, ((kind, _), v) in enumerate(zip(ct.constraint_names, vals)):
            out_slots.append(rec._lift(v).i)
            pow_idx.append(k)
            segs.append(4 * t + KIND_INDEX[kind])

    # renumber: inputs 0..n_in-1 (leaf i was numbered -(i+1)), op results after them
    n_in = len(rec.inputs)

    def slot(i: int) -> int:
        return -i - 1 if i < 0 else n_in + i

    depth = [0] * (n_in + len(rec.ops))
    per_level: dict[int, list] = {}
    for op, dst, a, b in rec.ops:
        sa, sb, sd = slot(a), slot(b), slot(dst)
        d = max(depth[sa], depth[sb]) + 1
        depth[sd] = d
        per_level.setdefault(d, []).append((op, sd, sa, sb))
    levels = []
    for d in sorted(per_level):
        items = per_level[d]
        lin = [x for x in items if x[0] != "mul"]
        mul = [x for x in items if x[0] == "mul"]
        arr = lambda xs, k: np.array([x[k] for x in xs], dtype=np.int64)  # noqa: E731
        levels.append((arr(lin, 1), arr(lin, 2), arr(lin, 3), np.array([x[0] == "sub" for x in lin], dtype=bool),
                       arr(mul, 1), arr(mul, 2), arr(mul, 3)))
    consts = sorted(rec.consts.items())
    const_vals = np.zeros((len(consts), 4), dtype=np.uint64)
    const_vals[:, 0] = [v for v, _ in consts]
    return OodTape(n_in, np.array([slot(s) for _, s in consts], dtype=np.int64), const_vals,
                   {k: slot(n.i) for k, n in index.items()}, levels, n_in + len(rec.ops),
                   np.array([slot(s) for s in out_slots], dtype=np.int64), np.array(pow_idx, dtype=np.int64),
                   np.array(segs, dtype=np.int64), len(ca.tables), _fills(ca, index, slot))


def _fills(ca: CompiledAir, index: dict, slot) -> dict:
    """Per input kind, the slots and where their values come from (``(slots, table, offset in the table's
    OOD values)``): aux and s_next offsets are those of the first of their 4 coordinate values."""
    rows: dict[str, list] = {k: [] for k in ("z", "zg", "aux", "s_next", "final")}
    pubs, beta = [], []
    alpha_slot = 0
    for key, node in index.items():
        s = slot(node.i)
        kind = key[0]
        if kind == "alpha":
            alpha_slot = s
        elif kind == "beta":
            beta.append((s, key[1]))
        elif kind == "pub":
            pubs.append((s, key[1]))
        else:
            _, t, k = key
            ct = ca.tables[t]
            if kind == "aux":
                k = ct.n_fixed + ct.n_main + 4 * k
            elif kind == "s_next":
                k = len(ct.next_fixed) + len(ct.next_main)
            rows[kind].append((s, t, k))
    out = {}
    for kind, items in rows.items():
        a = np.array(items, dtype=np.int64).reshape(-1, 3)
        out[kind] = (a[:, 0], a[:, 1], a[:, 2])
    out["pub"] = (np.array([s for s, _ in pubs], dtype=np.int64), [n for _, n in pubs])
    out["alpha"] = alpha_slot
    b = np.array(beta, dtype=np.int64).reshape(-1, 2)
    out["beta"] = (b[:, 0], b[:, 1])
    return out


def ext_powers(x, n: int) -> np.ndarray:
    """``x^0 .. x^(n-1)`` of an ``Ext`` as ``uint64[n, 4]`` (log2(n) vectorised products)."""
    out = np.zeros((max(n, 1), 4), dtype=np.uint64)
    out[0, 0] = 1
    have = 1
    step = np.array(x.c, dtype=np.uint64)[None, :]  # x^have
    while have < n:
        take = min(have, n - have)
        out[have:have + take] = ext_mul(out[:take], np.broadcast_to(step, (take, 4)))
        have += take
        step = ext_mul(step, step)
    return out[:n]
