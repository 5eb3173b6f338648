"""Typed table columns: each table declares its columns once, as a class whose attributes are columns.

    class AluCols(Columns):
        is_add = Col()               # one column, named after the attribute
        x = Col(4)                   # x0..x3, read as a tuple
        d = Col(names=[("d0_lo", "d0_hi"), ("d1_lo", "d1_hi")])   # explicit names, nested as written

The declaration order is the column order, which fixes the trace layout and so the proof bytes. The same
declaration gives, for the constraints, DSL expressions (``AluCols.exprs(t).x[0]``, ``.next`` as usual) and,
for the fill, named arrays (``v = AluCols.values(); v.c_lo = ...; v.assemble(n, height)``) or named views of an
existing trace (``AluCols.view(main).clk[pad] = ...``). A misspelt column is an AttributeError (and a name a
linter or type checker sees), not a KeyError found when that line first runs; an assignment to an undeclared
name is refused the same way.

``fields = Include(Other)`` inlines another declaration's columns at that place (the CPU embeds the program's
decoded fields): each is an attribute, and ``fields`` reads them all as a tuple; a subclass appends its own columns after its base's (the CPU of a segment). Preprocessed columns are
declared with ``Col(fixed=True)`` and numbered apart from the main ones, as the DSL numbers them.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np


class Col:
    """A declared column, or a group of columns read and written as a (possibly nested) tuple."""

    def __init__(self, n: int | None = None, *, names: Sequence | None = None, fixed: bool = False) -> None:
        if n is not None and names is not None:
            raise TypeError("give a count or names, not both")
        self.n, self.names, self.fixed = n, names, fixed
        self.attr = ""
        self.shape: Any = None  # a str (one column) or nested tuples of str (a group)

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr
        if self.names is not None:
            self.shape = _freeze(self.names)
        elif self.n is not None:
            self.shape = tuple(f"{attr}{i}" for i in range(self.n))
        else:
            self.shape = attr

    def flat(self) -> list[str]:
        return list(_leaves(self.shape))

    def __get__(self, obj: "Columns | None", owner: type | None = None) -> Any:
        if obj is None:
            return self
        return _map(self.shape, obj._get)

    def __set__(self, obj: "Columns", value: Any) -> None:
        if isinstance(self.shape, str):
            obj._set(self.shape, value)
            return
        names, values = list(_leaves(self.shape)), list(_leaves_of(self.shape, value))
        for name, v in zip(names, values):
            obj._set(name, v)


class Include:
    """Inline every column of another declaration here (its attributes become this class's); ``fixed``: as
    preprocessed (True) or main (False) columns, whatever the other declaration says."""

    def __init__(self, other: type["Columns"], *, fixed: bool | None = None) -> None:
        self.other, self.fixed = other, fixed
        self.shape = tuple(c.shape for c in other._cols)

    def __get__(self, obj: "Columns | None", owner: type | None = None) -> Any:
        """All the included columns, in order (each column also stays an attribute of its own)."""
        return self if obj is None else _map(self.shape, obj._get)

    def __set__(self, obj: "Columns", value: Any) -> None:
        for name, v in zip(_leaves(self.shape), _leaves_of(self.shape, value)):
            obj._set(name, v)

    def columns(self) -> list[Col]:
        out = []
        for c in self.other._cols:
            copy = Col(fixed=c.fixed if self.fixed is None else self.fixed)
            copy.attr, copy.shape = c.attr, c.shape
            out.append(copy)
        return out


class Columns:
    """Base of a table's column declaration. Class attributes: ``NAMES`` (main columns, in order), ``FIXED``
    (preprocessed columns, in order), ``INDEX`` (name -> position among its kind)."""

    NAMES: tuple[str, ...] = ()
    FIXED: tuple[str, ...] = ()
    INDEX: dict[str, int] = {}
    _cols: tuple[Col, ...] = ()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cols = list(cls.__mro__[1]._cols) if issubclass(cls.__mro__[1], Columns) else []
        for attr, value in list(vars(cls).items()):
            if isinstance(value, Include):
                for c in value.columns():
                    setattr(cls, c.attr, c)
                    cols.append(c)
            elif isinstance(value, Col):
                cols.append(value)
        cls._cols = tuple(cols)
        cls.NAMES = tuple(n for c in cols if not c.fixed for n in c.flat())
        cls.FIXED = tuple(n for c in cols if c.fixed for n in c.flat())
        for names in (cls.NAMES, cls.FIXED):
            if len(set(names)) != len(names):
                raise TypeError(f"{cls.__name__}: duplicate column names")
        cls.INDEX = {**{n: i for i, n in enumerate(cls.NAMES)}, **{n: i for i, n in enumerate(cls.FIXED)}}

    def __init__(self, get, set_=None) -> None:
        object.__setattr__(self, "_get", get)
        object.__setattr__(self, "_set", set_ or self._read_only)

    def __setattr__(self, name: str, value: Any) -> None:
        if not isinstance(getattr(type(self), name, None), (Col, Include)):
            raise AttributeError(f"{type(self).__name__} declares no column {name!r}")
        object.__setattr__(self, name, value)

    @staticmethod
    def _read_only(name: str, value: Any) -> None:
        raise AttributeError(f"column {name!r} is read-only here")

    # ---- the three ways to hold a table's columns
    @classmethod
    def exprs(cls, t) -> "Columns":
        """Declare every column on the DSL table ``t`` (in order) and return their expressions."""
        e = {n: t.main(n) for n in cls.NAMES}
        e.update({n: t.fixed(n) for n in cls.FIXED})
        return cls(e.__getitem__)

    @classmethod
    def values(cls) -> "ColumnValues":
        """An empty set of fill arrays (an unset column is zero): assign columns, then ``assemble``."""
        return ColumnValues(cls)

    @classmethod
    def view(cls, trace: np.ndarray, *, fixed: bool = False) -> "Columns":
        """Named column views of a trace uint32[h, len(NAMES)] (or of the fixed trace): reads and writes go to it."""
        index = {n: i for i, n in enumerate(cls.FIXED if fixed else cls.NAMES)}

        def put(name: str, value: Any) -> None:
            trace[:, index[name]] = value

        return cls(lambda name: trace[:, index[name]], put)


class ColumnValues:
    """Named fill arrays of one table (any integer dtype, negatives allowed: ``assemble`` reduces mod p)."""

    def __init__(self, cls: type[Columns]) -> None:
        store: dict[str, Any] = {}

        def get(name: str) -> Any:
            if name not in store:
                raise AttributeError(f"column {name!r} has not been filled yet")
            return store[name]

        self.cols = cls(get, store.__setitem__)
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cols, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("cols", "store"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.cols, name, value)

    def ordered(self) -> list:
        """The arrays in column order (None for a column never set: zero)."""
        return [self.store.get(n) for n in type(self.cols).NAMES]

    def assemble(self, n: int, height: int, out: np.ndarray | None = None) -> np.ndarray:
        """The canonical trace uint32[height, len(NAMES)]: rows n.. are zero (inert padding)."""
        from zkvm.circuit.lookups import trace_rows

        return trace_rows(self.ordered(), n, height, out=out)


def _freeze(names: Any) -> Any:
    return names if isinstance(names, str) else tuple(_freeze(x) for x in names)


def _leaves(shape: Any) -> Iterator[str]:
    if isinstance(shape, str):
        yield shape
    else:
        for s in shape:
            yield from _leaves(s)


def _leaves_of(shape: Any, value: Any) -> Iterator[Any]:
    if isinstance(shape, str):
        yield value
        return
    if len(value) != len(shape):
        raise ValueError(f"a group of {len(shape)} columns given {len(value)} values")
    for s, v in zip(shape, value):
        yield from _leaves_of(s, v)


def _map(shape: Any, fn) -> Any:
    return fn(shape) if isinstance(shape, str) else tuple(_map(s, fn) for s in shape)
