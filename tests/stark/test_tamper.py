"""Every field of a proof, tampered in turn, is rejected with the error of the check that guards it.

The verifier's check order (see verifier.py) decides which error a tamper meets first: shapes, security,
fixed digest, Merkle openings (at the proof's own query positions), bus balance, out-of-domain check, FRI,
proof of work, query positions.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from .airs import (FAST, fibonacci_air, fibonacci_trace, permutation_air, permutation_traces, range_air,
                   range_traces)
from zkvm.field.babybear import P
from zkvm.stark import commit_fixed, prove, verify
from zkvm.stark.errors import (BusImbalance, FriError, InsufficientSecurity, MalformedProof, MerkleError,
                               OodMismatch, PowError, PublicInputMismatch, QueryMismatch)
from zkvm.stark.verifying.options import ProofOptions

OPTS = dataclasses.replace(FAST, grinding_bits=8, num_queries=4)
OPTS_ZK = dataclasses.replace(OPTS, zk=True)
MIN_BITS = OPTS.security_bits


def _case(name, zk=False):
    rng = np.random.default_rng(11)
    if name == "fib":
        air = fibonacci_air()
        tr, pubs = fibonacci_trace(16)
        fixed, main, terms = {}, {"fib": tr}, []
    elif name == "range":
        air = range_air()
        terms = [("range8", (9,), 2)]
        fixed, main = range_traces(8, rng, [(9, 2)])
        pubs = {}
    else:
        air = permutation_air()
        fixed, main, terms, pubs = {}, permutation_traces(4, rng), [], {}
    proof = prove(air, fixed, main, pubs, terms, OPTS_ZK if zk else OPTS)
    return air, proof, pubs, terms, commit_fixed(air, fixed)


@pytest.fixture(scope="module", params=[(name, zk) for zk in (False, True) for name in ("fib", "range", "perm")],
                ids=lambda p: p[0] + ("-zk" if p[1] else ""))
def honest(request):
    return _case(*request.param)


def _flip(b: bytes) -> bytes:
    return bytes([b[0] ^ 1]) + b[1:]


def _bump_ext(v):
    return ((v[0] + 1) % P,) + tuple(v[1:])


def _mutations(proof, has_terms):
    """(description, mutate(proof copy), expected error) for every field of the proof."""
    out = [
        ("options.num_queries", lambda p: setattr(p, "options", dataclasses.replace(p.options, num_queries=5)),
         MalformedProof),
        ("options.log_blowup", lambda p: setattr(p, "options", dataclasses.replace(p.options, log_blowup=2)),
         MalformedProof),
        ("options.grinding_bits", lambda p: setattr(p, "options", dataclasses.replace(p.options, grinding_bits=7)),
         InsufficientSecurity),
        # zk changes the proof's shape (salts, quotient chunks, final polynomial, FRI mask)
        ("options.zk", lambda p: setattr(p, "options", dataclasses.replace(p.options, zk=not p.options.zk)),
         MalformedProof),
        ("log_heights", lambda p: p.log_heights.__setitem__(0, p.log_heights[0] + 1), MalformedProof),
        ("pow_nonce", lambda p: setattr(p, "pow_nonce", _bad_nonce(p)), PowError),
    ]
    for i in range(len(proof.fixed_roots)):
        out.append((f"fixed_roots[{i}]", lambda p, i=i: p.fixed_roots.__setitem__(i, _flip(p.fixed_roots[i])),
                    PublicInputMismatch))
    for fld in ("main_roots", "aux_roots", "quotient_roots", "fri_roots"):
        for i in range(len(getattr(proof, fld))):
            out.append((f"{fld}[{i}]", lambda p, f=fld, i=i: getattr(p, f).__setitem__(i, _flip(getattr(p, f)[i])),
                        MerkleError))
    for i in range(len(proof.final_sums)):
        out.append((f"final_sums[{i}]", lambda p, i=i: p.final_sums.__setitem__(i, _bump_ext(p.final_sums[i])),
                    BusImbalance))
    for fld in ("ood_z", "ood_zg"):
        for t, vals in enumerate(getattr(proof, fld)):
            for j in range(len(vals)):
                out.append((f"{fld}[{t}][{j}]",
                            lambda p, f=fld, t=t, j=j: getattr(p, f)[t].__setitem__(j, _bump_ext(getattr(p, f)[t][j])),
                            OodMismatch))
    for i in range(len(proof.final_poly)):
        out.append((f"final_poly[{i}]", lambda p, i=i: p.final_poly.__setitem__(i, _bump_ext(p.final_poly[i])),
                    FriError))
    # swapping two distinct query positions keeps every merged path's sibling count (same set of positions),
    # so the openings meet the Merkle check at the wrong positions; any other index changes the count (shape)
    qs = proof.query_indices
    i, j = next((i, j) for i in range(len(qs)) for j in range(i + 1, len(qs)) if qs[i] != qs[j])
    out.append((f"query_indices[{i}] <-> [{j}]", lambda p, i=i, j=j: _swap(p.query_indices, i, j), MerkleError))
    out.append(("query_indices[0] out of range", lambda p: p.query_indices.__setitem__(0, 1 << 30), MalformedProof))
    out.append(("quotient_roots dropped", lambda p: p.quotient_roots.clear(), MalformedProof))
    for qi in (0, len(proof.queries) - 1):
        q = proof.queries[qi]
        for t, o in enumerate(q.fixed):
            for j in sorted({0, len(o.row) - 1}):
                out.append((f"queries[{qi}].fixed[{t}].row[{j}]",
                            lambda p, qi=qi, t=t, j=j: _bump_row(p.queries[qi].fixed[t], j), MerkleError))
            out.append((f"queries[{qi}].fixed[{t}].salt added",
                        lambda p, qi=qi, t=t: setattr(p.queries[qi].fixed[t], "salt", bytes(16)), MalformedProof))
        for ph, b in enumerate(q.phases):  # every matrix of every phase tree, both ends of its row
            for m, row in enumerate(b.rows):
                for j in sorted({0, len(row) - 1}):
                    out.append((f"queries[{qi}].phases[{ph}].rows[{m}][{j}]",
                                lambda p, qi=qi, ph=ph, m=m, j=j: _bump_batch_row(p.queries[qi].phases[ph], m, j),
                                MerkleError))
            out.append((f"queries[{qi}].phases[{ph}].rows[-1] dropped",
                        lambda p, qi=qi, ph=ph: p.queries[qi].phases[ph].rows.pop(), MalformedProof))
            out.append((f"queries[{qi}].phases[{ph}].rows[0] widened",
                        lambda p, qi=qi, ph=ph: p.queries[qi].phases[ph].rows[0].append(0), MalformedProof))
        out.append((f"queries[{qi}].phases[-1] dropped", lambda p, qi=qi: p.queries[qi].phases.pop(),
                    MalformedProof))
        for k, o in enumerate(q.fri):
            for j in sorted({0, len(o.row) - 1}):
                out.append((f"queries[{qi}].fri[{k}].row[{j}]",
                            lambda p, qi=qi, k=k, j=j: _bump_row(p.queries[qi].fri[k], j), MerkleError))
    # merged authentication paths: one list per tree (fixed trees, phase trees, FRI layers)
    for t, path in enumerate(proof.auth_paths):
        for d in sorted({0, len(path) - 1} if path else set()):  # a tree opened everywhere sends no sibling
            out.append((f"auth_paths[{t}][{d}]", lambda p, t=t, d=d: _flip_path(p.auth_paths[t], d), MerkleError))
        if path:
            out.append((f"auth_paths[{t}] truncated", lambda p, t=t: p.auth_paths[t].pop(), MalformedProof))
        out.append((f"auth_paths[{t}] extended", lambda p, t=t: p.auth_paths[t].append(bytes(32)), MalformedProof))
    out.append(("auth_paths[-1] dropped", lambda p: p.auth_paths.pop(), MalformedProof))
    if proof.options.zk:  # salts: the leaf salt of every phase tree and of every FRI layer
        for qi in (0, len(proof.queries) - 1):
            q = proof.queries[qi]
            for ph in range(len(q.phases)):
                out.append((f"queries[{qi}].phases[{ph}].salt",
                            lambda p, qi=qi, ph=ph: _flip_salt(p.queries[qi].phases[ph]), MerkleError))
                out.append((f"queries[{qi}].phases[{ph}].salt truncated",
                            lambda p, qi=qi, ph=ph: setattr(p.queries[qi].phases[ph], "salt",
                                                            p.queries[qi].phases[ph].salt[:-1]), MalformedProof))
            for k in range(len(q.fri)):  # FRI leaves are never salted (zk.py, 1. and 4.)
                out.append((f"queries[{qi}].fri[{k}] salted",
                            lambda p, qi=qi, k=k: setattr(p.queries[qi].fri[k], "salt", bytes(16)), MalformedProof))
    else:
        out.append(("queries[0].phases[0] salted",
                    lambda p: setattr(p.queries[0].phases[0], "salt", bytes(16)), MalformedProof))
    return out


def _swap(items, i, j):
    items[i], items[j] = items[j], items[i]


def _bump_batch_row(b, m, j):
    b.rows[m][j] = (b.rows[m][j] + 1) % P


def _flip_salt(o):
    o.salt = _flip(o.salt)


def _bump_row(o, j):
    o.row[j] = (o.row[j] + 1) % P


def _flip_path(path, d):
    path[d] = _flip(path[d])


def _bad_nonce(p):
    return (p.pow_nonce + 1) % (1 << 64)


def test_every_field_tampered_is_rejected_specifically(honest):
    air, proof, pubs, terms, fd = honest
    min_bits = proof.options.security_bits
    verify(air, proof, pubs, terms, fd, min_security_bits=min_bits)
    failures = []
    for desc, mutate, expected in _mutations(proof, bool(terms)):
        bad = copy.deepcopy(proof)
        mutate(bad)
        try:
            verify(air, bad, pubs, terms, fd, min_security_bits=min_bits)
            failures.append(f"{desc}: accepted")
        except expected:
            pass
        except Exception as e:  # noqa: BLE001 - we report which error came instead
            failures.append(f"{desc}: {type(e).__name__} instead of {expected.__name__}: {e}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", ["fib", "range"])
def test_query_positions_must_come_from_the_transcript(name, monkeypatch):
    """A prover choosing its own query positions (openings honest there) is rejected."""
    from zkvm.stark.verifying.transcript import Transcript

    honest_air, _, pubs, terms, fd = _case(name)
    monkeypatch.setattr(Transcript, "query_indices", lambda self, label, count, size: list(range(count)))
    _, chosen, _, _, _ = _case(name)
    monkeypatch.undo()
    with pytest.raises(QueryMismatch):
        verify(honest_air, chosen, pubs, terms, fd, min_security_bits=MIN_BITS)


def test_security_policy():
    air, proof, pubs, terms, fd = _case("fib")
    with pytest.raises(InsufficientSecurity):
        verify(air, proof, pubs, terms, fd)  # default minimum: 100 bits
    assert ProofOptions().security_bits >= 100


@pytest.mark.parametrize("zk", [False, True])
def test_two_queries_opening_one_leaf_differently_are_rejected(zk, monkeypatch):
    """Queries that share a leaf share its path: the verifier must check that both openings agree, else only
    one of them would be authenticated (and the other's rows would feed DEEP/FRI unchecked). An honest prover
    with repeated query positions, then one of the two openings tampered, in each kind of tree."""
    from zkvm.stark.verifying.transcript import Transcript

    monkeypatch.setattr(Transcript, "query_indices", lambda self, label, count, size: [5, 5] + list(range(count - 2)))
    air, proof, pubs, terms, fd = _case("range", zk)
    monkeypatch.undo()
    with pytest.raises(QueryMismatch):  # honest openings at positions the transcript did not choose
        verify(air, proof, pubs, terms, fd, min_security_bits=proof.options.security_bits)
    kinds = [("fixed", lambda q: q.fixed[0].row), ("main", lambda q: q.phases[0].rows[0]),
             ("quotient", lambda q: q.phases[-1].rows[-1]), ("FRI", lambda q: q.fri[-1].row)]
    for name, row_of in kinds:
        for qi in (0, 1):  # the first and the second opening of the shared position
            bad = copy.deepcopy(proof)
            row = row_of(bad.queries[qi])
            row[0] = (row[0] + 1) % P
            with pytest.raises(MerkleError):
                verify(air, bad, pubs, terms, fd, min_security_bits=proof.options.security_bits)
