"""Zero-knowledge STARK proofs of the example AIRs: they verify at the default (zk, >= 100 bit) options, two
proofs of the same trace share no opened value or salt, and the sizing rules of zk.py hold for every height."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stark.airs import (FAST, FAST_ZK, fibonacci_air, fibonacci_trace, permutation_air,  # noqa: E402
                        permutation_traces, range_air, range_traces)
from zkvm.errors import InputError  # noqa: E402
from zkvm.field.babybear import P  # noqa: E402
from zkvm.stark import commit_fixed, prove, verify  # noqa: E402
from zkvm.stark.proving import prng  # noqa: E402
from zkvm.stark.verifying import zk  # noqa: E402
from zkvm.stark.verifying.options import FIXED_LOG_BLOWUP, NON_ZK_DEFAULT, ProofOptions, default_options  # noqa: E402
from zkvm.stark.verifying.proof import Proof  # noqa: E402


def _case(name: str, seed: int = 5):
    rng = np.random.default_rng(seed)
    if name == "fib":
        tr, pubs = fibonacci_trace(256)
        return fibonacci_air(), {}, {"fib": tr}, pubs, []
    if name == "range":
        fixed, main = range_traces(64, rng, [(9, 2)])
        return range_air(), fixed, main, {}, [("range8", (9,), 2)]
    return permutation_air(), {}, permutation_traces(16, rng), {}, []


@pytest.mark.parametrize("name", ["fib", "range", "perm"])
def test_default_options_are_zk_and_verify_at_100_bits(name):
    air, fixed, main, pubs, terms = _case(name)
    opts = ProofOptions()
    assert opts.zk and opts.security_bits >= 100
    proof = prove(air, fixed, main, pubs, terms)  # defaults
    data = proof.to_bytes()
    assert Proof.from_bytes(data).to_bytes() == data
    assert Proof.from_bytes(data).options.zk
    verify(air, data, pubs, terms, commit_fixed(air, fixed))  # default minimum: 100 bits


def test_default_option_sets():
    assert default_options(True) == ProofOptions() and default_options(False) == NON_ZK_DEFAULT
    assert not NON_ZK_DEFAULT.zk and NON_ZK_DEFAULT.security_bits >= 100
    # the zk rate slack costs security: same queries, fewer bits
    assert dataclasses.replace(NON_ZK_DEFAULT, zk=True).security_bits < NON_ZK_DEFAULT.security_bits


def _private_values(proof: Proof) -> tuple[list[int], list[bytes]]:
    """Every opened value except the (public, unsalted) fixed columns, and every salt."""
    vals: list[int] = []
    salts: list[bytes] = []
    for group in proof.ood_z + proof.ood_zg:
        for v in group:
            vals.extend(v)
    for qp in proof.queries:  # the fixed openings (public, unsalted) are left out
        for b in qp.phases:
            for row in b.rows:
                vals.extend(row)
            salts.append(b.salt)
        for o in qp.fri:  # FRI leaves are unsalted (zk.py, 1.): their values must still differ
            vals.extend(o.row)
    for c in proof.final_poly:
        vals.extend(c)
    return vals, salts


@pytest.mark.parametrize("name", ["fib", "perm"])
def test_two_zk_proofs_differ_in_every_opened_value_and_salt(name):
    """Tables without fixed columns: nothing opened is public, so no value may repeat between two proofs (and
    FRI leaves, unsalted, carry none)."""
    air, fixed, main, pubs, terms = _case(name)
    a = prove(air, fixed, main, pubs, terms, FAST_ZK)
    b = prove(air, fixed, main, pubs, terms, FAST_ZK)
    va, sa = _private_values(a)
    vb, sb = _private_values(b)
    assert len(va) == len(vb) and len(sa) == len(sb) and len(sa) > 0
    same = [i for i, (x, y) in enumerate(zip(va, vb)) if x == y]
    # a value equal by chance has probability ~1/p per position
    assert len(same) <= 1, f"{len(same)} of {len(va)} opened values repeat between two zk proofs"
    assert all(len(s) == zk.SALT_BYTES for s in sa)
    assert not set(sa) & set(sb), "a salt repeats between two proofs"
    assert all(o.salt == b"" for p in (a, b) for qp in p.queries for o in qp.fri)


def test_non_zk_proofs_are_deterministic():
    """The control for the test above: without zk the same trace gives the very same proof."""
    air, fixed, main, pubs, terms = _case("fib")
    assert prove(air, fixed, main, pubs, terms, FAST).to_bytes() == prove(air, fixed, main, pubs, terms,
                                                                           FAST).to_bytes()


def test_fixed_openings_stay_unsalted_and_public():
    air, fixed, main, pubs, terms = _case("range")
    a = prove(air, fixed, main, pubs, terms, FAST_ZK)
    fixed_openings = [qp.fixed[0] for qp in a.queries]  # table "range": its fixed tree
    assert all(o.salt == b"" for o in fixed_openings)
    assert a.fixed_roots == prove(air, fixed, main, pubs, terms, FAST).fixed_roots


def test_seeded_randomness_is_reproducible_and_os_randomness_is_not():
    air, fixed, main, pubs, terms = _case("fib")
    p1 = prove(air, fixed, main, pubs, terms, FAST_ZK, zk_randomness=prng.Randomness(test_seed=1))
    p2 = prove(air, fixed, main, pubs, terms, FAST_ZK, zk_randomness=prng.Randomness(test_seed=1))
    assert p1.to_bytes() == p2.to_bytes()
    r = prng.Randomness()
    x, y = r.field((64,)), r.field((64,))
    assert not np.array_equal(x, y) and x.max() < P and y.max() < P
    assert not np.array_equal(r.salts(4), r.salts(4))


# ---------------------------------------------------------------- sizing rules (zk.py)

def _dq(n: int, k: int) -> int:
    return 2 * n + 3 * k


@pytest.mark.parametrize("opts", [ProofOptions(), FAST_ZK, dataclasses.replace(ProofOptions(), num_queries=80),
                                  dataclasses.replace(ProofOptions(), log_blowup=3, log_final_len=3)])
@pytest.mark.parametrize("log_h", [1, 2, 3, 5, 8, 12, 16, 20])
@pytest.mark.parametrize("has_fixed", [False, True])
def test_plan_hides_every_opened_point_and_fits_the_fri_bound(opts, log_h, has_fixed):
    try:
        plan = zk.table_plan(opts, log_h, has_fixed, FIXED_LOG_BLOWUP)
    except ValueError:
        # only a short table with fixed columns may be refused (its extension is capped by the fixed LDE)
        assert has_fixed and log_h <= 8, (opts, log_h)
        return
    n, q = 1 << log_h, opts.num_queries
    n_c = n << plan.log_ext
    fd = 1 << opts.log_final_len
    bound = n_c * (fd + 1) // fd                       # the table's FRI degree bound (zk slack)
    assert plan.trace_mask >= 2 * q + 2                 # query points, their next rows, zeta, zeta·g
    assert plan.quot_mask >= q + 1                      # query points and zeta
    assert n + plan.trace_mask <= bound                 # randomised columns pass FRI
    assert plan.chunk_len + plan.quot_mask <= bound     # blinded chunks pass FRI
    assert plan.chunks * plan.chunk_len >= _dq(n, plan.trace_mask)  # the chunks hold all of Q
    assert _dq(n, plan.trace_mask) <= n_c << opts.log_blowup        # Q is determined on the LDE coset
    assert n_c >= fd
    if has_fixed:
        assert opts.log_blowup + plan.log_ext <= FIXED_LOG_BLOWUP
    if log_h >= 16 and opts.log_blowup >= 2:
        assert plan.log_ext == 0                        # big tables pay only the slack, not a bigger coset


def test_plan_without_zk_is_the_plain_protocol():
    plan = zk.table_plan(NON_ZK_DEFAULT, 10, True, FIXED_LOG_BLOWUP)
    assert plan == zk.TablePlan(0, 0, 0, 1024, 2)


def test_short_fixed_table_too_small_to_hide_is_refused():
    t_air = range_air()
    fixed, main = range_traces(4, np.random.default_rng(0))
    fixed = {"range": fixed["range"][:4]}   # a 4-row lookup table (with its multiplicities)
    main = {"range": np.array([[2], [0], [2], [4]], dtype=np.uint32), "vals": main["vals"]}
    with pytest.raises(InputError, match="zero knowledge"):
        prove(t_air, fixed, main, {}, [], dataclasses.replace(ProofOptions(), num_queries=200))


@pytest.mark.parametrize("name", ["fib", "range"])
def test_zk_proof_is_the_same_with_the_numpy_fallbacks(name, monkeypatch):
    """The randomised LDE, the long-chunk evaluation and the keystream have numpy fallbacks for machines
    without the extension: with the same seed they must give the very same proof (and it must verify)."""
    from zkvm.stark.backend import ntt
    from zkvm.stark.proving import prng

    air, fixed, main, pubs, terms = _case(name)
    native = prove(air, fixed, main, pubs, terms, FAST_ZK, zk_randomness=prng.Randomness(test_seed=3))
    monkeypatch.setattr(ntt, "_native", None)
    monkeypatch.setattr(prng, "_native", None)
    fallback = prove(air, fixed, main, pubs, terms, FAST_ZK, zk_randomness=prng.Randomness(test_seed=3))
    assert fallback.to_bytes() == native.to_bytes(), f"{name}: seed 3"
    verify(air, fallback, pubs, terms, commit_fixed(air, fixed), min_security_bits=FAST_ZK.security_bits)
