"""The proof object and its byte format (versioned, explicit little-endian, length-prefixed, never pickle).

Layout (``u8/u16/u32/u64`` little-endian; ``vec<T>`` = ``u32`` count then the items; ``felt`` = ``u32`` < p;
``ext`` = 4 felts; ``digest`` = 32 bytes; ``opening`` = ``vec<felt>`` row (then its salt under zk); ``batch`` =
``vec<vec<felt>>`` rows (one per matrix of a phase tree) then, under zk, the leaf's salt)::

    magic "ZKSTARK\0" | u16 version | options (7 bytes, see options.py)
    vec<u8>      log_heights              one per table, AIR order
    vec<digest>  fixed_roots              tables with fixed columns (one tree each: they define the image id)
    vec<digest>  main_roots               one mixed tree over every table's main LDE (none if no main columns)
    vec<digest>  aux_roots                one mixed tree over every bus table's aux LDE (none without buses)
    vec<ext>     final_sums               tables with bus interactions
    vec<digest>  quotient_roots           one mixed tree over every table's quotient chunks (+ zk: the FRI mask)
    vec<vec<ext>> ood_z, ood_zg           per table: values at zeta and at zeta·g
    vec<digest>  fri_roots
    vec<ext>     final_poly
    u64          pow_nonce
    vec<u32>     query_indices            positions in the largest LDE domain (re-derived and compared last)
    vec<query>   queries: vec<opening> (per table with fixed columns, its fixed tree)
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

The parser checks every count against the bytes that remain (so hostile lengths cannot make it allocate), and
that every field element is canonical; the verifier then checks every shape against the AIR and the options.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from zkvm.field.babybear import P
from zkvm.stark.errors import MalformedProof
from zkvm.stark.options import ENCODED_SIZE, ProofOptions

MAGIC = b"ZKSTARK\x00"
VERSION = 3  # 2: one mixed-height tree per phase (main, aux, quotient + FRI mask); 3: merged paths
DIGEST = 32

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

    def to_bytes(self) -> bytes:
        w = _Writer(self.options.zk)
        w.raw(MAGIC)
        w.u16(self.version)
        w.raw(self.options.to_bytes())
        w.vec(self.log_heights, w.u8)
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

    @classmethod
    def from_bytes(cls, data: bytes) -> "Proof":
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise MalformedProof("proof must be bytes")
        r = _Reader(bytes(data))
        if r.raw(len(MAGIC)) != MAGIC:
            raise MalformedProof("not a STARK proof (bad magic)")
        version = r.u16()
        if version != VERSION:
            raise MalformedProof(f"unsupported proof version {version} (this verifier reads {VERSION})")
        try:
            options = ProofOptions.from_bytes(r.raw(ENCODED_SIZE))
        except ValueError as e:
            raise MalformedProof(f"bad proof options: {e}") from None
        log_heights = r.vec(r.u8, 1)
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
                   ood_zg, fri_roots, final_poly, pow_nonce, query_indices, queries, auth_paths, version)


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


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._d = data
        self._pos = 0
        self.zk = False

    def at_end(self) -> bool:
        return self._pos == len(self._d)

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
