"""The LogUp final-sum blinding of zk proofs (stark/verifying/blinding.py): the augmented AIR's layout, honest proofs, a
statistical test that a table's final sum no longer tells a candidate witness apart, and cheating provers that
misuse the blinding bus.

The distinguisher of the statistical test is the attack the blinding stops: a verifier holding a candidate
witness replays the transcript up to ``alpha, beta``, recomputes the ``left`` table's bus sum ``S`` from the
candidate and compares it with the proof's final sum ``F``. Without blinding ``F - S = 0`` for the right
witness (and != 0 for a wrong one); with it ``F - S`` is the blinding term, uniform over GF(p^4). Over
``N_PROOFS`` proofs of the same witness, the low 4 bits of each of the 4 coordinates of ``F - S`` go through a
chi-square goodness-of-fit test against uniform (16 bins, 15 degrees of freedom); a coordinate fails when its
p-value is below ``ALPHA / 4`` (Bonferroni over the 4 coordinates: a false alarm at most 0.1% of the time). The
same test run on integrity-only proofs (no blinding) must fail, so it can.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stark.airs import (FAST, FAST_ZK, fibonacci_air, permutation_air, permutation_traces,  # noqa: E402
                        range_air, range_traces)
from test_zk_statistics import chi2_sf_odd  # noqa: E402
from zkvm.field.babybear import Ext, P  # noqa: E402
from zkvm.stark import Air, Table, check_trace, commit_fixed, verify  # noqa: E402
from zkvm.stark.backend import native_eval  # noqa: E402
from zkvm.stark.errors import AirError, BusError, BusImbalance, MalformedProof, OodMismatch  # noqa: E402
from zkvm.stark.proving import prover  # noqa: E402
from zkvm.stark.proving.prng import Randomness  # noqa: E402
from zkvm.stark.verifying import blinding, logup, schedule  # noqa: E402
from zkvm.stark.verifying.protocol import max_tuple_len  # noqa: E402

SEED = 20261125
N_PROOFS = 256
ALPHA = 0.001
BITS = FAST_ZK.security_bits


def _range_case(seed: int = 7):
    fixed, main = range_traces(8, np.random.default_rng(seed))
    return range_air(), fixed, main


def _prove(air, fixed, main, opts=FAST_ZK, seed: int = 1, terms=()):
    rng = Randomness(test_seed=seed) if opts.zk else None
    return prover.prove(air, fixed, main, {}, list(terms), opts, zk_randomness=rng)


def _verify(air, fixed, proof, opts=FAST_ZK, terms=()):
    verify(air, proof, {}, list(terms), commit_fixed(air, fixed), min_security_bits=opts.security_bits)


# ---------------------------------------------------------------- the augmented AIR

def test_without_zk_or_without_buses_the_air_is_unchanged():
    air = range_air()
    assert blinding.compiled_air(air, False) is air.compile()
    fib = fibonacci_air()
    assert blinding.compiled_air(fib, True) is fib.compile()  # no bus, no final sum to hide


def test_augmented_layout_keeps_ids_digest_and_pairs_the_blinding_interaction():
    air = range_air()
    base = air.compile()
    ca = blinding.compiled_air(air, True)
    assert blinding.compiled_air(air, True) is ca  # cached per AIR
    assert [ct.name for ct in ca.tables] == ["range", "vals", blinding.HUB]
    assert ca.digest == base.digest  # the transcript binds base AIR + options; fixed digests unchanged
    assert ca.bus_ids == {**base.bus_ids, blinding.BUS: max(base.bus_ids.values()) + 1}
    rng_t, vals_t, hub = ca.tables
    b_range, b_vals = base.tables
    assert rng_t.n_main == b_range.n_main + 4 and vals_t.n_main == b_vals.n_main + 4
    assert rng_t.n_fixed == b_range.n_fixed and hub.n_fixed == 0 and hub.n_main == 5
    # range's single interaction pairs with the blinding one: no extra aux column; vals' pair cannot
    assert rng_t.n_aux == b_range.n_aux and [it.bus for it in rng_t.groups[0]] == ["range8", blinding.BUS]
    assert vals_t.n_aux == b_vals.n_aux + 4
    assert [ct.name for ct in blinding.blinded_tables(ca)] == ["range", "vals"]


def test_reserved_names_are_refused_under_zk_only():
    t = Table(blinding.HUB)
    x = t.main("x")
    t.send("b", [x])
    t.receive("b", [x])
    air = Air("clash", [t])
    assert blinding.compiled_air(air, False) is air.compile()
    with pytest.raises(AirError, match="reserved"):
        blinding.compiled_air(air, True)


# ---------------------------------------------------------------- honest proofs

@pytest.mark.parametrize("name", ["range", "perm"])
def test_honest_zk_proofs_verify_and_carry_the_hub(name):
    if name == "range":
        air, fixed, main = _range_case()
    else:
        air, fixed, main = permutation_air(), {}, permutation_traces(16, np.random.default_rng(3))
    shapes = {k: v.shape for k, v in main.items()}
    proof = _prove(air, fixed, main)
    assert {k: v.shape for k, v in main.items()} == shapes  # the caller's traces are not widened in place
    _verify(air, fixed, proof)
    n_blinded = sum(1 for ct in air.compile().tables if ct.has_bus)
    assert len(proof.log_heights) == len(air.tables) + 1
    assert proof.log_heights[-1] == blinding.hub_log_height(n_blinded)
    assert len(proof.final_sums) == n_blinded + 1
    # the hub's sum is minus everything else (no public terms here)
    total = sum((Ext(*f) for f in proof.final_sums[:-1]), Ext(0))
    assert total + Ext(*proof.final_sums[-1]) == Ext(0)


def test_table_with_fixed_columns_only_gains_main_columns():
    """A table without main columns (a fixed lookup that sends with a fixed multiplicity) is blinded too."""
    lut = Table("lut")
    lut.send("lk", [lut.fixed("v")])
    use = Table("use")
    use.receive("lk", [use.main("x")])
    air = Air("lookup", [lut, use])
    n = 16
    fixed = {"lut": np.arange(n, dtype=np.uint32)[:, None]}
    main = {"use": np.random.default_rng(4).permutation(n).astype(np.uint32)[:, None]}
    ca = blinding.compiled_air(air, True)
    assert ca.tables[0].n_main == 4 and ca.tables[0].n_fixed == 1
    proof = _prove(air, fixed, main)
    _verify(air, fixed, proof)
    # one main-phase tree holds lut (blinding columns only), use and the hub
    assert [ct.name for ct in ca.tables if ct.n_main] == ["lut", "use", ca.tables[-1].name]
    assert len(proof.main_roots) == 1 and len(proof.log_heights) == 3


def test_plain_proofs_are_unchanged_in_shape():
    air, fixed, main = _range_case()
    proof = _prove(air, fixed, main, FAST)
    assert len(proof.log_heights) == len(air.tables) and len(proof.final_sums) == 2
    _verify(air, fixed, proof, FAST)


@pytest.mark.skipif(not native_eval.available(), reason="constraint VM extension not built")
def test_zk_proof_is_the_same_on_the_vm_and_numpy_paths(monkeypatch):
    """The blinding interactions go through the same descriptors in the C constraint VM and in numpy."""
    air, fixed, main = _range_case()
    fast = _prove(air, fixed, main, seed=5).to_bytes()
    monkeypatch.setattr(native_eval, "available", lambda: False)
    slow = _prove(air, fixed, main, seed=5).to_bytes()
    assert fast == slow


# ---------------------------------------------------------------- statistics: the final sum hides the witness

def _challenges(air, proof, opts, fixed) -> tuple[Ext, Ext]:
    """alpha, beta of a proof, replayed as any verifier does."""
    ca = blinding.compiled_air(air, opts.zk)
    tr = schedule.statement(ca, opts, proof.log_heights, [], [], commit_fixed(air, fixed))
    lc = schedule.main_committed(tr, ca, proof.main_roots)
    return lc.alpha, lc.beta


def _distinguisher(opts, n: int) -> np.ndarray:
    """``F_left - S_left(candidate)`` per proof (``uint32[n, 4]``) for the permutation AIR, the candidate being
    the true witness."""
    air, fixed, main = permutation_air(), {}, permutation_traces(4, np.random.default_rng(3))
    base = air.compile()
    left = main["left"].astype(np.int64)
    sends = [("perm", (int(k), int(v)), 1) for k, v in left]
    sends += [("perm", (int(k) + 1000, int(v) * int(v) % P), 1) for k, v in left]
    out = []
    for i in range(n):
        proof = _prove(air, fixed, main, opts, seed=SEED * 1000 + i)
        if i == 0:
            _verify(air, fixed, proof, opts)
        alpha, beta = _challenges(air, proof, opts, fixed)
        betas = logup.beta_powers(beta, max_tuple_len(base))
        candidate = logup.public_contribution(base, sends, alpha, betas)  # left only sends, multiplicity 1
        out.append((Ext(*proof.final_sums[0]) - candidate).c)
    return np.asarray(out, dtype=np.int64)


def _uniformity_pvalues(d: np.ndarray, bins: int = 16) -> list[float]:
    pvals = []
    for c in range(d.shape[1]):
        counts = np.bincount(d[:, c] % bins, minlength=bins).astype(float)
        expected = len(d) / bins
        pvals.append(chi2_sf_odd(float(((counts - expected) ** 2 / expected).sum()), bins - 1))
    return pvals


def test_final_sum_minus_candidate_sum_is_uniform_under_zk():
    """(That zk final sums differ between proofs is not enough: ``alpha`` depends on the randomised main
    commitments, so they differ even unblinded. What must not repeat is ``F - S(candidate)``.)"""
    d = _distinguisher(FAST_ZK, N_PROOFS)
    assert len({tuple(r) for r in d}) == N_PROOFS, f"seed {SEED}: a blinded final sum repeated across proofs"
    pvals = _uniformity_pvalues(d)
    assert min(pvals) >= ALPHA / 4, f"seed {SEED}: F - S(candidate) not uniform, p-values {pvals}"


def test_without_blinding_the_same_test_recognises_the_witness():
    """The control: integrity-only proofs have no blinding, F - S(candidate) = 0 every time and the uniformity
    test above rejects it."""
    d = _distinguisher(FAST, 32)
    assert not d.any()
    assert min(_uniformity_pvalues(d)) < ALPHA / 4


# ---------------------------------------------------------------- cheating provers

def _cheat_with_hub(monkeypatch, edit, main=None, expect=BusImbalance, match="do not add up to zero"):
    """Prove the range statement with the hub trace edited by ``edit(trace)``; the verifier must reject."""
    air, fixed, honest_main = _range_case()
    honest_hub = blinding.hub_trace

    def cheating_hub(values, zero_rows, log_height):
        trace = honest_hub(values, zero_rows, log_height)
        edit(trace)
        return trace

    monkeypatch.setattr(blinding, "hub_trace", cheating_hub)
    proof = _prove(air, fixed, main or honest_main)
    monkeypatch.undo()
    with pytest.raises(expect, match=match):
        _verify(air, fixed, proof)


def test_hub_multiplicity_changed_is_rejected(monkeypatch):
    def edit(trace):
        trace[1, -1] = 2  # receives table 0's blinding tuple twice
    _cheat_with_hub(monkeypatch, edit)


def test_hub_receiving_another_tuple_is_rejected(monkeypatch):
    def edit(trace):
        trace[2, 0] = (int(trace[2, 0]) + 1) % P  # not the tuple table 1 sent
    _cheat_with_hub(monkeypatch, edit)


def test_blinding_term_cannot_cancel_an_imbalance_on_another_bus(monkeypatch):
    """``vals`` range-checks a value 300 that the 8-bit range table cannot receive. The cheater has the hub
    receive the blinding-bus tuple (300, 0, 0, 0) instead: with equal bus ids its fingerprint would be the
    missing range8 receive, but the blinding bus has its own id, so nothing cancels."""
    air, fixed, main = _range_case()
    vals = main["vals"].astype(np.int64)
    old = int(vals[0, 0])
    vals[0, 0] = 300
    vals[0, 2] = (300 * vals[0, 1] + 1) % P
    main = {"range": main["range"].copy(), "vals": vals.astype(np.uint32)}
    main["range"][old, 0] -= 1
    with pytest.raises(BusError, match="range8"):
        check_trace(air, fixed, main, {})

    def edit(trace):
        free = 1 + len(blinding.blinded_tables(blinding.compiled_air(air, True)))
        trace[free] = [300, 0, 0, 0, 1]
    _cheat_with_hub(monkeypatch, edit, main)


def test_tampered_final_sum_is_rejected():
    air, fixed, main = _range_case()
    proof = _prove(air, fixed, main)
    proof.final_sums[1] = (Ext(*proof.final_sums[1]) + Ext(1)).c
    with pytest.raises(BusImbalance):
        _verify(air, fixed, proof)


def test_final_sums_shifted_between_table_and_hub_are_rejected():
    """Moving an amount from a table's final sum to the hub's keeps the total: the running-sum constraints at
    zeta catch it (the sums are in the transcript, so every table's check sees new challenges)."""
    air, fixed, main = _range_case()
    proof = _prove(air, fixed, main)
    delta = Ext(5, 6, 7, 8)
    proof.final_sums[1] = (Ext(*proof.final_sums[1]) + delta).c
    proof.final_sums[-1] = (Ext(*proof.final_sums[-1]) - delta).c
    with pytest.raises(OodMismatch, match="constraints at zeta"):
        _verify(air, fixed, proof)


def test_prover_shifting_final_sums_between_table_and_hub_is_rejected(monkeypatch):
    """A cheater reports ``F + delta`` for ``vals`` and ``F - delta`` for the hub (the total still balances)
    and builds the rest of the proof from them: the running-sum constraint on the last row ties each final sum
    to its committed aux column, so the quotient does not match at zeta."""
    air, fixed, main = _range_case()
    honest = logup.with_running_sum
    calls = []
    delta = Ext(5, 6, 7, 8)

    def shifted(hs):
        aux, final = honest(hs)
        calls.append(len(calls))
        table = calls[-1]  # tables with buses in AIR order: range, vals, hub
        return aux, final + delta if table == 1 else final - delta if table == 2 else final

    monkeypatch.setattr(logup, "with_running_sum", shifted)
    proof = _prove(air, fixed, main)
    monkeypatch.undo()
    assert len(calls) == 3
    with pytest.raises(OodMismatch, match="'vals'"):
        _verify(air, fixed, proof)


def test_hub_of_another_height_is_refused(monkeypatch):
    """The hub's height is fixed by the AIR: a prover using a taller hub (as sound, but not the canonical
    shape) is refused up front."""
    air, fixed, main = _range_case()
    want = blinding.hub_log_height(2)
    monkeypatch.setattr(blinding, "hub_log_height", lambda n: want + 1)
    proof = _prove(air, fixed, main)
    monkeypatch.undo()
    assert proof.log_heights[-1] == want + 1
    with pytest.raises(MalformedProof, match=f"{blinding.HUB}.*height"):
        _verify(air, fixed, proof)


def test_public_terms_on_the_blinding_bus_are_refused():
    from zkvm.stark.errors import PublicInputMismatch

    air, fixed, main = _range_case()
    proof = _prove(air, fixed, main)
    with pytest.raises(PublicInputMismatch, match="unknown bus"):
        _verify(air, fixed, proof, terms=[(blinding.BUS, (1, 2, 3, 4), 1)])
