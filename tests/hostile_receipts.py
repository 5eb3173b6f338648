"""Hostile receipts built from an honest one (shared by the receipt fuzz tests and ``bench/hostile_verify.py``).

Every builder returns receipt *bytes*: the point is what a verifier does with bytes it did not make. The
proof is re-encoded field by field (``proof_fields``), so a builder can replace one field's encoding with an
inflated one (a huge count followed by the cheapest items that count allows) and keep the rest honest.
"""

from __future__ import annotations

import hashlib
import struct

from zkvm import receipt as R
from zkvm.stark.verifying import proof as P

#: Top-level fields of a proof, in encoding order (zkvm/stark/verifying/proof.py).
FIELDS = ("head", "log_heights", "fixed_log_heights", "fixed_roots", "main_roots", "aux_roots", "final_sums",
          "quotient_roots", "ood_z", "ood_zg", "fri_roots", "final_poly", "pow_nonce", "query_indices", "queries",
          "auth_paths")


def proof_fields(proof: P.Proof) -> dict[str, bytes]:
    """The encoding of each top-level field of ``proof``; their concatenation is ``proof.to_bytes()``."""
    out: dict[str, bytes] = {}

    def field(name, put) -> None:
        w = P._Writer(proof.options.zk)
        put(w)
        out[name] = w.getvalue()

    field("head", lambda w: (w.raw(P.MAGIC), w.u16(proof.version), w.raw(proof.options.to_bytes())))
    field("log_heights", lambda w: w.vec(proof.log_heights, w.u8))
    field("fixed_log_heights", lambda w: w.vec(proof.fixed_log_heights, w.u8))
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


def max_shape_proof(air, options, log_heights, seed: int = 0) -> bytes:
    """A proof of exactly the shape ``options`` and ``log_heights`` call for (``shape.proof_shape``), every value
    random: it parses, and must then be rejected by a check, at the largest size these parameters allow."""
    import numpy as np

    from zkvm.field.babybear import P as FIELD_P
    from zkvm.stark.verifying.shape import proof_shape

    rng = np.random.default_rng(seed)
    shape = proof_shape(air, options, log_heights)

    def felts(n):
        return rng.integers(0, FIELD_P, n, dtype=np.uint32).tolist()

    def ext():
        return tuple(felts(4))

    def digest():
        return rng.bytes(32)

    def salt(n):
        return rng.bytes(n) if options.zk else b""

    qs = rng.integers(0, shape.n_max, options.num_queries).tolist()
    queries = [P.QueryProof([P.Opening(felts(ct.n_fixed), b"") for _, ct in shape.fixed_tables],
                            [P.BatchOpening([felts(w) for _, _, w in mats], salt(shape.salt_len))
                             for mats in shape.phases.values()],
                            [P.Opening(felts(w), b"") for w in shape.fri_widths]) for _ in qs]
    proof = P.Proof(options, list(log_heights), [digest() for _ in shape.committed_fixed],
                    [digest() for _ in range("main" in shape.phases)], [digest() for _ in range("aux" in shape.phases)],
                    [ext() for _ in range(shape.n_final_sums)], [digest()],
                    [[ext() for _ in range(nz)] for nz, _ in shape.ood],
                    [[ext() for _ in range(nzg)] for _, nzg in shape.ood],
                    [digest() for _ in shape.fri_sizes[1:]], [ext() for _ in range(shape.final_poly_len)],
                    int(rng.integers(0, 1 << 63)), qs, queries,
                    [[digest() for _ in range(n)] for n in shape.path_lengths(qs)],
                    fixed_log_heights=[log_heights[t] or 1 for t, _ in shape.committed_fixed])
    return proof.to_bytes()


def largest(receipt_bytes: bytes, journal_bytes: int | None = None, seed: int = 0) -> bytes:
    """The largest receipt that gets past every cheap check: the honest receipt's claim and seal head (so the
    image id holds), every table at the largest height, the largest options (256 queries, blowup 16, FRI arity
    2, zk), a proof of exactly that shape with random values, and the longest journal those heights allow
    (digest fixed). The verifier must parse all of it, build the journal's public terms and reject it."""
    from zkvm.circuit import riscv_air
    from zkvm.circuit.cpu import MAX_LOG_HEIGHT, max_journal_bytes
    from zkvm.stark.verifying import blinding
    from zkvm.stark.verifying.options import ProofOptions

    receipt, seal, _ = split(receipt_bytes)
    air = riscv_air.circuit().air
    opts = ProofOptions(log_blowup=4, num_queries=256, grinding_bits=0, log_fold_arity=1, log_final_len=0,
                        zk=receipt.zk)
    ca = blinding.compiled_air(air, opts.zk)
    heights = [MAX_LOG_HEIGHT] * len(ca.tables)
    if opts.zk:
        heights[-1] = blinding.hub_log_height(len(blinding.blinded_tables(ca)))
    n = max_journal_bytes(MAX_LOG_HEIGHT) if journal_bytes is None else journal_bytes
    big = with_proof(receipt, seal, max_shape_proof(air, opts, heights, seed))
    return with_journal(big, bytes(range(256)) * (n // 256) + bytes(n % 256))


def deepest(receipt_bytes: bytes, journal_bytes: int | None = None, seed: int = 0) -> bytes:
    """A receipt that reaches the verifier's most expensive check with the longest journal: the honest
    proof's options, fixed-table heights, fixed roots and fixed openings (so the fixed digest and the fixed
    trees check out at the honest query positions), every other table at the largest height, random phase and
    FRI openings whose roots are computed from them (so every Merkle check passes), and the longest journal
    those heights allow (digest fixed). The verifier must absorb and sum the journal's public terms before
    the bus check rejects it (BusImbalance)."""
    import numpy as np

    from zkvm.circuit import riscv_air
    from zkvm.circuit.cpu import MAX_LOG_HEIGHT, max_journal_bytes
    from zkvm.field.babybear import P as FIELD_P
    from zkvm.stark.verifying.merkle import leaf_digests, leaf_hash, mixed_multi_root, multiproof_root
    from zkvm.stark.verifying.shape import proof_shape

    rng = np.random.default_rng(seed)
    receipt, seal, honest = split(receipt_bytes)
    air = riscv_air.circuit().air
    opts = honest.options
    heights = list(honest.log_heights)
    shape0 = proof_shape(air, opts, heights)
    for t, ct in enumerate(shape0.tables):
        if not ct.n_fixed and ct.name != "zk_blind":
            heights[t] = MAX_LOG_HEIGHT
    shape = proof_shape(air, opts, heights)
    qs = list(honest.query_indices)
    lens = shape.path_lengths(qs)
    trees = shape.trees(qs)
    nf = len(shape.fixed_tables)

    def felts(n):
        return rng.integers(0, FIELD_P, n, dtype=np.uint32).tolist()

    def ext():
        return tuple(felts(4))

    cache: dict = {}

    def row(key, width):  # queries that share a leaf (or a shorter matrix's row) must open the same values
        if key not in cache:
            cache[key] = felts(width)
        return cache[key]

    def salt(key):
        if key not in cache:
            cache[key] = rng.bytes(shape.salt_len)
        return cache[key]

    top = {name: max(lh for _, lh, _ in mats) for name, mats in shape.phases.items()}
    fri_trees = trees[nf + len(shape.phases):]
    queries = [P.QueryProof(hq.fixed,
                            [P.BatchOpening([row((name, m, q % (1 << lh)), w) for m, (_, lh, w) in enumerate(mats)],
                                            salt((name, "salt", q % (1 << top[name]))))
                             for name, mats in shape.phases.items()],
                            [P.Opening(row(("fri", k, tree[2][i]), w), b"")
                             for k, (w, tree) in enumerate(zip(shape.fri_widths, fri_trees))])
               for i, (q, hq) in enumerate(zip(qs, honest.queries))]
    paths = list(honest.auth_paths[:nf]) + [[rng.bytes(32) for _ in range(n)] for n in lens[nf:]]
    roots = []
    for ph, mats in enumerate(shape.phases.values()):
        roots.append(mixed_multi_root([lh for _, lh, _ in mats], qs, [q.phases[ph].rows for q in queries],
                                      [q.phases[ph].salt for q in queries], paths[nf + ph]))
    fri_roots = []
    for k in range(len(shape.fri_sizes) - 1):
        _, depth, pos = trees[nf + len(roots) + k]
        leaves = leaf_digests(pos, [leaf_hash(q.fri[k].row) for q in queries])
        fri_roots.append(multiproof_root(depth, leaves, paths[nf + len(roots) + k]))
    phase_roots = dict(zip(shape.phases, roots))
    proof = P.Proof(opts, heights, honest.fixed_roots, [phase_roots["main"]], [phase_roots["aux"]],
                    [ext() for _ in range(shape.n_final_sums)], [phase_roots["quotient"]],
                    [[ext() for _ in range(nz)] for nz, _ in shape.ood],
                    [[ext() for _ in range(nzg)] for _, nzg in shape.ood],
                    fri_roots, [ext() for _ in range(shape.final_poly_len)], honest.pow_nonce, qs, queries, paths,
                    fixed_log_heights=honest.fixed_log_heights)
    n = max_journal_bytes(MAX_LOG_HEIGHT) if journal_bytes is None else journal_bytes
    big = with_proof(receipt, seal, proof.to_bytes())
    return with_journal(big, bytes(range(256)) * (n // 256) + bytes(n % 256))
