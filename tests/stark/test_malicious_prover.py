"""Provers that deviate inside the protocol (Merkle-consistent, transcript-consistent) are caught by FRI."""

from __future__ import annotations

import numpy as np
import pytest

from .airs import FAST, fibonacci_air, fibonacci_trace, range_air, range_traces
from zkvm.field import babybear as bb
from zkvm.stark import commit_fixed, verify
from zkvm.stark.errors import FriError
from zkvm.stark.proving import prover
from zkvm.stark.verifying import fri


def _statement(name):
    if name == "fib":
        air = fibonacci_air()
        tr, pubs = fibonacci_trace(32)
        return air, {}, {"fib": tr}, pubs, []
    rng = np.random.default_rng(2)
    air = range_air()
    fixed, main = range_traces(8, rng)
    return air, fixed, main, {}, []


def _noise(shape, seed):
    return np.random.default_rng(seed).integers(1, bb.P, shape, dtype=np.uint64).astype(np.uint32)


@pytest.mark.parametrize("name", ["fib", "range"])
def test_deep_quotient_not_matching_openings(name, monkeypatch):
    """Layer 0 committed to something other than the DEEP quotient of the opened rows."""
    honest_deep = prover._deep

    def lying_deep(*args, **kwargs):
        d, counter = honest_deep(*args, **kwargs)
        return bb.ext_add(d, _noise(d.shape, 1)), counter

    monkeypatch.setattr(prover, "_deep", lying_deep)
    air, fixed, main, pubs, terms = _statement(name)
    proof = prover.prove(air, fixed, main, pubs, terms, FAST)
    monkeypatch.undo()
    with pytest.raises(FriError, match="layer 0"):
        verify(air, proof, pubs, terms, commit_fixed(air, fixed), min_security_bits=FAST.security_bits)


@pytest.mark.parametrize("name", ["fib", "range"])
def test_fold_not_matching_previous_layer(name, monkeypatch):
    """A folded layer that is not the fold of the previous one."""
    honest_fold = fri.fold_array
    calls = []

    def lying_fold(f, beta, shift, log_arity, kernels=bb):
        out = honest_fold(f, beta, shift, log_arity, kernels)
        calls.append(out.shape[0])
        return bb.ext_add(out, _noise(out.shape, 2))

    monkeypatch.setattr(fri, "fold_array", lying_fold)
    air, fixed, main, pubs, terms = _statement(name)
    proof = prover.prove(air, fixed, main, pubs, terms, FAST)
    monkeypatch.undo()
    assert calls, "the prover folded at least once"
    with pytest.raises(FriError):
        verify(air, proof, pubs, terms, commit_fixed(air, fixed), min_security_bits=FAST.security_bits)
