"""Multi-table LogUp: a range check against a fixed lookup table (with public terms), a two-table
permutation with padding, tables of different heights."""

from __future__ import annotations

import numpy as np
import pytest

from .airs import FAST, FAST_BITS, permutation_air, permutation_traces, range_air, range_traces
from zkvm.stark import check_trace, commit_fixed, prove, verify
from zkvm.stark.errors import BusError, BusImbalance, ConstraintError, OodMismatch, PublicInputMismatch


@pytest.mark.parametrize("seed", [0, 1])
def test_range_check_honest(seed):
    rng = np.random.default_rng(seed)
    air = range_air()
    terms = [("range8", (7,), 3), ("range8", (255,), 1)]
    fixed, main = range_traces(16, rng, [(7, 3), (255, 1)])
    check_trace(air, fixed, main, {}, terms)
    proof = prove(air, fixed, main, {}, terms, FAST)
    verify(air, proof.to_bytes(), {}, terms, commit_fixed(air, fixed), min_security_bits=FAST_BITS)


def test_range_check_false_public_term_rejected():
    rng = np.random.default_rng(5)
    air = range_air()
    terms = [("range8", (7,), 3)]
    fixed, main = range_traces(16, rng, [(7, 3)])
    proof = prove(air, fixed, main, {}, terms, FAST)
    fd = commit_fixed(air, fixed)
    for bad_terms in ([("range8", (8,), 3)], [("range8", (7,), 2)], []):
        with pytest.raises(BusImbalance):
            verify(air, proof, {}, bad_terms, fd, min_security_bits=FAST_BITS)
    with pytest.raises(PublicInputMismatch):  # a bus the AIR does not have
        verify(air, proof, {}, [("nope", (7,), 3)], fd, min_security_bits=FAST_BITS)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_range_check_out_of_range_value(seed):
    rng = np.random.default_rng(seed)
    air = range_air()
    fixed, main = range_traces(16, rng)
    row = int(rng.integers(0, 16))
    x = int(main["vals"][row, 0])
    bad_x = 256 + int(rng.integers(0, 1000))
    main["vals"][row, 0] = bad_x
    main["vals"][row, 2] = (bad_x * int(main["vals"][row, 1]) + 1) % (15 * 2**27 + 1)
    main["range"][x, 0] -= 1  # the prover drops the lookup it cannot serve
    with pytest.raises(BusError) as info:
        check_trace(air, fixed, main, {})
    assert info.value.bus == "range8", f"seed={seed}"
    proof = prove(air, fixed, main, {}, [], FAST)
    with pytest.raises(BusImbalance):
        verify(air, proof, {}, [], commit_fixed(air, fixed), min_security_bits=FAST_BITS)


def test_range_check_local_constraint_violation():
    rng = np.random.default_rng(9)
    air = range_air()
    fixed, main = range_traces(16, rng)
    main["vals"][3, 2] += 1
    with pytest.raises(ConstraintError) as info:
        check_trace(air, fixed, main, {})
    assert (info.value.table, info.value.constraint, info.value.row) == ("vals", "z_is_xy_plus_1", 3)
    proof = prove(air, fixed, main, {}, [], FAST)
    with pytest.raises(OodMismatch):
        verify(air, proof, {}, [], commit_fixed(air, fixed), min_security_bits=FAST_BITS)


def test_wrong_fixed_table_rejected():
    rng = np.random.default_rng(3)
    air = range_air()
    fixed, main = range_traces(16, rng)
    proof = prove(air, fixed, main, {}, [], FAST)
    other = {"range": (fixed["range"] + 1) % 256}
    with pytest.raises(PublicInputMismatch):
        verify(air, proof, {}, [], commit_fixed(air, other), min_security_bits=FAST_BITS)


@pytest.mark.parametrize("seed", [0, 1])
def test_permutation_honest(seed):
    air = permutation_air()
    main = permutation_traces(8, np.random.default_rng(seed))
    check_trace(air, {}, main, {})
    proof = prove(air, {}, main, {}, [], FAST)
    verify(air, proof.to_bytes(), {}, [], commit_fixed(air, {}), min_security_bits=FAST_BITS)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_permutation_broken(seed):
    rng = np.random.default_rng(seed)
    air = permutation_air()
    main = permutation_traces(8, rng)
    real = np.flatnonzero(main["right"][:, 2])
    row = int(real[int(rng.integers(0, len(real)))])
    main["right"][row, 1] = (int(main["right"][row, 1]) + 1) % (15 * 2**27 + 1)
    with pytest.raises(BusError) as info:
        check_trace(air, {}, main, {})
    assert info.value.bus == "perm", f"seed={seed}"
    proof = prove(air, {}, main, {}, [], FAST)
    with pytest.raises(BusImbalance):
        verify(air, proof, {}, [], commit_fixed(air, {}), min_security_bits=FAST_BITS)


def test_permutation_non_boolean_multiplicity():
    """Two equal real rows merged into one with m = 2 keep the bus balanced but break m·(m-1) = 0."""
    rng = np.random.default_rng(4)
    air = permutation_air()
    main = permutation_traces(8, rng, duplicate=True)
    right = main["right"]
    k0, v0 = main["left"][0]
    rows = np.flatnonzero((right[:, 0] == k0) & (right[:, 1] == v0) & (right[:, 2] == 1))
    assert len(rows) == 2
    right[rows[0], 2] = 2
    right[rows[1]] = 0
    with pytest.raises(ConstraintError) as info:
        check_trace(air, {}, main, {})
    assert (info.value.table, info.value.constraint, info.value.row) == ("right", "m_boolean", rows[0])
    proof = prove(air, {}, main, {}, [], FAST)
    with pytest.raises(OodMismatch):
        verify(air, proof, {}, [], commit_fixed(air, {}), min_security_bits=FAST_BITS)
