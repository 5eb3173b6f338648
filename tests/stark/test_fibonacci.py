"""Fibonacci: the smallest end-to-end check of the DSL, prover and verifier."""

from __future__ import annotations

import numpy as np
import pytest

from .airs import FAST, FAST_BITS, fibonacci_air, fibonacci_trace
from zkvm.stark import check_trace, commit_fixed, prove, verify
from zkvm.stark.errors import ConstraintError, OodMismatch
from zkvm.stark.verifying.proof import Proof


@pytest.mark.parametrize("n", [2, 8, 256])
def test_honest_proof_verifies(n):
    air = fibonacci_air()
    tr, pubs = fibonacci_trace(n)
    check_trace(air, {}, {"fib": tr}, pubs)
    proof = prove(air, {}, {"fib": tr}, pubs, [], FAST)
    data = proof.to_bytes()
    verify(air, Proof.from_bytes(data), pubs, [], commit_fixed(air, {}), min_security_bits=FAST_BITS)


def test_default_options_verify_at_100_bits():
    air = fibonacci_air()
    tr, pubs = fibonacci_trace(64)
    proof = prove(air, {}, {"fib": tr}, pubs)
    verify(air, proof.to_bytes(), pubs, [], commit_fixed(air, {}))


def test_false_public_claim_rejected():
    air = fibonacci_air()
    tr, pubs = fibonacci_trace(32)
    proof = prove(air, {}, {"fib": tr}, pubs, [], FAST)
    with pytest.raises(OodMismatch):
        verify(air, proof, dict(pubs, out=(pubs["out"] + 1)), [], commit_fixed(air, {}), min_security_bits=FAST_BITS)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_false_witness_caught_by_checker_and_verifier(seed):
    rng = np.random.default_rng(seed)
    air = fibonacci_air()
    tr, pubs = fibonacci_trace(64)
    bad = tr.copy()
    row, col = int(rng.integers(0, 64)), int(rng.integers(0, 2))
    bad[row, col] = (int(bad[row, col]) + 1 + int(rng.integers(0, 1000))) % (2**31 - 2**27 + 1)
    with pytest.raises(ConstraintError) as info:
        check_trace(air, {}, {"fib": bad}, pubs)
    assert info.value.table == "fib", f"seed={seed}"
    proof = prove(air, {}, {"fib": bad}, pubs, [], FAST)  # checker bypassed
    with pytest.raises(OodMismatch):
        verify(air, proof, pubs, [], commit_fixed(air, {}), min_security_bits=FAST_BITS)


@pytest.mark.parametrize("log_blowup", [1, 2, 3, 4])
@pytest.mark.parametrize("log_arity", [1, 2, 3])
def test_every_blowup_and_folding_arity(log_blowup, log_arity):
    import dataclasses

    air = fibonacci_air()
    tr, pubs = fibonacci_trace(64)
    opts = dataclasses.replace(FAST, log_blowup=log_blowup, log_fold_arity=log_arity, log_final_len=0)
    proof = prove(air, {}, {"fib": tr}, pubs, [], opts)
    verify(air, proof.to_bytes(), pubs, [], commit_fixed(air, {}), min_security_bits=opts.security_bits)
    with pytest.raises(OodMismatch):
        verify(air, proof, dict(pubs, out=0), [], commit_fixed(air, {}), min_security_bits=opts.security_bits)


def test_progress_bar_and_timings(capsys):
    air = fibonacci_air()
    tr, pubs = fibonacci_trace(16)
    timings: dict = {}
    prove(air, {}, {"fib": tr}, pubs, [], FAST, progress=True, timings=timings)
    assert set(timings) >= {"lde", "merkle", "quotient", "fri"}
