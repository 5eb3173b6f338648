"""The STARK verifier: pure Python + numpy + hashlib, imports no compiled extension.

Cost bound: a proof of N bytes (with public terms of T rows) costs O(N + T) time and memory - every count is
derived from the AIR, the options and the heights (``shape.py``), never read from the proof, and public terms
are arrays processed in chunks. For receipts (``zkvm.receipt.verify``) the stated constant is: at most
128 MiB + 16·N of address space and about 2 s + 1 µs·N for a receipt of N bytes (README, "Verifier cost";
checked under RLIMIT_AS by tests/soundness/test_hostile_receipts.py). Only the checks' own typed errors are
rejections: anything else raised here is a bug and propagates as such.

Checks, in this order (each failure raises its own ``VerificationError`` subclass):
1. shapes of every proof field against the AIR and options (``MalformedProof``); a table of height 0 is absent
   (nothing of it in the proof) and only an optional table may be (``shape.proof_shape``). Absent tables are
   sound because an optional table admits a padding-only trace that sends and receives nothing
   (``air.Table``): leaving it out changes no bus, and leaving out a table whose terms a bus needs leaves
   that bus unbalanced (``BusImbalance``, 5.);
2. conjectured security >= ``min_security_bits`` (``InsufficientSecurity``);
3. publics / public terms well-formed, fixed roots hash to ``fixed_digest`` (``PublicInputMismatch``);
4. every opened row (fixed trees, the main/aux/quotient phase trees) and FRI leaf authenticates at the proof's
   query positions (``MerkleError``);
5. transcript replay; LogUp final sums + public terms == 0 (``BusImbalance``);
6. per table, constraints at zeta match the committed quotient (``OodMismatch``);
7. DEEP values, FRI folding and final polynomial at every query (``FriError``);
8. proof of work (``PowError``) and query positions == those the transcript derives (``QueryMismatch``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from zkvm.field import babybear as bb
from zkvm.field.babybear import GENERATOR, Ext, P
from zkvm.stark.dsl.air import Air, CompiledTable
from zkvm.stark.dsl.algebra import mat_dot
from zkvm.stark.verifying import air_cache, fri, logup, ood_tape, schedule
from zkvm.stark.errors import (BusImbalance, FriError, InsufficientSecurity, MalformedProof, MerkleError, OodMismatch,
                               PowError, PublicInputMismatch, QueryMismatch)
from zkvm.stark.verifying.merkle import leaf_digests, leaf_hash, mixed_multi_root_flat, multiproof_root
from zkvm.stark.verifying.proof import Proof
from zkvm.stark.verifying.protocol import (FRI_MASK, MAX_LOG_HEIGHT, fixed_digest, max_tuple_len, normalize_public_terms,
                                          ood_layout,
                                          publics_vector)
from zkvm.stark.verifying.shape import ABSENT, proof_shape

_P64 = np.uint64(P)


def verify(air: Air, proof: Proof | bytes, publics: Mapping[str, int], public_terms=(), fixed_digest: bytes = b"",
           min_security_bits: int = 100, logup_challenges: tuple | None = None):
    """Return None if ``proof`` is valid for ``air`` and this statement, else raise a VerificationError subclass.

    ``logup_challenges=(alpha, beta)``: a proof made with these shared challenges (the segments of a run); the
    bus balance is then the caller's check over all such proofs: this returns the proof's LogUp total (final
    sums + public terms, an ``Ext``) instead of requiring it to be zero.

    Bytes are parsed against the AIR (``Proof.from_bytes(data, air)``: every count derived, read exactly); a
    ``Proof`` object is checked against the same shape. Nothing else is caught: any other exception is a bug
    of the verifier, not a property of the proof, and is not disguised as a rejection."""
    if isinstance(proof, (bytes, bytearray, memoryview)):
        proof = Proof.from_bytes(proof, air)
    if not isinstance(proof, Proof):
        raise MalformedProof("not a Proof")
    return _verify(air, proof, publics, public_terms, fixed_digest, min_security_bits, logup_challenges)


def _verify(air: Air, proof: Proof, publics, public_terms, fdigest: bytes, min_security_bits: int,
            logup_challenges: tuple | None = None):
    """The checks 1.-8. of the module docstring. 5.-8. replay the transcript phase by phase, in the order of
    ``schedule`` and of the prover's phases (``proving/prover.py``); replaying raises nothing, so the checks
    interleaved with it fail in the order of the docstring."""
    shape = _check_shapes(air, proof)                                            # 1.
    cached = _load_air_cache(air, shape.ca)
    if proof.options.security_bits < min_security_bits:                          # 2.
        raise InsufficientSecurity(f"proof gives {proof.options.security_bits} conjectured bits, verifier "
                                   f"requires {min_security_bits}")
    stmt = _check_statement(air, proof, publics, public_terms, fdigest, shape)   # 3.
    op = _check_openings(proof, shape)                                           # 4.
    tr = schedule.statement(shape.ca, proof.options, list(shape.log_heights), stmt.pubs_vec, stmt.terms, fdigest)
    lc = schedule.main_committed(tr, shape.ca, proof.main_roots, logup_challenges)
    aux = _phase_aux(tr, shape, proof, stmt, lc, logup_challenges is None)      # 5.
    quot = _phase_quotient(tr, proof)
    ood = _phase_ood(tr, shape, proof, stmt, lc, aux, quot)                     # 6.
    _phase_fri(tr, shape, proof, op, ood)                                       # 7.
    _phase_queries(tr, shape, proof)                                            # 8.
    if not cached:
        n = max_tuple_len(shape.ca) + 1  # beta^0 .. beta^longest (schedule.main_committed)
        air_cache.store(shape.ca, n, shape.ca.digest, ood_tape.tape_for(shape.ca, n))
    return aux.total if logup_challenges is not None else None


def _load_air_cache(air: Air, ca) -> bool:
    """A code-defined AIR's digest and OOD tape from the disk cache (``air_cache``). False: the verifier builds
    them (and stores them when the proof verifies)."""
    n = max_tuple_len(ca) + 1  # beta^0 .. beta^longest (schedule.main_committed)
    if not air.code_defined or ood_tape.has_tape(ca, n):
        return True  # not cacheable, or already made in this process
    hit = air_cache.load(ca, n)
    if hit is None:
        return False
    digest, tape = hit
    if ca.has_digest and ca.digest != digest:  # made here already (e.g. for the image id): ours decides
        return False
    ca.digest = digest
    ood_tape.prime(ca, n, tape)
    return True


# ---------------------------------------------------------------- what each phase hands to the next

@dataclass(frozen=True)
class Statement:
    pubs_vec: list
    pubs: dict
    terms: list


@dataclass(frozen=True)
class Openings:
    """The proof's query positions and its authenticated opened columns (``_opened_columns``)."""
    qs: list[int]
    cols: dict


@dataclass(frozen=True)
class AuxCommit:
    total: Ext  # final sums + public terms: zero unless the LogUp challenges are shared (segments)
    lam: Ext


@dataclass(frozen=True)
class QuotientCommit:
    zeta: Ext


@dataclass(frozen=True)
class OodPoint:
    zeta: Ext
    gamma: Ext


# ---------------------------------------------------------------- 1.-4. before the transcript

def _check_shapes(air: Air, proof: Proof):
    """1. Every count follows from the AIR, the options and the heights (shape.py)."""
    opts = proof.options
    shape = proof_shape(air, opts, proof.log_heights)
    tables, heights = shape.tables, list(shape.log_heights)
    phases, sizes = shape.phases, shape.fri_sizes
    n_max = shape.n_max
    fixed_tables = list(shape.fixed_tables)  # present ones: opened at every query
    committed_fixed = shape.committed_fixed  # all: a root and a height each, for the fixed digest
    _expect(len(proof.fixed_log_heights), len(committed_fixed), "fixed heights")
    _expect(len(proof.fixed_roots), len(committed_fixed), "fixed roots")
    for (t, ct), flh in zip(committed_fixed, proof.fixed_log_heights):
        if not 1 <= flh <= MAX_LOG_HEIGHT:
            raise MalformedProof(f"table {ct.name!r}: fixed height 2^{flh} out of range")
        if heights[t] != ABSENT and heights[t] != flh:
            raise MalformedProof(f"table {ct.name!r}: height 2^{heights[t]}, its fixed columns have 2^{flh}")
    _expect(len(proof.final_sums), shape.n_final_sums, "final sums")
    _expect(len(proof.ood_z), len(tables), "OOD groups")
    _expect(len(proof.ood_zg), len(tables), "OOD-next groups")
    for ct, z, zg, (nz, nzg) in zip(tables, proof.ood_z, proof.ood_zg, shape.ood):
        _expect(len(z), nz, f"OOD values of {ct.name!r}")
        _expect(len(zg), nzg, f"OOD-next values of {ct.name!r}")
    for name, roots in (("main", proof.main_roots), ("aux", proof.aux_roots), ("quotient", proof.quotient_roots)):
        _expect(len(roots), 1 if name in phases else 0, f"{name} roots")
    _expect(len(proof.fri_roots), len(sizes) - 1, "FRI layers")
    _expect(len(proof.final_poly), shape.final_poly_len, "final polynomial coefficients")
    _expect(len(proof.query_indices), opts.num_queries, "query indices")
    _expect(len(proof.queries), opts.num_queries, "query openings")
    # the expected lengths of one query's openings, in order; a query is checked as one tuple comparison and only
    # a mismatch is walked again for its message (a parsed proof always matches: this guards Proof objects)
    fri_widths = shape.fri_widths
    want = (len(fixed_tables), *[n for _, ct in fixed_tables for n in (ct.n_fixed, 0)], len(phases),
            *[n for mats in phases.values() for n in (len(mats), *[w for _, _, w in mats], shape.salt_len)],
            len(fri_widths), *[n for w in fri_widths for n in (w, 0)])
    for q, qp in zip(proof.query_indices, proof.queries):
        if not 0 <= q < n_max:
            raise MalformedProof("query index out of range")
        got = (len(qp.fixed), *[n for o in qp.fixed for n in (len(o.row), len(o.salt))], len(qp.phases),
               *[n for b in qp.phases for n in (len(b.rows), *map(len, b.rows), len(b.salt))],
               len(qp.fri), *[n for o in qp.fri for n in (len(o.row), len(o.salt))])
        if got != want:
            _query_shape_error(qp, fixed_tables, phases, tables, shape)
    # one merged authentication path per tree: its length follows from the AIR, the options (tree depths) and
    # the query positions (which siblings the paths share)
    qs_list = list(proof.query_indices)
    trees = shape.trees(qs_list)
    _expect(len(proof.auth_paths), len(trees), "authentication path lists")
    for (what, _, _), n, path in zip(trees, shape.path_lengths(qs_list), proof.auth_paths):
        _expect(len(path), n, f"siblings of the {what}")
    return shape


def _check_statement(air: Air, proof: Proof, publics, public_terms, fdigest: bytes, shape) -> Statement:
    """3. Publics and public terms well-formed; the fixed roots hash to ``fdigest``."""
    pubs_vec = publics_vector(air, publics)
    pubs = dict(zip(air.publics, pubs_vec))
    terms = normalize_public_terms(air.compile(), public_terms)  # the blinding bus takes no public terms
    # an absent table's fixed columns are bound all the same (its root and height): the digest covers the image
    if (not isinstance(fdigest, (bytes, bytearray))
            or fixed_digest(shape.ca, proof.fixed_log_heights, proof.fixed_roots) != fdigest):
        raise PublicInputMismatch("fixed commitment does not match fixed_digest")
    return Statement(pubs_vec, pubs, terms)


def _check_openings(proof: Proof, shape) -> Openings:
    """4. Merkle openings at the proof's query positions (each tree: all queries at once)."""
    qs_list = list(proof.query_indices)
    fixed_tables, phases = list(shape.fixed_tables), shape.phases
    paths = iter(zip(shape.trees(qs_list), proof.auth_paths))
    fixed_root = {t: root for (t, _), root in zip(shape.committed_fixed, proof.fixed_roots)}
    for f, (t, _) in enumerate(fixed_tables):
        (what, depth, positions), path = next(paths)
        _check_tree(what, fixed_root[t], depth, positions, [leaf_hash(qp.fixed[f].row) for qp in proof.queries],
                    path)
    phase_roots = {"main": proof.main_roots, "aux": proof.aux_roots, "quotient": proof.quotient_roots}
    cols, flats = _opened_columns(proof, fixed_tables, phases, len(qs_list))
    for ph, (name, mats) in enumerate(phases.items()):
        (what, depth, positions), path = next(paths)
        log_heights = [lh for _, lh, _ in mats]
        salts = [qp.phases[ph].salt for qp in proof.queries]
        if mixed_multi_root_flat(log_heights, qs_list, flats[ph], [w for _, _, w in mats], salts,
                                 path) != phase_roots[name][0]:
            raise MerkleError(f"{what}: the openings do not authenticate")
    for k, root in enumerate(proof.fri_roots):
        (what, depth, positions), path = next(paths)
        _check_tree(what, root, depth, positions, [leaf_hash(qp.fri[k].row, qp.fri[k].salt) for qp in proof.queries],
                    path)
    return Openings(qs_list, cols)


# ---------------------------------------------------------------- 5.-8. the transcript, phase by phase

def _phase_aux(tr, shape, proof: Proof, stmt: Statement, lc: schedule.LogupChallenges, balanced: bool) -> AuxCommit:
    """5. LogUp: the final sums and the public terms add up to zero (``balanced``; else the total is returned)."""
    total = Ext(0)
    if shape.ca.bus_ids:
        for fs in proof.final_sums:
            total = total + Ext(*fs)
        try:
            total = total + logup.public_contribution(shape.ca, stmt.terms, lc.alpha, lc.betas)
        except ZeroDivisionError:
            raise BusImbalance("a public term's LogUp denominator vanished") from None
        if balanced and not total.is_zero():
            raise BusImbalance("the LogUp sums of all tables and the public terms do not add up to zero")
    return AuxCommit(total, schedule.aux_committed(tr, proof.aux_roots, proof.final_sums))


def _phase_quotient(tr, proof: Proof) -> QuotientCommit:
    return QuotientCommit(schedule.quotient_committed(tr, proof.quotient_roots))


def _phase_ood(tr, shape, proof: Proof, stmt: Statement, lc: schedule.LogupChallenges, aux: AuxCommit,
               quot: QuotientCommit) -> OodPoint:
    """6. Per table, the constraints at zeta match the committed quotient (every table at once: ood_tape.py)."""
    tables, heights = shape.tables, list(shape.log_heights)
    table_finals = np.zeros((len(tables), 4), dtype=np.uint64)
    finals = iter(proof.final_sums)
    for t, ct in enumerate(tables):
        if ct.has_bus and heights[t] != ABSENT:  # an absent table has no final sum: it adds 0 to every bus
            table_finals[t] = next(finals)
    # the OOD tape evaluates every table of the AIR: absent ones get zero inputs of their would-be layout, and
    # their (meaningless) results are not checked
    tz_all, tz_off = _stack_ood(_with_absent(proof.ood_z, tables, heights, 0))
    tzg_all, tzg_off = _stack_ood(_with_absent(proof.ood_zg, tables, heights, 1))
    _check_ood(shape.ca, tables, heights, shape.plans, tz_all, tz_off, stmt.pubs, lc.alpha, lc.betas,
               table_finals, aux.lam, quot.zeta, tzg_all, tzg_off)
    return OodPoint(quot.zeta, schedule.ood_sent(tr, proof.ood_z, proof.ood_zg))


def _phase_fri(tr, shape, proof: Proof, op: Openings, ood: OodPoint) -> None:
    """7. DEEP values, FRI folding and the final polynomial at every query."""
    fri_betas = [schedule.fri_layer_committed(tr, root) for root in proof.fri_roots]
    schedule.final_poly_sent(tr, proof.final_poly)
    tables, heights, lde_sizes, sizes = shape.tables, list(shape.log_heights), shape.lde_sizes, shape.fri_sizes
    n_max, n_q, zeta = shape.n_max, len(op.qs), ood.zeta
    z_all, z_off = _stack_ood(proof.ood_z)
    zg_all, zg_off = _stack_ood(proof.ood_zg)
    n_ood = [len(z) + len(zg) for z, zg in zip(proof.ood_z, proof.ood_zg)]
    counter = sum(n_ood)
    gpow = ood_tape.ext_powers(ood.gamma, counter + 1)  # gamma^0..gamma^counter: table t takes its own run
    starts = np.concatenate([[0], np.cumsum(n_ood)]).astype(np.int64)
    deep_coeffs = [gpow[starts[t]:starts[t + 1]] for t in range(len(tables))]
    qs = np.asarray(op.qs, dtype=np.int64)
    by_size: dict[int, list[int]] = {}
    for t, size in enumerate(lde_sizes):
        if size:  # 0: absent, no DEEP term
            by_size.setdefault(size, []).append(t)
    deep = {size: _deep_at_queries([(t, tables[t], heights[t]) for t in ts], size, qs, op.cols, deep_coeffs,
                                   z_all, z_off, zg_all, zg_off, zeta) for size, ts in by_size.items()}

    def deep_sum(ts):
        return deep[lde_sizes[ts[0]]] if ts else np.zeros((n_q, 4), dtype=np.uint32)

    value = deep_sum(by_size.get(n_max, []))
    if proof.options.zk:  # zk.py, 4.: FRI runs on DEEP + gamma^M·R, R opened at every query
        mask_rows = op.cols[("quot", FRI_MASK)]
        value = bb.ext_add(value, bb.ext_mul(mask_rows, gpow[counter]))
    for k in range(len(sizes) - 1):
        m, m2 = sizes[k], sizes[k + 1]
        arity = m // m2
        qk = qs % m
        leaf, pos = qk % m2, qk // m2
        rows = np.asarray([qp.fri[k].row for qp in proof.queries], dtype=np.uint32).reshape(n_q, arity, 4)
        picked = rows[np.arange(n_q), pos]
        bad = np.flatnonzero(np.any(picked != value, axis=1))
        if bad.size:
            raise FriError(f"query {int(bad[0])}: FRI layer {k} is inconsistent with the previous layer")
        value = fri.fold_rows(rows, leaf, m, fri.layer_shift(n_max, m), fri_betas[k])
        if m2 in by_size:
            value = bb.ext_add(value, bb.ext_mul(deep_sum(by_size[m2]), (fri_betas[k] ** arity).to_array()))
    mf = sizes[-1]
    omega_f = bb.two_adic_root(mf.bit_length() - 1)
    shift_f = fri.layer_shift(n_max, mf)
    xs = np.asarray([shift_f * bb.pow_int(omega_f, int(q) % mf) % P for q in qs], dtype=np.uint32)
    expect = np.zeros((n_q, 4), dtype=np.uint32)
    for c in reversed(proof.final_poly):
        expect = bb.ext_add(bb.ext_mul_base(expect, xs), np.asarray(c, dtype=np.uint32))
    bad = np.flatnonzero(np.any(expect != value, axis=1))
    if bad.size:
        raise FriError(f"query {int(bad[0])}: final polynomial does not match the folded value")


def _phase_queries(tr, shape, proof: Proof) -> None:
    """8. Proof of work, and the query positions are those the transcript derives."""
    opts = proof.options
    if not tr.check_pow(proof.pow_nonce, opts.grinding_bits):
        raise PowError(f"proof-of-work nonce lacks {opts.grinding_bits} leading zero bits")
    if schedule.query_positions(tr, proof.pow_nonce, opts, shape.n_max) != list(proof.query_indices):
        raise QueryMismatch("query positions differ from the transcript's")


def _check_tree(what: str, root: bytes, depth: int, positions: list[int], digests: list[bytes],
                siblings: list[bytes]) -> None:
    """All queries' leaves of a single-matrix tree against its root, through their merged path."""
    leaves = leaf_digests(positions, digests)
    if leaves is None:
        raise MerkleError(f"{what}: two queries open the same leaf with different rows")
    if multiproof_root(depth, leaves, siblings) != root:
        raise MerkleError(f"{what}: the openings do not authenticate")


def _query_shape_error(qp, fixed_tables, phases, tables, shape) -> None:
    """Raise the MalformedProof naming the first opening of ``qp`` whose length differs from the shape's."""
    _expect(len(qp.fixed), len(fixed_tables), "fixed openings in a query")
    for (t, ct), o in zip(fixed_tables, qp.fixed):
        _expect(len(o.row), ct.n_fixed, f"fixed row width of {ct.name!r}")
        _expect(len(o.salt), 0, f"fixed salt length of {ct.name!r}")
    _expect(len(qp.phases), len(phases), "phase openings in a query")
    for (name, mats), b in zip(phases.items(), qp.phases):
        _expect(len(b.rows), len(mats), f"{name} rows in a query")
        for (t, _, width), row in zip(mats, b.rows):
            owner = "the FRI mask" if t == FRI_MASK else repr(tables[t].name)
            _expect(len(row), width, f"{name} row width of {owner}")
        _expect(len(b.salt), shape.salt_len, f"{name} leaf salt length")
    _expect(len(qp.fri), len(shape.fri_widths), "FRI openings in a query")
    for o, width in zip(qp.fri, shape.fri_widths):
        _expect(len(o.row), width, "FRI leaf width")
        _expect(len(o.salt), 0, "FRI leaf salt length")  # never salted (zk.py, 4.)
    raise MalformedProof("query openings do not have the proof's shape")  # unreachable: some check above fails


def _expect(got: int, want: int, what: str) -> None:
    if got != want:
        raise MalformedProof(f"{what}: expected {want}, got {got}")


def _opened_columns(proof: Proof, fixed_tables, phases, n_q: int) -> tuple[dict, list[np.ndarray]]:
    """``(kind, table) -> uint32[queries, width]``: every query's opened row of that table, ``kind`` one of
    "fixed", "main", "aux", "quot" (``FRI_MASK`` for the mask's quotient-phase columns); and per phase, every
    query's rows concatenated (``uint32[queries, phase width]``). Shapes already checked."""
    kind_of = {"main": "main", "aux": "aux", "quotient": "quot"}
    out: dict = {}
    flats = []
    for f, (t, ct) in enumerate(fixed_tables):
        out[("fixed", t)] = np.array([qp.fixed[f].row for qp in proof.queries], dtype=np.uint32).reshape(n_q, -1)
    for ph, (name, mats) in enumerate(phases.items()):
        flat = np.array([[v for row in qp.phases[ph].rows for v in row] for qp in proof.queries],
                        dtype=np.uint32).reshape(n_q, -1)
        flats.append(flat)
        start = 0
        for t, _, width in mats:
            out[(kind_of[name], t)] = flat[:, start:start + width]
            start += width
    return out, flats


def _with_absent(groups, tables, heights, which: int) -> list:
    """``groups`` (per table OOD values) with zeros of each absent table's layout at QUOTIENT_WIDTH (which = 0:
    at zeta, 1: at zeta·g), so the OOD tape's input offsets hold for every table."""
    return [[(0, 0, 0, 0)] * ood_layout(ct)[which] if lh == ABSENT else g
            for g, ct, lh in zip(groups, tables, heights)]


def _stack_ood(groups) -> tuple[np.ndarray, np.ndarray]:
    """Every table's OOD values as one ``uint64[n, 4]`` array and the per-table offsets (``[tables + 1]``)."""
    lens = [len(g) for g in groups]
    flat = np.array([v for g in groups for v in g], dtype=np.uint64).reshape(-1, 4)
    return flat, np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)


def _check_ood(ca, tables: list[CompiledTable], heights, plans, z_all, z_off, pubs, alpha: Ext, betas,
                   finals: np.ndarray, lam: Ext, zeta: Ext, zg_all, zg_off) -> None:
    """Per table: the random combination of its constraints at zeta, divided by their vanishing polynomials,
    equals its quotient recombined from the opened chunks (``OodMismatch`` naming the first table that fails)."""
    tape = ood_tape.tape_for(ca, len(betas))
    beta_arr = np.array([b.c for b in betas], dtype=np.uint64)
    inputs = tape.inputs(z_all, z_off, zg_all, zg_off, pubs, np.array(alpha.c, dtype=np.uint64), beta_arr, finals)
    vals = tape.run(inputs)
    lp = ood_tape.ext_powers(lam, int(tape.pow_index.max()) + 1 if len(tape.pow_index) else 1)
    prod = ood_tape.ext_mul(vals, lp[tape.pow_index])
    acc = np.zeros((4 * len(tables), 4), dtype=np.uint64)
    np.add.at(acc, tape.segment, prod)  # < 2^31 per term, far fewer than 2^32 terms: no overflow
    acc %= np.uint64(P)
    zeta_2k = [zeta]  # zeta^(2^k)
    for _ in range(max(heights)):
        zeta_2k.append(zeta_2k[-1] * zeta_2k[-1])
    u = zeta - 1
    u_inv = u.inverse()
    for t, (ct, lh, plan) in enumerate(zip(tables, heights, plans)):
        if plan is None:  # absent: no rows, no constraint to hold
            continue
        a_always, a_trans, a_first, a_last = (Ext(*(int(c) for c in acc[4 * t + k])) for k in range(4))
        zh = zeta_2k[lh] - 1
        v = zeta - bb.inv_int(bb.two_adic_root(lh))
        expected = (a_always + v * a_trans) / zh + a_first * u_inv + a_last / v
        quot = from_coords_ext(z_all[z_off[t + 1] - 4 * plan.chunks:z_off[t + 1]])
        zn = zeta ** plan.chunk_len  # n without zk
        actual = Ext(0)
        for c in reversed(range(plan.chunks)):
            actual = actual * zn + quot[c]
        if expected != actual:
            raise OodMismatch(f"table {ct.name!r}: constraints at zeta do not match the quotient")


def from_coords_ext(vals: np.ndarray) -> list[Ext]:
    """Extension values (as ``Ext``) of consecutive committed extension columns from their coordinate values."""
    out = ood_tape.from_coords(np.asarray(vals, dtype=np.uint64).reshape(-1, 4, 4))
    return [Ext(*(int(c) for c in row)) for row in out]


def _deep_at_queries(group: list, size: int, qs: np.ndarray, cols: dict, coeffs: list, z_all, z_off, zg_all, zg_off,
                     zeta: Ext) -> np.ndarray:
    """The summed DEEP quotients (``[queries, 4]``) of the tables ``group`` (``(index, table, log height)``)
    whose LDE has ``size`` points: they share the query points x, so ``sum_t (f_t(x) - f_t(zeta))/(x - zeta)``
    is one matrix product and one inversion; the zeta·g terms share theirs per trace height."""
    omega = bb.two_adic_root(size.bit_length() - 1)
    xs = np.asarray([GENERATOR * pow(omega, int(q) % size, P) % P for q in qs], dtype=np.uint64)
    z_rows, z_coef, z_vals = [], [], []
    by_height: dict[int, tuple[list, list, list]] = {}
    for t, ct, lh in group:
        nz = int(z_off[t + 1] - z_off[t])
        rz = np.concatenate([cols[(k, t)] for k in ("fixed", "main", "aux", "quot") if (k, t) in cols], axis=1)
        z_rows.append(rz)
        z_coef.append(coeffs[t][:nz])
        z_vals.append(z_all[z_off[t]:z_off[t + 1]])
        if zg_off[t + 1] > zg_off[t]:
            nf, nm = ct.n_fixed, ct.n_main
            idx = list(ct.next_fixed) + [nf + i for i in ct.next_main]
            if ct.has_bus:
                g = nf + nm + 4 * len(ct.groups)
                idx += range(g, g + 4)
            rows, coef, vals = by_height.setdefault(lh, ([], [], []))
            rows.append(rz[:, idx])
            coef.append(coeffs[t][nz:])
            vals.append(zg_all[zg_off[t]:zg_off[t + 1]])
    out = _deep_term(z_rows, z_coef, z_vals, xs, zeta)
    for lh, (rows, coef, vals) in by_height.items():
        out = bb.ext_add(out, _deep_term(rows, coef, vals, xs, zeta * bb.two_adic_root(lh)))
    return out


def _deep_term(rows: list, coef: list, vals: list, xs: np.ndarray, point: Ext) -> np.ndarray:
    """``(sum_i c_i·row_i(x) - sum_i c_i·v_i) / (x - point)`` per query."""
    c = np.concatenate(coef, axis=0)
    f = _small_mat_dot(np.concatenate(rows, axis=1), c)
    v = _ext_dot(c, np.concatenate(vals, axis=0))
    return bb.ext_mul(bb.ext_sub(f, v), _inv_x_minus(xs, point))


def _small_mat_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(a @ b) mod p`` for canonical ``a: [queries, K]``, ``b: [K, 4]`` in exact integer arithmetic: ``b`` in
    16-bit limbs keeps every partial sum below 2^63 for K < 2^16 (a few queries: no need for BLAS)."""
    if a.shape[1] >= 1 << 16:
        return mat_dot(a, b)
    a64 = a.astype(np.uint64)
    b64 = b.astype(np.uint64)
    lo = a64 @ (b64 & np.uint64(0xFFFF)) % _P64
    hi = a64 @ (b64 >> np.uint64(16)) % _P64
    return ((hi << np.uint64(16)) % _P64 + lo) % _P64


def _ext_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum_i a_i·b_i`` of two ``[n, 4]`` extension vectors, as ``uint64[4]``."""
    return ood_tape.ext_mul(a.astype(np.uint64), b.astype(np.uint64)).sum(axis=0) % np.uint64(P)


def _inv_x_minus(xs: np.ndarray, z: Ext) -> np.ndarray:
    """``1 / (x - z)`` per base-field point ``x`` (``[len(xs), 4]``): one norm per point in numpy, its base-field
    inverse on Python ints (a handful of points: faster than a vectorised Fermat power)."""
    a = bb.ext_sub(bb.ext_from_base(xs), z.to_array()).astype(np.uint64)
    b0, b1, norm = bb._ext_norm_parts(a)
    if np.any(norm == 0):  # the norm vanishes only at a = 0
        raise FriError("a query point coincides with the out-of-domain point")
    ninv = np.array(bb.batch_inv_ints([int(n) for n in norm]), dtype=np.uint64)
    return bb._ext_inv_given_norm_inv(a, b0, b1, ninv)
