"""One backend, chosen once (zkvm/stark/backend): the numpy and the compiled backend prove the same seeded
statements to the same bytes, and the choice is made by ZKVM_BACKEND, never silently per call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import proof_digests as PD
from zkvm.errors import InputError
from zkvm.stark import backend

ROOT = Path(__file__).resolve().parents[2]

#: Proves the example AIRs (with and without zk) and the hand-assembled guest; prints the backend and the digests.
_PROVE = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, "tests")
    import proof_digests as PD
    from zkvm.stark.backend import BACKEND
    out = {name: PD._sha(data) for name, data in PD.example_proofs()}
    (image, data), = [(r[1], r[2]) for r in PD.guest_runs() if r[0] == "kitchen_sink"]
    out["kitchen_sink"] = PD._sha(PD.guest_proof(image, data))
    compiled = sorted(m for m in sys.modules if m.startswith("zkvm.stark.backend._"))
    print(json.dumps({"backend": BACKEND.name, "compiled": compiled, "digests": out}))
""")


def _prove_on(name: str) -> dict:
    env = dict(os.environ, ZKVM_BACKEND=name)
    res = subprocess.run([sys.executable, "-c", _PROVE], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.splitlines()[-1])


@pytest.mark.skipif(backend.BACKEND.name != "native", reason="compiled extensions not built (run make setup)")
def test_numpy_and_native_backends_prove_the_same_bytes():
    numpy_run, native_run = _prove_on("numpy"), _prove_on("native")
    assert numpy_run["backend"] == "numpy" and numpy_run["compiled"] == []
    assert native_run["backend"] == "native" and native_run["compiled"]
    assert numpy_run["digests"].keys() == native_run["digests"].keys()
    for name, digest in native_run["digests"].items():
        assert numpy_run["digests"][name] == digest, f"{name}: numpy and native backends differ"
    # ... and both are the golden bytes (tests/proof_digests.json), so neither drifted with the other
    golden = json.loads(PD.GOLDEN.read_text())
    assert all(golden[name]["proof"] == d for name, d in native_run["digests"].items())


def test_backend_names():
    assert backend.select("numpy") == backend.Backend("numpy", None, None)
    with pytest.raises(InputError, match="ZKVM_BACKEND='gpu'"):
        backend.select("gpu")
