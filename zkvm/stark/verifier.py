"""The STARK verifier: pure Python + numpy + hashlib, imports no compiled extension.

Cost bound: a proof of N bytes (with public terms of T rows) costs O(N + T) time and memory - every count is
derived from the AIR, the options and the heights (``shape.py``), never read from the proof, and public terms
are arrays processed in chunks. For receipts (``zkvm.receipt.verify``) the stated constant is: at most
128 MiB + 16·N of address space and about 2 s + 1 µs·N for a receipt of N bytes (README, "Verifier cost";
checked under RLIMIT_AS by tests/soundness/test_hostile_receipts.py). Only the checks' own typed errors are
rejections: anything else raised here is a bug and propagates as such.

Checks, in this order (each failure raises its own ``VerificationError`` subclass):
1. shapes of every proof field against the AIR and options (``MalformedProof``);
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

from typing import Mapping

import numpy as np

from zkvm.field import babybear as bb
from zkvm.field.babybear import GENERATOR, Ext, P
from zkvm.stark import fri, logup, zk
from zkvm.stark.air import Air, CompiledTable
from zkvm.stark.algebra import ExtScalarOps, mat_dot
from zkvm.stark.errors import (BusImbalance, FriError, InsufficientSecurity, MalformedProof, MerkleError, OodMismatch,
                               PowError, PublicInputMismatch, QueryMismatch)
from zkvm.stark.merkle_verify import leaf_digests, leaf_hash, mixed_multi_root, multiproof_root
from zkvm.stark.proof import Proof
from zkvm.stark.protocol import (FRI_MASK, absorb_statement, constraint_values, fixed_digest, max_tuple_len,
                                 normalize_public_terms, publics_vector)
from zkvm.stark.shape import proof_shape
from zkvm.stark.transcript import Transcript

_BASIS = [Ext(1), Ext(0, 1), Ext(0, 0, 1), Ext(0, 0, 0, 1)]


def verify(air: Air, proof: Proof | bytes, publics: Mapping[str, int], public_terms=(), fixed_digest: bytes = b"",
           min_security_bits: int = 100) -> None:
    """Return None if ``proof`` is valid for ``air`` and this statement, else raise a VerificationError subclass.

    Bytes are parsed against the AIR (``Proof.from_bytes(data, air)``: every count derived, read exactly); a
    ``Proof`` object is checked against the same shape. Nothing else is caught: any other exception is a bug
    of the verifier, not a property of the proof, and is not disguised as a rejection."""
    if isinstance(proof, (bytes, bytearray, memoryview)):
        proof = Proof.from_bytes(proof, air)
    if not isinstance(proof, Proof):
        raise MalformedProof("not a Proof")
    _verify(air, proof, publics, public_terms, fixed_digest, min_security_bits)


def _ext(v) -> Ext:
    return Ext(*v)


def _from_coords(vals) -> Ext:
    """Extension value of a committed extension column from the values of its 4 coordinate polynomials."""
    acc = Ext(0)
    for c, v in enumerate(vals):
        acc = acc + _BASIS[c] * v
    return acc


def _verify(air: Air, proof: Proof, publics, public_terms, fdigest: bytes, min_security_bits: int) -> None:
    opts = proof.options
    # ---- 1. shapes: every count follows from the AIR, the options and the heights (shape.py)
    shape = proof_shape(air, opts, proof.log_heights)
    ca, tables, heights = shape.ca, shape.tables, list(shape.log_heights)
    plans, lbs, lde_sizes, sizes = shape.plans, shape.log_blowups, shape.lde_sizes, shape.fri_sizes
    phases = shape.phases
    n_max = shape.n_max
    fixed_tables = list(shape.fixed_tables)
    _expect(len(proof.fixed_roots), len(fixed_tables), "fixed roots")
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
    for q, qp in zip(proof.query_indices, proof.queries):
        if not 0 <= q < n_max:
            raise MalformedProof("query index out of range")
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
        _expect(len(qp.fri), len(sizes) - 1, "FRI openings in a query")
        for o, width in zip(qp.fri, shape.fri_widths):
            _expect(len(o.row), width, "FRI leaf width")
            _expect(len(o.salt), 0, "FRI leaf salt length")  # never salted (zk.py, 4.)
    # one merged authentication path per tree: its length follows from the AIR, the options (tree depths) and
    # the query positions (which siblings the paths share)
    qs_list = list(proof.query_indices)
    trees = shape.trees(qs_list)
    _expect(len(proof.auth_paths), len(trees), "authentication path lists")
    for (what, _, _), n, path in zip(trees, shape.path_lengths(qs_list), proof.auth_paths):
        _expect(len(path), n, f"siblings of the {what}")

    # ---- 2. security policy
    if opts.security_bits < min_security_bits:
        raise InsufficientSecurity(f"proof gives {opts.security_bits} conjectured bits, verifier requires "
                                   f"{min_security_bits}")

    # ---- 3. statement
    pubs_vec = publics_vector(air, publics)
    pubs = dict(zip(air.publics, pubs_vec))
    terms = normalize_public_terms(air.compile(), public_terms)  # the blinding bus takes no public terms
    fixed_heights = [lh for ct, lh in zip(tables, heights) if ct.n_fixed]
    if not isinstance(fdigest, (bytes, bytearray)) or fixed_digest(ca, fixed_heights, proof.fixed_roots) != fdigest:
        raise PublicInputMismatch("fixed commitment does not match fixed_digest")

    # ---- 4. Merkle openings at the proof's query positions (each tree: all queries at once)
    paths = iter(zip(trees, proof.auth_paths))
    for f, root in enumerate(proof.fixed_roots):
        (what, depth, positions), path = next(paths)
        _check_tree(what, root, depth, positions, [leaf_hash(qp.fixed[f].row) for qp in proof.queries], path)
    phase_roots = {"main": proof.main_roots, "aux": proof.aux_roots, "quotient": proof.quotient_roots}
    for ph, (name, mats) in enumerate(phases.items()):
        (what, depth, positions), path = next(paths)
        log_heights = [lh for _, lh, _ in mats]
        rows = [qp.phases[ph].rows for qp in proof.queries]
        salts = [qp.phases[ph].salt for qp in proof.queries]
        if mixed_multi_root(log_heights, qs_list, rows, salts, path) != phase_roots[name][0]:
            raise MerkleError(f"{what}: the openings do not authenticate")
    for k, root in enumerate(proof.fri_roots):
        (what, depth, positions), path = next(paths)
        _check_tree(what, root, depth, positions, [leaf_hash(qp.fri[k].row, qp.fri[k].salt) for qp in proof.queries],
                    path)
    opened = _opened_rows(proof, tables, fixed_tables, phases)

    # ---- 5. transcript replay and bus balance
    tr = Transcript()
    absorb_statement(tr, ca, opts, heights, pubs_vec, terms, fdigest)
    for root in proof.main_roots:
        tr.absorb("main_root", root)
    alpha = tr.challenge_ext("alpha")
    beta = tr.challenge_ext("beta")
    betas = logup.beta_powers(beta, max_tuple_len(ca))
    for root in proof.aux_roots:
        tr.absorb("aux_root", root)
    for fs in proof.final_sums:
        tr.absorb("final_sum", np.asarray(fs, dtype="<u4").tobytes())
    lam = tr.challenge_ext("lambda")
    for root in proof.quotient_roots:
        tr.absorb("quotient_root", root)
    while True:
        zeta = tr.challenge_ext("zeta")
        if any(zeta.c[1:]):
            break
    for z, zg in zip(proof.ood_z, proof.ood_zg):
        for v in list(z) + list(zg):
            tr.absorb("ood", np.asarray(v, dtype="<u4").tobytes())
    gamma = tr.challenge_ext("gamma")
    fri_betas = []
    for root in proof.fri_roots:
        tr.absorb("fri_root", root)
        fri_betas.append(tr.challenge_ext("fri_beta"))
    tr.absorb("final_poly", np.asarray(proof.final_poly, dtype="<u4").reshape(-1).tobytes())

    if ca.bus_ids:
        total = Ext(0)
        for fs in proof.final_sums:
            total = total + _ext(fs)
        try:
            total = total + logup.public_contribution(ca, terms, alpha, betas)
        except ZeroDivisionError:
            raise BusImbalance("a public term's LogUp denominator vanished") from None
        if not total.is_zero():
            raise BusImbalance("the LogUp sums of all tables and the public terms do not add up to zero")

    # ---- 6. constraints at zeta
    finals = iter(proof.final_sums)
    table_finals = [_ext(next(finals)) if ct.has_bus else None for ct in tables]
    for ct, lh, z, zg, final, plan in zip(tables, heights, proof.ood_z, proof.ood_zg, table_finals, plans):
        _check_ood(ct, air, lh, [_ext(v) for v in z], [_ext(v) for v in zg], pubs, alpha, betas, ca.bus_ids,
                   final, lam, zeta, plan)

    # ---- 7. DEEP + FRI at every query
    counter = 0
    deep_coeffs = []
    for ct, z, zg in zip(tables, proof.ood_z, proof.ood_zg):
        total = len(z) + len(zg)
        gp = [Ext(1)]
        g_start = gamma ** counter
        for _ in range(total - 1):
            gp.append(gp[-1] * gamma)
        gp = [g_start * g for g in gp]
        deep_coeffs.append(np.array([g.c for g in gp], dtype=np.uint32).reshape(total, 4))
        counter += total
    deep_vals = []  # per table: list over queries of Ext
    for t, (ct, lh, z, zg) in enumerate(zip(tables, heights, proof.ood_z, proof.ood_zg)):
        deep_vals.append(_deep_at_queries(ct, lh, lbs[t], proof, opened[t], deep_coeffs[t], z, zg, zeta))
    by_size: dict[int, list[int]] = {}
    for t, size in enumerate(lde_sizes):
        by_size.setdefault(size, []).append(t)
    qs = np.asarray(proof.query_indices, dtype=np.int64)
    n_q = len(qs)

    def deep_sum(ts):
        acc = np.zeros((n_q, 4), dtype=np.uint32)
        for t in ts:
            acc = bb.ext_add(acc, deep_vals[t])
        return acc

    value = deep_sum(by_size.get(n_max, []))
    if opts.zk:  # zk.py, 4.: FRI runs on DEEP + gamma^M·R, R opened at every query
        mask_rows = np.asarray([qp.phases[-1].rows[-1] for qp in proof.queries], dtype=np.uint32).reshape(n_q, 4)
        value = bb.ext_add(value, bb.ext_mul(mask_rows, (gamma ** counter).to_array()))
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

    # ---- 8. proof of work and query positions
    if not tr.check_pow(proof.pow_nonce, opts.grinding_bits):
        raise PowError(f"proof-of-work nonce lacks {opts.grinding_bits} leading zero bits")
    tr.absorb("pow", proof.pow_nonce.to_bytes(8, "little"))
    if tr.query_indices("queries", opts.num_queries, n_max) != list(proof.query_indices):
        raise QueryMismatch("query positions differ from the transcript's")


def _check_tree(what: str, root: bytes, depth: int, positions: list[int], digests: list[bytes],
                siblings: list[bytes]) -> None:
    """All queries' leaves of a single-matrix tree against its root, through their merged path."""
    leaves = leaf_digests(positions, digests)
    if leaves is None:
        raise MerkleError(f"{what}: two queries open the same leaf with different rows")
    if multiproof_root(depth, leaves, siblings) != root:
        raise MerkleError(f"{what}: the openings do not authenticate")


def _expect(got: int, want: int, what: str) -> None:
    if got != want:
        raise MalformedProof(f"{what}: expected {want}, got {got}")


def _sum(items) -> Ext:
    acc = Ext(0)
    for v in items:
        acc = acc + v
    return acc


def _opened_rows(proof: Proof, tables: list[CompiledTable], fixed_tables, phases) -> list[list[dict]]:
    """Per table, per query: ``{"fixed"|"main"|"aux"|"quot": opened row}`` (shapes already checked)."""
    kind_of = {"main": "main", "aux": "aux", "quotient": "quot"}
    out: list[list[dict]] = [[{} for _ in proof.queries] for _ in tables]
    for qi, qp in enumerate(proof.queries):
        for (t, _), o in zip(fixed_tables, qp.fixed):
            out[t][qi]["fixed"] = o.row
        for (name, mats), b in zip(phases.items(), qp.phases):
            for (t, _, _), row in zip(mats, b.rows):
                if t != FRI_MASK:
                    out[t][qi][kind_of[name]] = row
    return out


def _check_ood(ct: CompiledTable, air: Air, lh: int, z: list[Ext], zg: list[Ext], pubs, alpha, betas, bus_ids,
               final, lam: Ext, zeta: Ext, plan: zk.TablePlan) -> None:
    nf, nm = ct.n_fixed, ct.n_main
    fixed_z, main_z = z[:nf], z[nf:nf + nm]
    aux_z = z[nf + nm:nf + nm + ct.n_aux]
    quot_z = z[nf + nm + ct.n_aux:]
    nfx, nmx = len(ct.next_fixed), len(ct.next_main)
    fixed_next = dict(zip(ct.next_fixed, zg[:nfx]))
    main_next = dict(zip(ct.next_main, zg[nfx:nfx + nmx]))
    s_next = _from_coords(zg[nfx + nmx:]) if ct.has_bus else None

    def column(kind, idx, nxt):
        if kind == "main":
            return main_next[idx] if nxt else main_z[idx]
        return fixed_next[idx] if nxt else fixed_z[idx]

    def aux(g):
        return _from_coords(aux_z[4 * g:4 * g + 4])

    ops = ExtScalarOps()
    vals = constraint_values(ct, air, ops, ops, column, pubs.__getitem__, aux, s_next, alpha, betas, bus_ids, final)
    acc = {k: Ext(0) for k in ("always", "transition", "first", "last")}
    lp = Ext(1)
    for (kind, _), v in zip(ct.constraint_names, vals):
        acc[kind] = acc[kind] + lp * v
        lp = lp * lam
    n = 1 << lh
    g_last = bb.inv_int(bb.two_adic_root(lh))
    zh = zeta ** n - 1
    u, v = zeta - 1, zeta - g_last
    expected = (acc["always"] + v * acc["transition"]) / zh + acc["first"] / u + acc["last"] / v
    zn = zeta ** plan.chunk_len  # n without zk
    actual = Ext(0)
    scale = Ext(1)
    for c in range(plan.chunks):
        actual = actual + scale * _from_coords(quot_z[4 * c:4 * c + 4])
        scale = scale * zn
    if expected != actual:
        raise OodMismatch(f"table {ct.name!r}: constraints at zeta do not match the quotient")


def _deep_at_queries(ct: CompiledTable, lh: int, lb: int, proof: Proof, table_rows: list[dict], coeffs: np.ndarray,
                     z, zg, zeta: Ext) -> np.ndarray:
    """A table's DEEP quotient at each query's point (``[queries, 4]``), from its opened rows (``table_rows``:
    per query, kind -> row; ``lb``: the table's LDE blowup)."""
    rows_z, rows_zg = [], []
    for opened in table_rows:
        rz = []
        for kind in ("fixed", "main", "aux", "quot"):
            rz += opened.get(kind, [])
        rzg = [opened["fixed"][i] for i in ct.next_fixed] + [opened["main"][i] for i in ct.next_main]
        if ct.has_bus:
            g = len(ct.groups)
            rzg += opened["aux"][4 * g:4 * g + 4]
        rows_z.append(rz)
        rows_zg.append(rzg)
    nz = len(z)
    fz = mat_dot(np.asarray(rows_z, dtype=np.uint32).reshape(len(rows_z), -1), coeffs[:nz])
    vz = _sum(Ext(c) * _ext(v) for c, v in zip(coeffs[:nz], z))
    if zg:
        fzg = mat_dot(np.asarray(rows_zg, dtype=np.uint32).reshape(len(rows_zg), -1), coeffs[nz:])
        vzg = _sum(Ext(c) * _ext(v) for c, v in zip(coeffs[nz:], zg))
    zg_point = zeta * bb.two_adic_root(lh)
    big_n = (1 << lh) << lb
    omega = bb.two_adic_root(lh + lb)
    xs = np.asarray([GENERATOR * bb.pow_int(omega, q % big_n) % P for q in proof.query_indices], dtype=np.uint32)
    out = bb.ext_mul(bb.ext_sub(fz, vz.to_array()), _inv_x_minus(xs, zeta))
    if zg:
        out = bb.ext_add(out, bb.ext_mul(bb.ext_sub(fzg, vzg.to_array()), _inv_x_minus(xs, zg_point)))
    return out


def _inv_x_minus(xs: np.ndarray, z: Ext) -> np.ndarray:
    try:
        return bb.ext_inv(bb.ext_sub(bb.ext_from_base(xs), z.to_array()))
    except ZeroDivisionError:
        raise FriError("a query point coincides with the out-of-domain point") from None
