"""Statistical zero-knowledge test: two private witnesses with the same public statement must give proofs whose
opened values are identically distributed; without zk the same test tells the witnesses apart.

The AIR: a private column ``a`` and ``b = a^2``, ``b`` constant down the table, its last value public. Witness
A is ``a = (c, c, ..., c)``, witness B flips the sign of every other row: same ``b``, same public output.

For every opened value of the proof (each position in the proof structure: main/quotient rows at the query
points, values at zeta and zeta·g, FRI leaves, FRI mask, final polynomial) we collect its low 4 bits over N
proofs of each witness and run a 2 x 16 chi-square homogeneity test (15 degrees of freedom). Threshold: with
M positions, a position "distinguishes" when its p-value is below 0.01/M (Bonferroni), so if the proofs are
zero-knowledge the chance that *any* position trips is at most 1%. The prover's randomness is a seeded
``prng.Randomness`` (explicit test-only parameter) so the test is deterministic; the seed is in every message.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from zkvm.field.babybear import P
from zkvm.stark import Air, Table, commit_fixed, prove, verify
from zkvm.stark.proving.prng import Randomness
from zkvm.stark.verifying.options import ProofOptions

N_PROOFS = 200
HEIGHT = 8
SEED = 20261125
OPTS = ProofOptions(log_blowup=1, num_queries=6, grinding_bits=2, log_fold_arity=2, log_final_len=1, zk=True)
ALPHA = 0.01


def square_air() -> Air:
    t = Table("sq")
    a, b = t.main("a"), t.main("b")
    t.always("b_is_a_squared", b - a * a)
    t.transition("b_constant", b.next - b)
    air = Air("square", [t], publics=["out"])
    t.last("b_public", b - air.public("out"))
    return air


def witnesses() -> tuple[np.ndarray, np.ndarray, int]:
    c = 123456789
    a = np.full(HEIGHT, c, dtype=np.int64)
    b = np.full(HEIGHT, c * c % P, dtype=np.int64)
    flipped = a.copy()
    flipped[1::2] = P - c
    wa = np.stack([a, b], axis=1).astype(np.uint32)
    wb = np.stack([flipped, b], axis=1).astype(np.uint32)
    return wa, wb, int(b[0])


def opened_values(proof) -> list[int]:
    """Every opened value of the proof, flattened in a fixed order (same shape for every proof)."""
    out: list[int] = []
    for group in proof.ood_z + proof.ood_zg:
        for v in group:
            out.extend(v)
    for qp in proof.queries:
        for o in qp.fixed:
            out.extend(o.row)
        for b in qp.phases:
            for row in b.rows:
                out.extend(row)
        for o in qp.fri:
            out.extend(o.row)
    for c in proof.final_poly:
        out.extend(c)
    return out


def chi2_sf_odd(x: float, dof: int) -> float:
    """Survival function of the chi-square distribution for odd degrees of freedom (closed form)."""
    s = math.sqrt(x)
    tail = math.erfc(s / math.sqrt(2))  # 2·(1 - Phi(sqrt x))
    term = math.sqrt(2 / math.pi) * math.exp(-x / 2) * s  # i = 1 term: x^(1/2)/1
    acc = 0.0
    for i in range(1, (dof - 1) // 2 + 1):
        acc += term
        term *= x / (2 * i + 1)
    return min(1.0, tail + acc)


def homogeneity_pvalue(xa: np.ndarray, xb: np.ndarray, bins: int = 16) -> float:
    ca = np.bincount(xa % bins, minlength=bins).astype(float)
    cb = np.bincount(xb % bins, minlength=bins).astype(float)
    total = ca + cb
    keep = total > 0
    ca, cb, total = ca[keep], cb[keep], total[keep]
    if len(total) < 2:
        return 1.0  # both samples constant and equal
    na, nb = ca.sum(), cb.sum()
    ea, eb = total * na / (na + nb), total * nb / (na + nb)
    stat = float(((ca - ea) ** 2 / ea).sum() + ((cb - eb) ** 2 / eb).sum())
    dof = bins - 1
    return chi2_sf_odd(stat, dof)


def collect(zk: bool, n: int) -> tuple[np.ndarray, np.ndarray]:
    air = square_air()
    wa, wb, out = witnesses()
    opts = dataclasses.replace(OPTS, zk=zk)
    fd = commit_fixed(air, {})
    samples = []
    for w_i, w in enumerate((wa, wb)):
        rows = []
        for i in range(n):
            rng = Randomness(test_seed=SEED * 1000 + 2 * i + w_i) if zk else None
            proof = prove(air, {}, {"sq": w}, {"out": out}, [], opts, zk_randomness=rng)
            if i == 0:
                verify(air, proof, {"out": out}, [], fd, min_security_bits=opts.security_bits)
            rows.append(opened_values(proof))
        samples.append(np.asarray(rows, dtype=np.int64))
    return samples[0], samples[1]


def distinguishing_positions(xa: np.ndarray, xb: np.ndarray) -> list[int]:
    m = xa.shape[1]
    threshold = ALPHA / m
    return [j for j in range(m) if homogeneity_pvalue(xa[:, j], xb[:, j]) < threshold]


def test_chi2_closed_form_matches_known_quantiles():
    # chi-square(15): 0.95 quantile 24.996, 0.999 quantile 37.697 (standard tables)
    assert abs(chi2_sf_odd(24.996, 15) - 0.05) < 1e-3
    assert abs(chi2_sf_odd(37.697, 15) - 0.001) < 1e-4


def test_zk_openings_do_not_distinguish_the_witnesses():
    xa, xb = collect(True, N_PROOFS)
    assert xa.shape == xb.shape and xa.shape[1] > 100
    bad = distinguishing_positions(xa, xb)
    assert not bad, f"seed {SEED}: {len(bad)} of {xa.shape[1]} opened values distinguish the witnesses: {bad[:10]}"


def test_without_zk_the_same_test_distinguishes_them():
    xa, xb = collect(False, N_PROOFS)
    bad = distinguishing_positions(xa, xb)
    # Deterministic proofs: each position is a constant per witness; most differ in their low 4 bits.
    assert len(bad) > xa.shape[1] // 2, f"only {len(bad)} of {xa.shape[1]} positions distinguish without zk"


@pytest.mark.parametrize("zk", [False, True])
def test_the_witnesses_share_the_statement(zk):
    wa, wb, out = witnesses()
    assert not np.array_equal(wa[:, 0], wb[:, 0]) and np.array_equal(wa[:, 1], wb[:, 1])
    air = square_air()
    from zkvm.stark import check_trace

    for w in (wa, wb):
        check_trace(air, {}, {"sq": w}, {"out": out}, [])
