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
from zkvm.stark.options import ProofOptions

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
    out.append(("query_indices[0]", lambda p: p.query_indices.__setitem__(0, p.query_indices[0] ^ 1), MerkleError))
    for qi in (0, len(proof.queries) - 1):
        q = proof.queries[qi]
        for t, openings in enumerate(q.tables):
            for o_i, o in enumerate(openings):
                for j in sorted({0, len(o.row) - 1}):
                    out.append((f"queries[{qi}].tables[{t}][{o_i}].row[{j}]",
                                lambda p, qi=qi, t=t, o_i=o_i, j=j: _bump_row(p.queries[qi].tables[t][o_i], j),
                                MerkleError))
                for d in sorted({0, len(o.path) - 1}):
                    out.append((f"queries[{qi}].tables[{t}][{o_i}].path[{d}]",
                                lambda p, qi=qi, t=t, o_i=o_i, d=d: _flip_path(p.queries[qi].tables[t][o_i], d),
                                MerkleError))
        for k, o in enumerate(q.fri):
            for j in sorted({0, len(o.row) - 1}):
                out.append((f"queries[{qi}].fri[{k}].row[{j}]",
                            lambda p, qi=qi, k=k, j=j: _bump_row(p.queries[qi].fri[k], j), MerkleError))
            out.append((f"queries[{qi}].fri[{k}].path[0]",
                        lambda p, qi=qi, k=k: _flip_path(p.queries[qi].fri[k], 0), MerkleError))
    if proof.options.zk:  # salts, the FRI mask commitment and its openings
        out.append(("mask_roots[0]", lambda p: p.mask_roots.__setitem__(0, _flip(p.mask_roots[0])), MerkleError))
        out.append(("mask_roots dropped", lambda p: p.mask_roots.clear(), MalformedProof))
        for qi in (0, len(proof.queries) - 1):
            q = proof.queries[qi]
            for t, openings in enumerate(q.tables):
                for o_i, o in enumerate(openings):
                    if o.salt:
                        out.append((f"queries[{qi}].tables[{t}][{o_i}].salt",
                                    lambda p, qi=qi, t=t, o_i=o_i: _flip_salt(p.queries[qi].tables[t][o_i]),
                                    MerkleError))
            for k in range(len(q.fri)):
                out.append((f"queries[{qi}].fri[{k}].salt", lambda p, qi=qi, k=k: _flip_salt(p.queries[qi].fri[k]),
                            MerkleError))
            out.append((f"queries[{qi}].mask.row[0]", lambda p, qi=qi: _bump_row(p.queries[qi].mask[0], 0),
                        MerkleError))
            out.append((f"queries[{qi}].mask dropped", lambda p, qi=qi: p.queries[qi].mask.clear(), MalformedProof))
            out.append((f"queries[{qi}].fri[0].salt truncated",
                        lambda p, qi=qi: setattr(p.queries[qi].fri[0], "salt", p.queries[qi].fri[0].salt[:-1]),
                        MalformedProof))
            out.append((f"queries[{qi}].mask.salt", lambda p, qi=qi: _flip_salt(p.queries[qi].mask[0]), MerkleError))
            out.append((f"queries[{qi}].mask.path[0]", lambda p, qi=qi: _flip_path(p.queries[qi].mask[0], 0),
                        MerkleError))
    return out


def _flip_salt(o):
    o.salt = _flip(o.salt)


def _bump_row(o, j):
    o.row[j] = (o.row[j] + 1) % P


def _flip_path(o, d):
    o.path[d] = _flip(o.path[d])


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
    from zkvm.stark.transcript import Transcript

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
