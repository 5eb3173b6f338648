"""Seeded proofs are byte-identical to the golden digests (tests/proof_digests.py): moving or restructuring
the prover, the verifier or the circuit must not change a single proof byte."""

from __future__ import annotations

import json

import pytest

import proof_digests as PD


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(PD.GOLDEN.read_text())


def test_example_air_proofs_match_golden(golden):
    got = dict(PD.example_proofs())
    for name, data in got.items():
        assert PD._sha(data) == golden[name]["proof"], f"{name}: the proof bytes changed"


@pytest.mark.parametrize("name", ["kitchen_sink", *PD.GUESTS])
def test_guest_proof_matches_golden(name, golden):
    (image, data, image_digest), = [r[1:] for r in PD.guest_runs() if r[0] == name]
    want = golden[name]
    assert image_digest == want["image"], (f"{name}: the guest image differs from the one the golden digest was "
                                           "made with; rebuild (make guests) or regenerate: python "
                                           "tests/proof_digests.py --write")
    assert PD._sha(PD.guest_proof(image, data)) == want["proof"], f"{name}: the proof bytes changed"
