"""STARK proof system: constraint DSL, prover, verifier. Knows nothing of RISC-V.

Public API (import from here): ``Table, Air, ProofOptions, Proof, prove, verify, commit_fixed, check_trace``.
The submodules are imported lazily so that importing ``zkvm.stark.verifier`` never pulls in the prover's
compiled extensions.
"""

from __future__ import annotations

__all__ = ["Table", "Air", "Expr", "ProofOptions", "Proof", "prove", "verify", "commit_fixed", "check_trace"]


def __getattr__(name: str):
    if name in ("Table", "Air", "Expr"):
        from zkvm.stark import air
        return getattr(air, name)
    if name == "ProofOptions":
        from zkvm.stark.options import ProofOptions
        return ProofOptions
    if name == "Proof":
        from zkvm.stark.proof import Proof
        return Proof
    if name in ("prove", "commit_fixed"):
        from zkvm.stark import prover
        return getattr(prover, name)
    if name == "verify":
        from zkvm.stark.verifier import verify
        return verify
    if name == "check_trace":
        from zkvm.stark.check import check_trace
        return check_trace
    raise AttributeError(f"module 'zkvm.stark' has no attribute {name!r}")
