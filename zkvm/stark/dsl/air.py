"""The constraint DSL: tables, columns, constraints and bus interactions, written once.

An AIR is a list of :class:`Table` s plus named public inputs::

    t = Table("fib")
    a, b = t.main("a"), t.main("b")
    t.transition("step_a", a.next - b)
    t.transition("step_b", b.next - (a + b))
    air = Air("fib", [t], publics=["a0", "out"])
    t.first("start", a - air.public("a0"))
    t.last("end", b - air.public("out"))

The same :class:`Expr` DAG serves three consumers through :func:`evaluate` and an ``ops`` backend:
the trace checker (``check.py``, numpy arrays over the trace), the prover's quotient (numpy arrays over the
low-degree extension, processed in row blocks) and the verifier (scalars in GF(p^4) at the out-of-domain
point). There is no second hand-written copy of any constraint.

Degree rule (checked by :meth:`Air.compile`, which the prover, verifier and checker call):

* ``always`` and ``transition`` constraints: degree <= 3;
* ``first`` and ``last`` constraints: degree <= 2 (they are divided by a degree-1 vanishing polynomial only,
  so a degree-3 boundary constraint would not fit the two quotient chunks every table has);
* bus interactions (LogUp): every tuple entry has degree <= 2 and the multiplicity degree <= 3. The prover
  adds one extension-field auxiliary column per interaction, or per *pair* of consecutive interactions of
  the same table when ``1 + deg(t1) + deg(t2) <= 3`` and ``deg(m1) + deg(t2) <= 3`` and
  ``deg(m2) + deg(t1) <= 3`` (``deg(t)`` = the largest degree in the tuple, ``m`` the multiplicity); a single
  interaction needs ``1 + deg(t) <= 3``. So: linear tuples pair up when their multiplicities have degree
  <= 2; a degree-2 tuple sits alone. Plus one running-sum column per table with interactions.

LogUp: an interaction on bus ``b`` with tuple ``(v_1..v_k)`` and multiplicity ``m`` contributes
``± m / (alpha - (id_b + beta·v_1 + ... + beta^k·v_k))`` (``+`` for send, ``-`` for receive), where ``id_b``
is 1 + the index of ``b`` among the AIR's sorted bus names and ``alpha, beta`` are random extension elements.
Every bus must use one tuple length everywhere, so tuples of distinct buses (and of the same bus) can only
collide with negligible probability. Public terms ``(bus, tuple, mult)`` given to prover and verifier count
as sends that the verifier adds itself. The sum over all rows of all tables plus the public terms must be 0.
Multiplicities are field elements: an AIR must keep the true (integer) multiplicity of any tuple far below p.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence, Union

from zkvm.field.babybear import P
from zkvm.stark.errors import AirError

MAX_DEGREE = 3
MAX_BOUNDARY_DEGREE = 2
KINDS = ("always", "transition", "first", "last")

ExprLike = Union["Expr", int]


class Expr:
    """A node of the expression DAG. Build them with column accessors, ``+ - *`` and ints (taken mod p)."""

    __slots__ = ("op", "args", "degree")

    def __init__(self, op: str, args: tuple, degree: int) -> None:
        self.op, self.args, self.degree = op, args, degree

    # ---- construction
    @staticmethod
    def lift(v: ExprLike) -> "Expr":
        if isinstance(v, Expr):
            return v
        if isinstance(v, bool) or not isinstance(v, int):
            raise AirError(f"cannot use {type(v).__name__} in a constraint expression (only Expr and int)")
        return Expr("const", (v % P,), 0)

    def __add__(self, o: ExprLike) -> "Expr":
        o = Expr.lift(o)
        return Expr("add", (self, o), max(self.degree, o.degree))

    def __radd__(self, o: ExprLike) -> "Expr":
        return Expr.lift(o) + self

    def __sub__(self, o: ExprLike) -> "Expr":
        o = Expr.lift(o)
        return Expr("sub", (self, o), max(self.degree, o.degree))

    def __rsub__(self, o: ExprLike) -> "Expr":
        return Expr.lift(o) - self

    def __mul__(self, o: ExprLike) -> "Expr":
        o = Expr.lift(o)
        return Expr("mul", (self, o), self.degree + o.degree)

    def __rmul__(self, o: ExprLike) -> "Expr":
        return Expr.lift(o) * self

    def __neg__(self) -> "Expr":
        return Expr("neg", (self,), self.degree)

    def __bool__(self) -> bool:  # `if expr:` / `expr == 0` would silently be wrong
        raise AirError("an Expr has no truth value; write constraints as expressions that must equal zero")

    @property
    def next(self) -> "Expr":
        """The same expression evaluated on the next row (row i+1; wraps to row 0 on the last row)."""
        memo: dict[int, Expr] = {}

        def shift(e: Expr) -> Expr:
            if id(e) in memo:
                return memo[id(e)]
            if e.op == "col":
                table, kind, index, name, is_next = e.args
                if is_next:
                    raise AirError(f"column {name!r}: .next of a .next is not supported")
                out = Expr("col", (table, kind, index, name, True), 1)
            elif e.op in ("const", "pub"):
                out = e
            else:
                out = Expr(e.op, tuple(shift(a) for a in e.args), e.degree)
            memo[id(e)] = out
            return out

        return shift(self)

    def __repr__(self) -> str:
        return format_expr(self)


def format_expr(e: Expr, depth: int = 0) -> str:
    if depth > 8:
        return "..."
    if e.op == "const":
        return str(e.args[0])
    if e.op == "col":
        return e.args[3] + (".next" if e.args[4] else "")
    if e.op == "pub":
        return f"public({e.args[0]})"
    if e.op == "neg":
        return f"-({format_expr(e.args[0], depth + 1)})"
    sym = {"add": "+", "sub": "-", "mul": "*"}[e.op]
    return f"({format_expr(e.args[0], depth + 1)} {sym} {format_expr(e.args[1], depth + 1)})"


_LEAF_OPS = frozenset(("const", "col", "pub"))


def _walk(roots: Iterable[Expr]) -> list[Expr]:
    """Every distinct node reachable from ``roots``, children before parents (iterative: no recursion limit)."""
    order: list[Expr] = []
    seen: set[int] = set()
    stack: list[tuple[Expr, bool]] = [(r, False) for r in roots]
    pop, push, mark, emit = stack.pop, stack.append, seen.add, order.append  # hot: every AIR build and compile
    while stack:
        node, expanded = pop()
        nid = id(node)
        if nid in seen:
            continue
        if expanded or node.op in _LEAF_OPS:
            mark(nid)
            emit(node)
            continue
        push((node, True))
        for child in node.args:
            if id(child) not in seen:
                push((child, False))
    return order


# ---------------------------------------------------------------- evaluation (one evaluator, pluggable ops)

class Ops:
    """Arithmetic backend for :func:`evaluate`. Values are whatever the backend likes; ints are constants."""

    def add(self, a, b): raise NotImplementedError
    def sub(self, a, b): raise NotImplementedError
    def mul(self, a, b): raise NotImplementedError
    def neg(self, a): raise NotImplementedError


def evaluate(roots: Sequence[Expr], ops: Ops, column: Callable[[str, int, bool], object],
             public: Callable[[str], object]) -> list:
    """Evaluate expressions sharing one DAG walk.

    ``column(kind, index, is_next)`` returns a column's value ("main"/"fixed"), ``public(name)`` a public input's;
    constants are passed to ``ops`` as Python ints in [0, p).
    """
    values: dict[int, object] = {}
    for node in _walk(roots):
        op, args = node.op, node.args
        if op == "const":
            v = args[0]
        elif op == "col":
            v = column(args[1], args[2], args[4])
        elif op == "pub":
            v = public(args[0])
        elif op == "add":
            v = ops.add(values[id(args[0])], values[id(args[1])])
        elif op == "sub":
            v = ops.sub(values[id(args[0])], values[id(args[1])])
        elif op == "mul":
            v = ops.mul(values[id(args[0])], values[id(args[1])])
        elif op == "neg":
            v = ops.neg(values[id(args[0])])
        else:  # pragma: no cover - nodes are only built by this module
            raise AirError(f"unknown expression node {op!r}")
        values[id(node)] = v
    return [values[id(r)] for r in roots]


# ---------------------------------------------------------------- tables and the AIR

@dataclass(frozen=True)
class Constraint:
    kind: str  # one of KINDS
    name: str
    expr: Expr


@dataclass(frozen=True)
class Interaction:
    bus: str
    values: tuple[Expr, ...]
    mult: Expr
    sign: int  # +1 send, -1 receive

    @property
    def tuple_degree(self) -> int:
        return max((v.degree for v in self.values), default=0)


class Table:
    """One table of the AIR: all its columns share one power-of-two height.

    ``optional``: the table may be *absent* from a proof (height 0: nothing committed, opened or summed; the
    prover leaves out an optional table whose interactions all have multiplicity 0, ``traces.silent``). Sound
    when the table admits a padding-only trace (every constraint holds, every multiplicity is 0): an absent
    table is then exactly such a trace, it sends and receives nothing, and anything provable with it absent is
    provable with it present. The author of the table vouches for that (the circuit tests it per table); the
    DSL refuses what it can see: an optional table's boundary (first/last) constraints may not use a public
    input, since such a constraint states something about the run that needs the row to exist."""

    def __init__(self, name: str, optional: bool = False) -> None:
        if not isinstance(name, str) or not name:
            raise AirError("a table needs a non-empty name")
        self.name = name
        self.optional = bool(optional)
        self.main_names: list[str] = []
        self.fixed_names: list[str] = []
        self.constraints: list[Constraint] = []
        self.interactions: list[Interaction] = []
        self._names: set[str] = set()
        self._constraint_names: set[str] = set()
        self._checked: dict[int, Expr] = {}  # id -> node: subexpressions whose columns are known to be ours

    # ---- columns
    def _column(self, kind: str, name: str, names: list[str]) -> Expr:
        if not isinstance(name, str) or not name:
            raise AirError(f"table {self.name!r}: column names must be non-empty strings")
        if name in self._names:
            raise AirError(f"table {self.name!r}: duplicate column name {name!r}")
        self._names.add(name)
        names.append(name)
        return Expr("col", (self.name, kind, len(names) - 1, name, False), 1)

    def main(self, name: str) -> Expr:
        """A witness column (base field), filled by the prover."""
        return self._column("main", name, self.main_names)

    def fixed(self, name: str) -> Expr:
        """A preprocessed column (base field), committed once in ``fixed_digest``."""
        return self._column("fixed", name, self.fixed_names)

    # ---- constraints
    def _add(self, kind: str, name: str, expr: ExprLike) -> None:
        if not isinstance(name, str) or not name:
            raise AirError(f"table {self.name!r}: constraint names must be non-empty strings")
        if name in self._constraint_names:
            raise AirError(f"table {self.name!r}: duplicate constraint name {name!r}")
        expr = Expr.lift(expr)
        self._check_columns(expr, f"constraint {name!r}")
        self._constraint_names.add(name)
        self.constraints.append(Constraint(kind, name, expr))

    def always(self, name: str, expr: ExprLike) -> None:
        """``expr == 0`` on every row."""
        self._add("always", name, expr)

    def transition(self, name: str, expr: ExprLike) -> None:
        """``expr == 0`` on rows 0..n-2 (``.next`` refers to row i+1)."""
        self._add("transition", name, expr)

    def first(self, name: str, expr: ExprLike) -> None:
        """``expr == 0`` on row 0."""
        self._add("first", name, expr)

    def last(self, name: str, expr: ExprLike) -> None:
        """``expr == 0`` on row n-1."""
        self._add("last", name, expr)

    # ---- buses
    def _interact(self, bus: str, values: Sequence[ExprLike], mult: ExprLike, sign: int) -> None:
        if not isinstance(bus, str) or not bus:
            raise AirError(f"table {self.name!r}: bus names must be non-empty strings")
        vals = tuple(Expr.lift(v) for v in values)
        if not vals:
            raise AirError(f"table {self.name!r}: bus {bus!r}: empty tuple")
        m = Expr.lift(mult)
        for v in vals + (m,):
            self._check_columns(v, f"bus {bus!r}")
            if any(n.op == "col" and n.args[4] for n in _walk([v])):
                raise AirError(f"table {self.name!r}: bus {bus!r}: .next is not allowed in bus tuples")
        self.interactions.append(Interaction(bus, vals, m, sign))

    def send(self, bus: str, values: Sequence[ExprLike], mult: ExprLike = 1) -> None:
        """Adds ``mult / (alpha - fingerprint(values))`` to the bus on every row."""
        self._interact(bus, values, mult, +1)

    def receive(self, bus: str, values: Sequence[ExprLike], mult: ExprLike = 1) -> None:
        """Adds ``-mult / (alpha - fingerprint(values))`` to the bus on every row."""
        self._interact(bus, values, mult, -1)

    def copy(self) -> "Table":
        """An independent table with the same columns, constraints and interactions, to extend without touching
        this one (expressions, constraints and interactions are immutable, so they are shared)."""
        t = Table(self.name, self.optional)
        t.main_names, t.fixed_names = list(self.main_names), list(self.fixed_names)
        t.constraints, t.interactions = list(self.constraints), list(self.interactions)
        t._names, t._constraint_names = set(self._names), set(self._constraint_names)
        t._checked = dict(self._checked)
        return t

    def _check_columns(self, expr: Expr, what: str) -> None:
        # Constraints share subexpressions (gadgets build on each other): each node is checked once per table.
        checked, new = self._checked, {}
        stack = [expr]
        while stack:
            node = stack.pop()
            nid = id(node)
            if checked.get(nid) is node or nid in new:
                continue
            if node.op == "col":
                if node.args[0] != self.name:
                    raise AirError(f"table {self.name!r}: {what} uses column {node.args[3]!r} of table "
                                   f"{node.args[0]!r}")
            elif node.op not in _LEAF_OPS:
                stack.extend(node.args)
            new[nid] = node
        checked.update(new)  # only once the whole expression passed


@dataclass
class CompiledTable:
    """A table plus what the protocol derives from it: LogUp groups, aux layout, which columns need ``next``."""

    table: Table
    index: int
    groups: list[list[Interaction]]
    next_main: list[int]
    next_fixed: list[int]

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def n_main(self) -> int:
        return len(self.table.main_names)

    @property
    def n_fixed(self) -> int:
        return len(self.table.fixed_names)

    @property
    def has_bus(self) -> bool:
        return bool(self.groups)

    @property
    def optional(self) -> bool:
        """May be absent from a proof (``Table.optional``)."""
        return self.table.optional

    @property
    def n_aux_ext(self) -> int:
        """Extension columns of the aux trace: one per LogUp group, then the running sum."""
        return len(self.groups) + 1 if self.groups else 0

    @property
    def n_aux(self) -> int:
        return 4 * self.n_aux_ext

    @property
    def constraint_names(self) -> list[tuple[str, str]]:
        """(kind, name) of every constraint in the canonical order used for the random combination."""
        out = [(c.kind, c.name) for c in self.table.constraints]
        if self.groups:
            out += [("always", f"logup_group_{g}") for g in range(len(self.groups))]
            out += [("first", "logup_sum_first"), ("transition", "logup_sum_step"), ("last", "logup_sum_last")]
        return out


@dataclass
class CompiledAir:
    air: "Air"
    tables: list[CompiledTable]
    bus_ids: dict[str, int]
    bus_arity: dict[str, int]
    zk_blinded: bool = False  # augmented by blinding.compiled_air (zk: the LogUp final sums are blinded)
    _digest: bytes | None = field(default=None, repr=False)
    digest_of: "CompiledAir | None" = field(default=None, repr=False)  # whose digest this one is (zk augmented)

    @property
    def digest(self) -> bytes:
        """SHA-256 of the AIR's canonical description (``_air_digest``), made on first use: serialising every
        constraint is a large part of a verifier's start-up, and an augmented AIR takes its base's digest."""
        if self._digest is None:
            self._digest = self.digest_of.digest if self.digest_of is not None else _air_digest(self.air, self)
        return self._digest

    @property
    def has_digest(self) -> bool:
        return self._digest is not None

    @digest.setter
    def digest(self, value: bytes) -> None:
        self._digest = bytes(value)


class Air:
    """A multi-table AIR with named public inputs (base-field integers)."""

    def __init__(self, name: str, tables: Sequence[Table], publics: Sequence[str] = (), *,
                 code_defined: bool = False) -> None:
        """``code_defined``: this AIR is a function of the package's code alone (no run-time parameter changes a
        constraint), so a verifier may keep what it derives from it on disk (``verifying/air_cache.py``)."""
        if not tables:
            raise AirError("an AIR needs at least one table")
        names = [t.name for t in tables]
        if len(set(names)) != len(names):
            raise AirError(f"duplicate table names in {names}")
        if len(set(publics)) != len(publics):
            raise AirError(f"duplicate public names in {list(publics)}")
        self.name = name
        self.code_defined = code_defined
        self.tables = list(tables)
        self.publics = list(publics)
        self._public_index = {p: i for i, p in enumerate(self.publics)}
        self._compiled: CompiledAir | None = None
        self._compiled_key: tuple | None = None

    def public(self, name: str) -> Expr:
        """A public input as a constant expression (usable in any constraint)."""
        if name not in self._public_index:
            raise AirError(f"AIR {self.name!r} has no public input {name!r} (declared: {self.publics})")
        return Expr("pub", (name,), 0)

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise AirError(f"AIR {self.name!r} has no table {name!r}")

    def compile(self) -> CompiledAir:
        """Validate degrees and buses and derive the aux layout. Cached until tables change."""
        key = tuple((len(t.main_names), len(t.fixed_names), len(t.constraints), len(t.interactions), t.optional)
                    for t in self.tables)
        if self._compiled is not None and self._compiled_key == key:
            return self._compiled
        arity: dict[str, int] = {}
        compiled = []
        for ti, t in enumerate(self.tables):
            for c in t.constraints:
                limit = MAX_DEGREE if c.kind in ("always", "transition") else MAX_BOUNDARY_DEGREE
                if c.expr.degree > limit:
                    raise AirError(f"table {t.name!r}: {c.kind} constraint {c.name!r} has degree {c.expr.degree} "
                                   f"> {limit}")
                if t.optional and c.kind in ("first", "last") and any(n.op == "pub" for n in _walk([c.expr])):
                    raise AirError(f"table {t.name!r} is optional, but its {c.kind} constraint {c.name!r} uses a "
                                   "public input (a statement that needs the row)")
            for it in t.interactions:
                if arity.setdefault(it.bus, len(it.values)) != len(it.values):
                    raise AirError(f"bus {it.bus!r}: tuples of length {arity[it.bus]} and {len(it.values)}")
                if it.tuple_degree > MAX_DEGREE - 1 or it.mult.degree > MAX_DEGREE:
                    raise AirError(f"table {t.name!r}: bus {it.bus!r}: tuple degree {it.tuple_degree} (max 2) / "
                                   f"multiplicity degree {it.mult.degree} (max 3)")
            next_main, next_fixed, pubs = _constraint_leaves(t.constraints)
            for name in pubs:  # publics used in constraints must be declared on this AIR
                if name not in self._public_index:
                    raise AirError(f"table {t.name!r} uses public {name!r} not declared on {self.name!r}")
            compiled.append(CompiledTable(t, ti, _group_interactions(t.interactions), next_main, next_fixed))
        bus_ids = {b: i + 1 for i, b in enumerate(sorted(arity))}
        out = CompiledAir(self, compiled, bus_ids, arity)
        self._compiled, self._compiled_key = out, key
        return out


#: id of a table's constraint list's expressions -> (those expressions, their leaves): a zk-augmented AIR copies
#: its base's tables with the same constraints, so each set is walked once per process (the entry keeps the
#: expressions alive, so their ids cannot be reused).
_LEAVES: dict[tuple, tuple] = {}


def _constraint_leaves(constraints) -> tuple[list[int], list[int], set[str]]:
    """(main columns read at the next row, fixed columns read at the next row, public names) of constraints."""
    exprs = tuple(c.expr for c in constraints)
    key = tuple(map(id, exprs))
    hit = _LEAVES.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], exprs)):
        return hit[1]
    next_main: set[int] = set()
    next_fixed: set[int] = set()
    pubs: set[str] = set()
    for node in _walk(exprs):
        if node.op == "col" and node.args[4]:
            (next_main if node.args[1] == "main" else next_fixed).add(node.args[2])
        elif node.op == "pub":
            pubs.add(node.args[0])
    out = (sorted(next_main), sorted(next_fixed), pubs)
    if len(_LEAVES) >= 1 << 12:  # bounded, like _CANONICAL
        _LEAVES.clear()
    _LEAVES[key] = (exprs, out)
    return out


def _pair_ok(a: Interaction, b: Interaction) -> bool:
    da, db = a.tuple_degree, b.tuple_degree
    return 1 + da + db <= MAX_DEGREE and a.mult.degree + db <= MAX_DEGREE and b.mult.degree + da <= MAX_DEGREE


def _group_interactions(its: list[Interaction]) -> list[list[Interaction]]:
    groups: list[list[Interaction]] = []
    i = 0
    while i < len(its):
        if i + 1 < len(its) and _pair_ok(its[i], its[i + 1]):
            groups.append([its[i], its[i + 1]])
            i += 2
        else:
            groups.append([its[i]])
            i += 1
    return groups


def _air_digest(air: Air, compiled: CompiledAir) -> bytes:
    """SHA-256 of a canonical description of the AIR, absorbed by the transcript (binds the statement)."""
    import hashlib

    h = hashlib.sha256()

    def put(s: str) -> None:
        b = s.encode()
        h.update(len(b).to_bytes(4, "little") + b)

    put("zkvm-air-v1")
    put(air.name)
    put(",".join(air.publics))
    for ct in compiled.tables:
        t = ct.table
        put(t.name + (":optional" if t.optional else ""))  # which tables may be absent is part of the statement
        put(",".join(t.main_names))
        put(",".join(t.fixed_names))
        for c in t.constraints:
            put(f"{c.kind}:{c.name}:{_canonical(c.expr)}")
        for it in t.interactions:
            put(f"bus:{it.bus}:{it.sign}:{_canonical(it.mult)}:" + ";".join(_canonical(v) for v in it.values))
    return h.digest()


#: id(expr) -> (expr, its canonical string): an AIR and its zk-augmented copy share every table's expressions,
#: and expressions are immutable, so each is serialised once per process (the entry keeps ``expr`` alive, so its
#: id cannot be reused by another object).
_CANONICAL: dict[int, tuple[Expr, str]] = {}


def _canonical(e: Expr) -> str:
    """A canonical string of a DAG (shared nodes are numbered, so this stays linear in the DAG size)."""
    hit = _CANONICAL.get(id(e))
    if hit is not None and hit[0] is e:
        return hit[1]
    out = _canonical_uncached(e)
    if len(_CANONICAL) >= 1 << 16:  # bounded: processes that build many AIRs (tests) do not accumulate them
        _CANONICAL.clear()
    _CANONICAL[id(e)] = (e, out)
    return out


def _canonical_uncached(e: Expr) -> str:
    ids: dict[int, int] = {}
    parts = []
    for node in _walk([e]):
        if node.op == "const":
            s = f"c{node.args[0]}"
        elif node.op == "col":
            s = f"{node.args[1][0]}{node.args[2]}{'n' if node.args[4] else ''}"
        elif node.op == "pub":
            s = f"p{node.args[0]}"
        else:
            s = node.op + "(" + ",".join(str(ids[id(a)]) for a in node.args) + ")"
        ids[id(node)] = len(parts)
        parts.append(s)
    return "|".join(parts)
