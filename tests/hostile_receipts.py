"""Hostile receipts built from an honest one (shared by the receipt fuzz tests and ``bench/hostile_verify.py``).

Every builder returns receipt *bytes*: the point is what a verifier does with bytes it did not make. The
proof is re-encoded field by field (``proof_fields``), so a builder can replace one field's encoding with an
inflated one (a huge count followed by the cheapest items that count allows) and keep the rest honest.
"""

from __future__ import annotations

import hashlib
import struct

from zkvm import receipt as R
from zkvm.stark import proof as P

#: Top-level fields of a proof, in encoding order (zkvm/stark/proof.py).
FIELDS = ("head", "log_heights", "fixed_roots", "main_roots", "aux_roots", "final_sums", "quotient_roots", "ood_z",
          "ood_zg", "fri_roots", "final_poly", "pow_nonce", "query_indices", "queries", "auth_paths")


def proof_fields(proof: P.Proof) -> dict[str, bytes]:
    """The encoding of each top-level field of ``proof``; their concatenation is ``proof.to_bytes()``."""
    out: dict[str, bytes] = {}

    def field(name, put) -> None:
        w = P._Writer(proof.options.zk)
        put(w)
        out[name] = w.getvalue()

    field("head", lambda w: (w.raw(P.MAGIC), w.u16(proof.version), w.raw(proof.options.to_bytes())))
    field("log_heights", lambda w: w.vec(proof.log_heights, w.u8))
    for name in ("fixed_roots", "main_roots", "aux_roots", "quotient_roots", "fri_roots"):
        field(name, lambda w, name=name: w.vec(getattr(proof, name), w.digest))
    field("final_sums", lambda w: w.vec(proof.final_sums, w.ext))
    for name in ("ood_z", "ood_zg"):
        field(name, lambda w, name=name: w.vec(getattr(proof, name), lambda v, w=w: w.vec(v, w.ext)))
    field("final_poly", lambda w: w.vec(proof.final_poly, w.ext))
    field("pow_nonce", lambda w: w.u64(proof.pow_nonce))
    field("query_indices", lambda w: w.vec(proof.query_indices, w.u32))
    field("queries", lambda w: w.vec(proof.queries, lambda q: (w.vec(q.fixed, w.opening), w.vec(q.phases, w.batch),
                                                                   w.vec(q.fri, w.opening))))
    field("auth_paths", lambda w: w.vec(proof.auth_paths, lambda path: w.vec(path, w.digest)))
    assert b"".join(out[f] for f in FIELDS) == proof.to_bytes()
    return out


def split(receipt_bytes: bytes) -> tuple[R.Receipt, R.Seal, P.Proof]:
    receipt = R.Receipt.from_bytes(receipt_bytes)
    seal = R.Seal.from_bytes(receipt.seal)
    return receipt, seal, P.Proof.from_bytes(seal.proof)


def with_proof(receipt: R.Receipt, seal: R.Seal, proof_bytes: bytes) -> bytes:
    """``receipt`` with its seal's proof replaced by ``proof_bytes`` (claim, journal and seal head kept)."""
    seal2 = R.Seal(seal.entry, seal.image_lo, seal.image_hi, seal.text_lo, seal.text_hi, seal.fixed_digest,
                   proof_bytes)
    return R.Receipt(receipt.claim, receipt.journal, seal2.to_bytes(), receipt.zk, receipt.dev).to_bytes()


def with_journal(receipt_bytes: bytes, journal: bytes) -> bytes:
    """The journal replaced, and the claim's journal digest fixed to match it."""
    r = R.Receipt.from_bytes(receipt_bytes)
    claim = R.Claim(r.claim.image_id, r.claim.exit_code, hashlib.sha256(journal).digest(), r.claim.version)
    return R.Receipt(claim, journal, r.seal, r.zk, r.dev).to_bytes()


#: Inflatable fields and the cheapest item each count allows (an empty inner vector, an empty query...).
CHEAPEST_ITEM = {
    "ood_z": struct.pack("<I", 0),           # an empty vector of OOD values
    "ood_zg": struct.pack("<I", 0),
    "auth_paths": struct.pack("<I", 0),      # an empty path
    "queries": struct.pack("<III", 0, 0, 0),  # a query with no openings
    "query_indices": struct.pack("<I", 0),
    "final_poly": bytes(16),
    "fri_roots": bytes(32),
}


def inflate(receipt_bytes: bytes, name: str, total_bytes: int) -> bytes:
    """A receipt of about ``total_bytes`` whose proof field ``name`` claims as many cheapest items as fit
    (``name`` in CHEAPEST_ITEM, or "rows": the first query's first batch opening claims that many empty
    rows). Everything else is the honest proof's encoding."""
    receipt, seal, proof = split(receipt_bytes)
    fields = proof_fields(proof)
    room = max(0, total_bytes - len(receipt_bytes))
    if name == "rows":
        q0 = proof.queries[0]
        w = P._Writer(proof.options.zk)
        w.u32(len(proof.queries))
        w.vec(q0.fixed, w.opening)
        w.u32(len(q0.phases))
        count = room // 4
        w.u32(count)
        head = w.getvalue()
        w2 = P._Writer(proof.options.zk)
        if proof.options.zk:
            w2.salt(q0.phases[0].salt)
        for b in q0.phases[1:]:
            w2.batch(b)
        w2.vec(q0.fri, w2.opening)
        for q in proof.queries[1:]:
            w2.vec(q.fixed, w2.opening), w2.vec(q.phases, w2.batch), w2.vec(q.fri, w2.opening)
        fields["queries"] = head + bytes(4 * count) + w2.getvalue()
    else:
        item = CHEAPEST_ITEM[name]
        count = room // len(item)
        fields[name] = struct.pack("<I", count) + item * count + fields[name][4:]
    return with_proof(receipt, seal, b"".join(fields[f] for f in FIELDS))
