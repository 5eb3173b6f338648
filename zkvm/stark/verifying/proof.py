"""The proof object and its byte format (versioned, explicit little-endian, length-prefixed, never pickle).

Layout (``u8/u16/u32/u64`` little-endian; ``vec<T>`` = ``u32`` count then the items; ``felt`` = ``u32`` < p;
``ext`` = 4 felts; ``digest`` = 32 bytes; ``opening`` = ``vec<felt>`` row (then its salt under zk); ``batch`` =
``vec<vec<felt>>`` rows (one per matrix of a phase tree) then, under zk, the leaf's salt)::

    magic "ZKSTARK\0" | u16 version | options (7 bytes, see options.py)
    vec<u8>      log_heights              one per table, AIR order; 0 = absent (an optional table with no rows:
                                          nothing of it below, shape.py)
    vec<u8>      fixed_log_heights        every table with fixed columns, present or absent: the height its fixed
                                          columns are committed at (bound by the fixed digest and the image id;
                                          a present table's must equal its log_heights entry)
    vec<digest>  fixed_roots              every table with fixed columns (one tree each: they define the image id)
    vec<digest>  main_roots               one mixed tree over every table's main LDE (none if no main columns)
    vec<digest>  aux_roots                one mixed tree over every bus table's aux LDE (none without buses)
    vec<ext>     final_sums               tables with bus interactions
    vec<digest>  quotient_roots           one mixed tree over every table's quotient chunks (+ zk: the FRI mask)
    vec<vec<ext>> ood_z, ood_zg           per table: values at zeta and at zeta·g
    vec<digest>  fri_roots
    vec<ext>     final_poly
    u64          pow_nonce
    vec<u32>     query_indices            positions in the largest LDE domain (re-derived and compared last)
    vec<query>   queries: vec<opening> (per present table with fixed columns, its fixed tree)
                          vec<batch>   (per phase tree: main, aux, quotient - those that exist)
                          vec<opening> (per committed FRI layer)
    vec<vec<digest>> auth_paths           per tree (fixed trees, phase trees, FRI layers, in that order): the
                                          siblings all queries of that tree need, each sent once

A phase tree (``merkle_verify``: mixed-height trees) holds one matrix per table of that phase in AIR order,
the quotient tree the FRI mask matrix last under zk; a batch opening has the row ``q mod h`` of each matrix
(``q`` the query index, ``h`` the matrix height), which all lie on one path. The paths of all queries of a
tree are merged (``merkle_verify.multiproof_nodes``: walking up from the opened leaves, a sibling that is
itself on an opened path is not sent; the others follow level by level, by increasing index).

With ``zk`` set in the options every salt is sent (``u8`` length then the bytes): after the row of an opening
(always empty: fixed and FRI trees are unsalted, zk.py 1.), after the rows of a batch (only a phase tree's leaves are salted).
Proofs without zk have exactly the layout above without any salt fields.

Parsing (``Proof.from_bytes(data, air)``, what verifiers do): the header (options, heights) is read, every
other count is derived from the AIR, the options and the heights (``shape.py``), the bytes left must be
exactly what that shape needs (checked before any opening is read), and each count in the bytes must equal
the derived one. So a proof of N bytes costs O(N) to parse whatever its counts say. Every field element must
be canonical. The verifier checks a ``Proof`` object against the same shape.
"""

from __future__ import annotations

import operator
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from zkvm.field.babybear import P
from zkvm.stark.errors import MalformedProof
from zkvm.stark.verifying.options import ENCODED_SIZE, ProofOptions
from zkvm.stark.verifying.shape import FRI_MASK, ProofShape, proof_shape

if TYPE_CHECKING:
    from zkvm.stark.dsl.air import Air

MAGIC = b"ZKSTARK\x00"
VERSION = 4  # 2: one mixed-height tree per phase (main, aux, quotient + FRI mask); 3: merged paths; 4: absent tables
DIGEST = 32
#: More table heights than any AIR has: the header's count is refused beyond this before anything is read.
MAX_TABLES = 255

ExtT = tuple[int, int, int, int]


@dataclass
class Opening:
    """One query's leaf of a single-matrix tree (its path is in ``Proof.auth_paths``)."""

    row: list[int]
    salt: bytes = b""


@dataclass
class BatchOpening:
    """One query's opening of a phase tree: a row per matrix, the leaf's salt (zk)."""

    rows: list[list[int]]
    salt: bytes = b""


@dataclass
class QueryProof:
    fixed: list[Opening]        # per table with fixed columns
    phases: list[BatchOpening]  # main, aux, quotient trees (those that exist)
    fri: list[Opening]          # per committed FRI layer


@dataclass
class Proof:
    options: ProofOptions
    log_heights: list[int]
    fixed_roots: list[bytes]
    main_roots: list[bytes]
    aux_roots: list[bytes]
    final_sums: list[ExtT]
    quotient_roots: list[bytes]
    ood_z: list[list[ExtT]]
    ood_zg: list[list[ExtT]]
    fri_roots: list[bytes]
    final_poly: list[ExtT]
    pow_nonce: int
    query_indices: list[int] = field(default_factory=list)
    queries: list[QueryProof] = field(default_factory=list)
    auth_paths: list[list[bytes]] = field(default_factory=list)
    version: int = VERSION
    fixed_log_heights: list[int] = field(default_factory=list)  # per table with fixed columns (absent ones too)

    def to_bytes(self) -> bytes:
        w = _Writer(self.options.zk)
        w.raw(MAGIC)
        w.u16(self.version)
        w.raw(self.options.to_bytes())
        w.vec(self.log_heights, w.u8)
        w.vec(self.fixed_log_heights, w.u8)
        w.vec(self.fixed_roots, w.digest)
        w.vec(self.main_roots, w.digest)
        w.vec(self.aux_roots, w.digest)
        w.vec(self.final_sums, w.ext)
        w.vec(self.quotient_roots, w.digest)
        w.vec(self.ood_z, lambda v: w.vec(v, w.ext))
        w.vec(self.ood_zg, lambda v: w.vec(v, w.ext))
        w.vec(self.fri_roots, w.digest)
        w.vec(self.final_poly, w.ext)
        w.u64(self.pow_nonce)
        w.vec(self.query_indices, w.u32)
        w.vec(self.queries, lambda q: (w.vec(q.fixed, w.opening), w.vec(q.phases, w.batch),
                                       w.vec(q.fri, w.opening)))
        w.vec(self.auth_paths, lambda path: w.vec(path, w.digest))
        return w.getvalue()

    @staticmethod
    def read_header(data: bytes) -> tuple[ProofOptions, list[int]]:
        """The options and table heights only (what a caller checks before the whole parse)."""
        r = _Reader(_as_bytes(data))
        return _read_header(r)

    @classmethod
    def from_bytes(cls, data: bytes, air: "Air | None" = None) -> "Proof":
        """Parse proof bytes. With ``air`` (every verifier passes it) each count is derived from the AIR, the
        options and the table heights (``shape.proof_shape``), the bytes left are checked to be exactly what
        that shape needs before any opening is read, then exactly that is read: hostile counts cost nothing.
        Without ``air`` (trusted bytes: tests, tools) counts are read from the bytes, each bounded by the
        bytes left."""
        r = _Reader(_as_bytes(data))
        options, log_heights = _read_header(r)
        if air is not None:
            return _read_shaped(r, proof_shape(air, options, log_heights))
        fixed_log_heights = r.vec(r.u8, 1)
        fixed_roots = r.vec(r.digest, DIGEST)
        main_roots = r.vec(r.digest, DIGEST)
        aux_roots = r.vec(r.digest, DIGEST)
        final_sums = r.vec(r.ext, 16)
        quotient_roots = r.vec(r.digest, DIGEST)
        ood_z = r.vec(lambda: r.vec(r.ext, 16), 4)
        ood_zg = r.vec(lambda: r.vec(r.ext, 16), 4)
        fri_roots = r.vec(r.digest, DIGEST)
        final_poly = r.vec(r.ext, 16)
        pow_nonce = r.u64()
        query_indices = r.vec(r.u32, 4)
        r.zk = options.zk
        # minimum encoded sizes: opening and batch 4 (+1 salt length under zk), query 12
        opening_min = 5 if options.zk else 4
        queries = r.vec(lambda: QueryProof(r.vec(r.opening, opening_min), r.vec(r.batch, opening_min),
                                           r.vec(r.opening, opening_min)), 12)
        auth_paths = r.vec(r.path, 4)
        if not r.at_end():
            raise MalformedProof("trailing bytes after the proof")
        return cls(options, log_heights, fixed_roots, main_roots, aux_roots, final_sums, quotient_roots, ood_z,
                   ood_zg, fri_roots, final_poly, pow_nonce, query_indices, queries, auth_paths, VERSION,
                   fixed_log_heights)


def _as_bytes(data) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MalformedProof("proof must be bytes")
    return bytes(data)


def _read_header(r: "_Reader") -> tuple[ProofOptions, list[int]]:
    if r.raw(len(MAGIC)) != MAGIC:
        raise MalformedProof("not a STARK proof (bad magic)")
    version = r.u16()
    if version != VERSION:
        raise MalformedProof(f"unsupported proof version {version} (this verifier reads {VERSION})")
    try:
        options = ProofOptions.from_bytes(r.raw(ENCODED_SIZE))
    except ValueError as e:  # ProofOptions.from_bytes's documented rejection of out-of-range fields
        raise MalformedProof(f"bad proof options: {e}") from None
    if r.remaining() < 4:
        raise MalformedProof("proof truncated")
    if r.peek_u32() > MAX_TABLES:
        raise MalformedProof(f"{r.peek_u32()} table heights: more than any AIR has ({MAX_TABLES})")
    return options, r.vec(r.u8, 1)


def _read_shaped(r: "_Reader", shape: ProofShape) -> Proof:
    """The rest of a proof after its header, every count as ``shape`` says (MalformedProof otherwise)."""
    opts = shape.options
    r.zk = opts.zk
    if r.remaining() < shape.head_bytes():
        raise MalformedProof(f"proof truncated: {r.remaining()} bytes after the header, its shape needs at least "
                             f"{shape.head_bytes()} before the openings")
    tables = shape.tables
    fixed_log_heights = r.exact(len(shape.committed_fixed), r.u8, "fixed heights")
    fixed_roots = r.exact(len(shape.committed_fixed), r.digest, "fixed roots")
    main_roots = r.exact(1 if "main" in shape.phases else 0, r.digest, "main roots")
    aux_roots = r.exact(1 if "aux" in shape.phases else 0, r.digest, "aux roots")
    final_sums = r.exact(shape.n_final_sums, r.ext, "final sums")
    quotient_roots = r.exact(1 if "quotient" in shape.phases else 0, r.digest, "quotient roots")
    r.count(len(tables), "OOD groups")
    ood_z = [r.exact_exts(nz, f"OOD values of {ct.name!r}") for ct, (nz, _) in zip(tables, shape.ood)]
    r.count(len(tables), "OOD-next groups")
    ood_zg = [r.exact_exts(nzg, f"OOD-next values of {ct.name!r}") for ct, (_, nzg) in zip(tables, shape.ood)]
    fri_roots = r.exact(len(shape.fri_sizes) - 1, r.digest, "FRI layers")
    final_poly = r.exact(shape.final_poly_len, r.ext, "final polynomial coefficients")
    pow_nonce = r.u64()
    query_indices = r.exact(opts.num_queries, r.u32, "query indices")
    if any(q >= shape.n_max for q in query_indices):
        raise MalformedProof("query index out of range")
    path_lengths = shape.path_lengths(query_indices)
    need = 4 + opts.num_queries * shape.query_bytes() + shape.paths_bytes(path_lengths)
    if r.remaining() != need:  # checked before reading (and allocating) any opening
        raise MalformedProof(f"the openings take {r.remaining()} bytes, the proof's shape needs {need}")
    fixed_widths = [ct.n_fixed for _, ct in shape.fixed_tables]
    fri_widths = shape.fri_widths

    # what each read is called in its error message, built once (not once per query and row)
    fixed_reads = [(w, f"fixed row width of {tables[t].name!r}") for (t, _), w in zip(shape.fixed_tables, fixed_widths)]
    phase_reads = [(f"{name} rows in a query", [(width, f"{name} row width of "
                                                 f"{'the FRI mask' if t == FRI_MASK else repr(tables[t].name)}")
                                                for t, _, width in mats], f"{name} leaf salt length")
                   for name, mats in shape.phases.items()]

    def query() -> QueryProof:
        fixed = [r.exact_opening(w, 0, what) for w, what in r.counted(fixed_reads, "fixed openings in a query")]
        phases = []
        for rows_what, reads, salt_what in r.counted(phase_reads, "phase openings in a query"):
            rows = [r.exact_row(width, what) for width, what in r.counted(reads, rows_what)]
            phases.append(BatchOpening(rows, r.exact_salt(shape.salt_len, salt_what)))
        fri_ = [r.exact_opening(w, 0, "FRI leaf width") for w in r.counted(fri_widths, "FRI openings in a query")]
        return QueryProof(fixed, phases, fri_)

    fast = _QueryLayout(fixed_widths, [[w for _, _, w in mats] for mats in shape.phases.values()], fri_widths,
                        shape.salt_len, opts.zk)

    def query_fast() -> QueryProof:
        """One read for the whole query when every count is as the shape says; otherwise the read above, from
        the same position, which raises the exact error."""
        start = r._pos
        q = fast.read(r._d, start)
        if q is None:
            return query()
        r._pos = start + fast.size
        return q

    r.count(opts.num_queries, "query openings")
    queries = [query_fast() for _ in range(opts.num_queries)]
    r.count(len(path_lengths), "authentication path lists")
    auth_paths = [r.exact_path(n, f"siblings of the {what}")
                  for n, (what, _, _) in zip(path_lengths, shape.trees(query_indices))]
    if not r.at_end():  # unreachable after the size check; kept so the parser's contract holds on its own
        raise MalformedProof("trailing bytes after the proof")
    return Proof(opts, list(shape.log_heights), fixed_roots, main_roots, aux_roots, final_sums, quotient_roots,
                 ood_z, ood_zg, fri_roots, final_poly, pow_nonce, query_indices, queries, auth_paths, VERSION,
                 fixed_log_heights)


class _Writer:
    def __init__(self, zk: bool = False) -> None:
        self._parts: list[bytes] = []
        self._zk = zk

    def raw(self, b: bytes) -> None:
        self._parts.append(bytes(b))

    def u8(self, v: int) -> None:
        self._parts.append(struct.pack("<B", v))

    def u16(self, v: int) -> None:
        self._parts.append(struct.pack("<H", v))

    def u32(self, v: int) -> None:
        self._parts.append(struct.pack("<I", v))

    def u64(self, v: int) -> None:
        self._parts.append(struct.pack("<Q", v))

    def felt(self, v: int) -> None:
        self._parts.append(struct.pack("<I", int(v)))

    def ext(self, v) -> None:
        self._parts.append(struct.pack("<4I", *(int(c) for c in v)))

    def digest(self, d: bytes) -> None:
        if len(d) != DIGEST:
            raise ValueError("digest must be 32 bytes")
        self._parts.append(bytes(d))

    def vec(self, items, put) -> None:
        self.u32(len(items))
        for it in items:
            put(it)

    def opening(self, o: Opening) -> None:
        self.u32(len(o.row))
        self._parts.append(struct.pack(f"<{len(o.row)}I", *(int(v) for v in o.row)))
        if self._zk:
            self.salt(o.salt)
        elif o.salt:
            raise ValueError("a proof without zk carries no salts")

    def salt(self, salt: bytes) -> None:
        if len(salt) > 255:
            raise ValueError("salt longer than 255 bytes")
        self.u8(len(salt))
        self.raw(salt)

    def batch(self, b: "BatchOpening") -> None:
        self.vec(b.rows, lambda row: (self.u32(len(row)), self._parts.append(struct.pack(f"<{len(row)}I",
                                                                                      *(int(v) for v in row)))))
        if self._zk:
            self.salt(b.salt)
        elif b.salt:
            raise ValueError("a proof without zk carries no salts")

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class _QueryLayout:
    """The byte layout of one query's openings (every count follows from the shape), read with one unpack."""

    def __init__(self, fixed_widths, phase_widths, fri_widths, salt_len: int, zk: bool) -> None:
        fmt, counts, self._values = ["<"], [], []
        pos = 0

        def field(code: str, want=None):
            nonlocal pos
            fmt.append(code)
            if want is not None:
                counts.append((pos, want))
            pos += 1
            return pos - 1

        def row(width: int):
            field("I", width)
            fmt.append(f"{width}I")
            self._values.extend(range(pos, pos + width))
            span = (pos, pos + width)
            return span

        def salt(n: int):
            if not zk:
                return None
            field("B", n)
            return field(f"{n}s")

        def bump(width: int):
            nonlocal pos
            pos += width

        field("I", len(fixed_widths))
        self._fixed = []
        for w in fixed_widths:
            span = row(w)
            bump(w)
            self._fixed.append((span, salt(0)))
        field("I", len(phase_widths))
        self._phases = []
        for widths in phase_widths:
            field("I", len(widths))
            spans = []
            for w in widths:
                spans.append(row(w))
                bump(w)
            self._phases.append((spans, salt(salt_len)))
        field("I", len(fri_widths))
        self._fri = []
        for w in fri_widths:
            span = row(w)
            bump(w)
            self._fri.append((span, salt(0)))
        self._struct = struct.Struct("".join(fmt))
        self.size = self._struct.size
        self._counts = operator.itemgetter(*[p for p, _ in counts], 0)  # (+0: always a tuple)
        self._count_want = tuple(w for _, w in counts)
        self._row_values = operator.itemgetter(*self._values, 0) if self._values else None

    def read(self, data, pos: int) -> "QueryProof | None":
        """The query at ``pos``, or None if it is truncated or any count differs (the caller's slow read then
        names the problem). Non-canonical values raise MalformedProof, as the slow read does."""
        if pos + self.size > len(data):
            return None
        v = self._struct.unpack_from(data, pos)
        if self._counts(v)[:-1] != self._count_want:
            return None
        if self._row_values is not None and max(self._row_values(v)) >= P:
            raise MalformedProof("non-canonical field element")
        salt = (lambda i: b"" if i is None else v[i])
        fixed = [Opening(list(v[a:b]), salt(si)) for (a, b), si in self._fixed]
        phases = [BatchOpening([list(v[a:b]) for a, b in spans], salt(si)) for spans, si in self._phases]
        fri_ = [Opening(list(v[a:b]), salt(si)) for (a, b), si in self._fri]
        return QueryProof(fixed, phases, fri_)


_ROW_FORMATS: dict[int, struct.Struct] = {}  # width -> "<(1 + width)I" (u32 count, then the row)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._d = data
        self._pos = 0
        self.zk = False

    def at_end(self) -> bool:
        return self._pos == len(self._d)

    def remaining(self) -> int:
        return len(self._d) - self._pos

    def peek_u32(self) -> int:
        return struct.unpack_from("<I", self._d, self._pos)[0]

    # ---- exact reads (shaped parse): the count in the bytes must be the one the shape derives
    def count(self, want: int, what: str) -> None:
        got = self.u32()
        if got != want:
            raise MalformedProof(f"{what}: expected {want}, got {got}")

    def exact(self, want: int, get, what: str) -> list:
        self.count(want, what)
        return [get() for _ in range(want)]

    def exact_exts(self, want: int, what: str) -> list:
        """``exact(want, self.ext, what)`` in one read: ``want`` extension elements as 4-tuples."""
        self.count(want, what)
        vals = struct.unpack(f"<{4 * want}I", self.raw(16 * want))
        if vals and max(vals) >= P:
            raise MalformedProof("non-canonical field element")
        it = iter(vals)
        return list(zip(it, it, it, it))

    def counted(self, items: list, what: str) -> list:
        """``items`` after checking the count in the bytes is ``len(items)``."""
        self.count(len(items), what)
        return items

    def exact_salt(self, want: int, what: str) -> bytes:
        if not self.zk:
            return b""
        got = self.u8()
        if got != want:
            raise MalformedProof(f"{what}: expected {want}, got {got}")
        return self.raw(want)

    def exact_row(self, width: int, what: str) -> list[int]:
        # count and row in one unpack: openings are most of a proof's parsing time
        fmt = _ROW_FORMATS.get(width)
        if fmt is None:
            fmt = _ROW_FORMATS.setdefault(width, struct.Struct(f"<{width + 1}I"))
        if self._pos + fmt.size > len(self._d):
            self.count(width, what)  # the count's own error when it is wrong, else "truncated"
            self.raw(4 * width)
        got, *row = fmt.unpack_from(self._d, self._pos)
        if got != width:
            raise MalformedProof(f"{what}: expected {width}, got {got}")
        self._pos += fmt.size
        if row and max(row) >= P:
            raise MalformedProof("non-canonical field element")
        return row

    def exact_opening(self, width: int, salt_len: int, what: str) -> Opening:
        return Opening(self.exact_row(width, what), self.exact_salt(salt_len, what.replace("width", "salt length")))

    def exact_path(self, n: int, what: str) -> list[bytes]:
        self.count(n, what)
        blob = self.raw(DIGEST * n)
        return [blob[i:i + DIGEST] for i in range(0, len(blob), DIGEST)]

    def raw(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._d):
            raise MalformedProof("proof truncated")
        out = self._d[self._pos:self._pos + n]
        self._pos += n
        return out

    def u8(self) -> int:
        return self.raw(1)[0]

    def u16(self) -> int:
        return struct.unpack("<H", self.raw(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self.raw(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.raw(8))[0]

    def felt(self) -> int:
        v = self.u32()
        if v >= P:
            raise MalformedProof("non-canonical field element")
        return v

    def ext(self) -> ExtT:
        vals = struct.unpack("<4I", self.raw(16))
        if max(vals) >= P:
            raise MalformedProof("non-canonical field element")
        return vals  # type: ignore[return-value]

    def digest(self) -> bytes:
        return self.raw(DIGEST)

    def vec(self, get, min_item_size: int) -> list:
        count = self.u32()
        if count * min_item_size > len(self._d) - self._pos:
            raise MalformedProof("length prefix exceeds the remaining proof bytes")
        return [get() for _ in range(count)]

    def row(self) -> list[int]:
        count = self.u32()
        if count * 4 > len(self._d) - self._pos:
            raise MalformedProof("length prefix exceeds the remaining proof bytes")
        row = list(struct.unpack(f"<{count}I", self.raw(4 * count)))
        if row and max(row) >= P:
            raise MalformedProof("non-canonical field element")
        return row

    def path(self) -> list[bytes]:
        n_path = self.u32()
        if n_path * DIGEST > len(self._d) - self._pos:
            raise MalformedProof("length prefix exceeds the remaining proof bytes")
        blob = self.raw(DIGEST * n_path)  # one slice, then split: openings dominate parsing time
        return [blob[i:i + DIGEST] for i in range(0, len(blob), DIGEST)]

    def salt(self) -> bytes:
        return self.raw(self.u8())

    def opening(self) -> Opening:
        row = self.row()
        return Opening(row, self.salt() if self.zk else b"")

    def batch(self) -> BatchOpening:
        rows = self.vec(self.row, 4)
        return BatchOpening(rows, self.salt() if self.zk else b"")
