"""The RISC-V malicious-prover tests (tests/soundness) again, with zero-knowledge proofs: randomised traces,
blinded quotients and the FRI mask must not open a door for a cheating prover. Each tampered trace still has
to be rejected by the verifier; the honest run still verifies."""

from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "soundness"))

import harness as H  # noqa: E402
import test_malicious_prover as M  # noqa: E402

ZK_FAST = dataclasses.replace(H.FAST, zk=True)
#: Run by default (one per kind of check: a constraint, the memory argument, the public journal); the rest of
#: the suite runs under zk with the slow tests.
DEFAULT = {"test_honest_trace_proves_and_verifies", "test_wrong_add_result",
           "test_memory_changed_between_store_and_load", "test_journal_byte_changed_in_trace"}


@pytest.fixture(autouse=True)
def zk_proofs(monkeypatch):
    monkeypatch.setattr(H, "FAST", ZK_FAST)


def test_harness_proves_in_zk_mode(honest):
    """Guards the re-run below: the harness really uses zk options here."""
    assert H.FAST.zk


# Fixtures and tests of the soundness suite, collected again in this module (so they run under zk_proofs).
honest = M.honest
run = M.run
_TESTS = [name for name in dir(M) if name.startswith("test_")]


def _again(test):
    """A new function object (marking it slow must not mark the original test)."""
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return test(*args, **kwargs)
    return wrapper


for _name in _TESTS:
    _test = _again(getattr(M, _name))
    globals()[_name + "_zk"] = _test if _name in DEFAULT else pytest.mark.slow(_test)


def test_default_subset_exists():
    assert DEFAULT <= set(_TESTS), sorted(DEFAULT - set(_TESTS))
