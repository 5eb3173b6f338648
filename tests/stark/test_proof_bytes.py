"""Hostile proof bytes: every mutation is rejected with a VerificationError subclass, never another exception,
never a hang; the verifier runs with every compiled extension of the project blocked."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .airs import FAST, range_air, range_traces
from zkvm.errors import VerificationError
from zkvm.stark import commit_fixed, prove, verify
from zkvm.stark.errors import MalformedProof
from zkvm.stark.verifying.proof import Proof

OPTS = dataclasses.replace(FAST, num_queries=3, grinding_bits=1)
ROOT = Path(__file__).resolve().parents[2]


def _honest(opts=OPTS):
    rng = np.random.default_rng(21)
    air = range_air()
    terms = [("range8", (3,), 1)]
    fixed, main = range_traces(4, rng, [(3, 1)])
    proof = prove(air, fixed, main, {}, terms, opts)
    return air, proof.to_bytes(), terms, commit_fixed(air, fixed)


AIR, DATA, TERMS, FD = _honest()
ZK_OPTS = dataclasses.replace(OPTS, zk=True)
_, ZK_DATA, _, _ = _honest(ZK_OPTS)


def test_roundtrip_is_identity():
    assert Proof.from_bytes(DATA).to_bytes() == DATA
    verify(AIR, DATA, {}, TERMS, FD, min_security_bits=OPTS.security_bits)


def test_truncations_and_extensions_rejected():
    for cut in range(0, len(DATA), max(1, len(DATA) // 200)):
        with pytest.raises(MalformedProof):
            Proof.from_bytes(DATA[:cut])
    with pytest.raises(MalformedProof):
        Proof.from_bytes(DATA + b"\x00")
    with pytest.raises(MalformedProof):
        Proof.from_bytes(b"")
    with pytest.raises(MalformedProof):
        verify(AIR, b"junk", {}, TERMS, FD)


def test_huge_length_prefix_does_not_allocate():
    # the first vec after the header is log_heights: claim 2^32-1 entries
    header = len(b"ZKSTARK\x00") + 2 + 7
    bad = DATA[:header] + b"\xff\xff\xff\xff" + DATA[header + 4:]
    with pytest.raises(MalformedProof):
        Proof.from_bytes(bad)


def _mutations(size: int):
    return st.one_of(
        st.tuples(st.just("flip"), st.integers(0, size - 1), st.integers(1, 255)),
        st.tuples(st.just("set32"), st.integers(0, size - 4), st.sampled_from([0, 1, 2, 0xFF, 2**31 - 2**27,
                                                                              2**31 - 2**27 + 1, 2**32 - 1])),
        st.tuples(st.just("cut"), st.integers(0, size - 1), st.integers(1, 64)),
        st.tuples(st.just("insert"), st.integers(0, size), st.binary(min_size=1, max_size=8)),
    )


mutation = _mutations(len(DATA))
zk_mutation = _mutations(len(ZK_DATA))


def _apply(data: bytes, muts) -> bytes:
    b = bytearray(data)
    for kind, pos, arg in muts:
        pos = min(pos, max(len(b) - 1, 0))
        if kind == "flip" and b:
            b[pos] ^= arg
        elif kind == "set32" and len(b) >= 4:
            pos = min(pos, len(b) - 4)
            b[pos:pos + 4] = int(arg).to_bytes(4, "little")
        elif kind == "cut":
            del b[pos:pos + arg]
        elif kind == "insert":
            b[pos:pos] = arg
    return bytes(b)


def _check_rejected(muts, original: bytes = DATA, opts=OPTS) -> None:
    data = _apply(original, muts)
    if data == original:
        return
    with pytest.raises(VerificationError):
        verify(AIR, data, {}, TERMS, FD, min_security_bits=opts.security_bits)


def test_zk_proof_roundtrip():
    assert Proof.from_bytes(ZK_DATA).to_bytes() == ZK_DATA
    verify(AIR, ZK_DATA, {}, TERMS, FD, min_security_bits=ZK_OPTS.security_bits)


@settings(max_examples=800, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(zk_mutation, min_size=1, max_size=3))
def test_mutated_zk_proofs_rejected(muts):
    _check_rejected(muts, ZK_DATA, ZK_OPTS)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(zk_mutation, min_size=1, max_size=4))
def test_mutated_zk_proofs_rejected_10k(muts):
    _check_rejected(muts, ZK_DATA, ZK_OPTS)


@settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(mutation, min_size=1, max_size=3))
def test_mutated_proofs_rejected(muts):
    _check_rejected(muts)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutated_proofs_rejected_10k(muts):
    _check_rejected(muts)


def test_verifier_imports_no_compiled_extension(tmp_path):
    (tmp_path / "proof.bin").write_bytes(DATA)
    code = textwrap.dedent(f"""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                last = name.rsplit(".", 1)[-1]
                if name.startswith(("zkvm.", "host")) and (last.startswith("_native") or last.startswith("_rv32")
                                                            or last.startswith("_")):
                    raise ImportError("blocked compiled extension " + name)
                return None
        sys.meta_path.insert(0, Block())
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests")!r}]
        from zkvm.stark.verifying.verifier import verify
        from stark.airs import range_air
        verify(range_air(), open({str(tmp_path / "proof.bin")!r}, "rb").read(), {{}}, {TERMS!r}, {FD!r},
               min_security_bits={OPTS.security_bits})
        bad = [m for m, mod in sys.modules.items() if m.startswith("zkvm")
               and str(getattr(mod, "__file__", "") or "").endswith((".so", ".pyd"))]
        assert not bad, bad
        print("ok")
    """)
    env = dict(os.environ, PYTHONPATH="")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr
