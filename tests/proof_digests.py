"""Golden digests of seeded proofs: the proof system's bytes must not change when its code is moved or
restructured (a refactor is only a refactor if every proof stays byte-identical).

tests/test_proof_digests.py compares against proof_digests.json, written by

    .venv/bin/python tests/proof_digests.py --write

A deliberate change of the protocol or of the circuit (new columns, new transcript order, other options)
changes the digests: regenerate them with the command above in the same commit, and say so in its message.
Proofs: the example AIRs of tests/stark/airs.py, with and without zero knowledge, and the RISC-V circuit on a
hand-assembled program and two shipped guests (the loaded image's digest is recorded, so a changed guest build
is reported as such, not as a proof difference). Zero-knowledge randomness comes from a seeded test key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "circuit"))
sys.path.insert(0, str(ROOT / "tests" / "soundness"))
GOLDEN = Path(__file__).with_name("proof_digests.json")
SEED = 20261202
#: guest runs of trace_digests.GUEST_INPUTS proven here (the others are covered by the trace digests)
GUESTS = ("fib", "sha256")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def example_proofs():
    """(name, proof bytes) of the example AIRs, each with and without zk."""
    import numpy as np

    from stark.airs import (FAST, FAST_ZK, fibonacci_air, fibonacci_trace, permutation_air, permutation_traces,
                            range_air, range_traces)
    from zkvm.stark import prove
    from zkvm.stark.proving import prng

    fib_tr, fib_pubs = fibonacci_trace(64)
    rng = np.random.default_rng(SEED)
    range_fixed, range_main = range_traces(32, rng, [(3, 1)])
    perm_main = permutation_traces(16, rng)
    cases = {
        "fibonacci": (fibonacci_air(), {}, {"fib": fib_tr}, fib_pubs, []),
        "range": (range_air(), range_fixed, range_main, {}, [("range8", (3,), 1)]),
        "permutation": (permutation_air(), {}, perm_main, {}, []),
    }
    for name, (air, fixed, main, pubs, terms) in cases.items():
        for opts in (FAST, FAST_ZK):
            tag = f"{name}{'_zk' if opts.zk else ''}"
            rand = prng.Randomness(test_seed=SEED) if opts.zk else None
            proof = prove(air, fixed, main, pubs, terms, opts, zk_randomness=rand)
            yield tag, proof.to_bytes()


def guest_runs():
    """The runs of the trace digests (tests/circuit/trace_digests.py) whose proofs are pinned here."""
    import trace_digests as TD

    for run in TD.runs():
        if run[0] in ("kitchen_sink", *GUESTS):
            yield run


def guest_proof(image, data: bytes) -> bytes:
    """The RISC-V circuit's proof of one run, default options with zk and a few queries (fast, same code)."""
    from zkvm.circuit import riscv_air, statement
    from zkvm.exec import Executor
    from zkvm.stark import prove
    from zkvm.stark.proving import prng
    from zkvm.stark.verifying.options import default_options

    _, record = Executor(image, data).record()
    s = riscv_air.setup(image)
    w = riscv_air.generate(s, record)
    opts = dataclasses.replace(default_options(True), num_queries=4, grinding_bits=2)
    proof = prove(riscv_air.circuit().air, s.fixed, w.main, s.publics, statement.public_terms(w.journal,
                  w.exit_code), opts, zk_randomness=prng.Randomness(test_seed=SEED))
    return proof.to_bytes()


def compute() -> dict:
    out = {name: {"proof": _sha(data)} for name, data in example_proofs()}
    for name, image, data, image_digest in guest_runs():
        out[name] = {"image": image_digest, "proof": _sha(guest_proof(image, data))}
    return out


if __name__ == "__main__":
    result = compute()
    if "--write" in sys.argv:
        GOLDEN.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(json.dumps(result, indent=1, sort_keys=True))
