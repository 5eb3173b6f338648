"""The verifier's vectorised out-of-domain evaluation (``ood_tape``) against the scalar one it replaced:
``protocol.constraint_values`` on ``Ext`` scalars (``ExtScalarOps``), every constraint of every table of the
RISC-V AIR (with and without the zk blinding hub), at random points. Plus the helpers it is built from."""

from __future__ import annotations

import random

import numpy as np
import pytest

from zkvm.circuit import riscv_air
from zkvm.field.babybear import P, Ext
from zkvm.stark.dsl.algebra import ExtScalarOps
from zkvm.stark.verifying import logup, ood_tape
from zkvm.stark.verifying.blinding import compiled_air
from zkvm.stark.verifying.protocol import constraint_values, max_tuple_len


def _rand_ext(rng: random.Random) -> Ext:
    return Ext(*(rng.randrange(P) for _ in range(4)))


def _from_coords(vals) -> Ext:
    basis = [Ext(1), Ext(0, 1), Ext(0, 0, 1), Ext(0, 0, 0, 1)]
    acc = Ext(0)
    for b, v in zip(basis, vals):
        acc = acc + b * v
    return acc


@pytest.mark.parametrize("zk", [False, True])
@pytest.mark.parametrize("seed", [1, 2])
def test_tape_matches_scalar_evaluation(zk, seed):
    rng = random.Random(seed)
    ca = compiled_air(riscv_air.circuit().air, zk)
    betas = logup.beta_powers(_rand_ext(rng), max_tuple_len(ca))
    alpha = _rand_ext(rng)
    pubs = {name: rng.randrange(P) for name in ca.air.publics}
    tape = ood_tape.tape_for(ca, len(betas))
    z_groups, zg_groups, finals, expected = [], [], np.zeros((len(ca.tables), 4), dtype=np.uint64), []
    for t, ct in enumerate(ca.tables):
        # OOD values as the proof lays them out: fixed, main, aux coordinates, (any) quotient coordinates
        z = [_rand_ext(rng) for _ in range(ct.n_fixed + ct.n_main + ct.n_aux + 8)]
        zg = [_rand_ext(rng) for _ in range(len(ct.next_fixed) + len(ct.next_main) + (4 if ct.has_bus else 0))]
        final = _rand_ext(rng) if ct.has_bus else None
        if final is not None:
            finals[t] = final.c
        z_groups.append([v.c for v in z])
        zg_groups.append([v.c for v in zg])
        nf, nm, nfx, nmx = ct.n_fixed, ct.n_main, len(ct.next_fixed), len(ct.next_main)
        fixed_next = dict(zip(ct.next_fixed, zg[:nfx]))
        main_next = dict(zip(ct.next_main, zg[nfx:nfx + nmx]))

        def column(kind, idx, nxt, z=z, nf=nf, fixed_next=fixed_next, main_next=main_next):
            if kind == "main":
                return main_next[idx] if nxt else z[nf + idx]
            return fixed_next[idx] if nxt else z[idx]

        def aux(g, z=z, base=nf + nm):
            return _from_coords(z[base + 4 * g:base + 4 * g + 4])

        s_next = _from_coords(zg[nfx + nmx:]) if ct.has_bus else None
        ops = ExtScalarOps()
        vals = constraint_values(ct, ca.air, ops, ops, column, pubs.__getitem__, aux, s_next, alpha, betas,
                                 ca.bus_ids, final)
        expected += [Ext.lift(v).c for v in vals]

    def stack(groups):
        flat = np.array([v for g in groups for v in g], dtype=np.uint64).reshape(-1, 4)
        return flat, np.concatenate([[0], np.cumsum([len(g) for g in groups])]).astype(np.int64)

    z_all, z_off = stack(z_groups)
    zg_all, zg_off = stack(zg_groups)
    got = tape.run(tape.inputs(z_all, z_off, zg_all, zg_off, pubs, np.array(alpha.c, dtype=np.uint64),
                               np.array([b.c for b in betas], dtype=np.uint64), finals))
    assert len(expected) == len(got) > 100
    bad = [i for i, (e, g) in enumerate(zip(expected, got.tolist())) if tuple(e) != tuple(g)]
    assert not bad, f"seed {seed}: {len(bad)} constraint values differ, first at {bad[0]}"


def test_ext_helpers_match_scalar_arithmetic():
    rng = random.Random(3)
    xs = [_rand_ext(rng) for _ in range(20)]
    ys = [_rand_ext(rng) for _ in range(20)]
    a = np.array([x.c for x in xs], dtype=np.uint64)
    b = np.array([y.c for y in ys], dtype=np.uint64)
    assert [tuple(r) for r in ood_tape.ext_mul(a, b).tolist()] == [(x * y).c for x, y in zip(xs, ys)]
    pw = ood_tape.ext_powers(xs[0], 9)
    assert [tuple(r) for r in pw.tolist()] == [(xs[0] ** k).c for k in range(9)]
    coords = np.array([[x.c for x in xs[i:i + 4]] for i in range(0, 20, 4)], dtype=np.uint64)
    assert [tuple(r) for r in ood_tape.from_coords(coords).tolist()] == \
        [_from_coords(xs[i:i + 4]).c for i in range(0, 20, 4)]


def test_multiproof_count_matches_the_listed_nodes():
    from zkvm.stark.verifying.merkle import multiproof_count, multiproof_nodes

    rng = random.Random(4)
    for _ in range(200):
        depth = rng.randrange(0, 12)
        positions = [rng.randrange(1 << depth) for _ in range(rng.randrange(0, 50))]
        assert multiproof_count(positions, depth) == len(multiproof_nodes(positions, depth)), (depth, positions)


def test_small_mat_dot_matches_blas_mat_dot():
    from zkvm.stark.dsl.algebra import mat_dot
    from zkvm.stark.verifying.verifier import _small_mat_dot

    rng = np.random.default_rng(5)
    for k in (1, 37, 4000):
        a = rng.integers(0, P, size=(42, k)).astype(np.uint32)
        b = rng.integers(0, P, size=(k, 4)).astype(np.uint64)
        assert np.array_equal(_small_mat_dot(a, b), mat_dot(a, b)), k
    worst_a, worst_b = np.full((3, 9000), P - 1, dtype=np.uint32), np.full((9000, 4), P - 1, dtype=np.uint64)
    assert np.array_equal(_small_mat_dot(worst_a, worst_b), mat_dot(worst_a, worst_b))
