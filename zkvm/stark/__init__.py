"""STARK proof system over BabyBear. Knows nothing of RISC-V. Four packages; verifying imports nothing from
proving or backend (nor any compiled extension):

    proving/    the prover (commitments, randomness, zk masks, the proving driver)
    backend/    fast field maths for the prover: C (cffi) with numpy fallbacks; never imported by the verifier
    verifying/  options, proof format, transcript, protocol, LogUp, FRI, Merkle paths, zk plan, the verifier
    dsl/        the constraint language, trace validation and the row-by-row checker

API (importable from here; submodules are imported lazily so that verifying never pulls in the prover's
compiled extensions)::

    t = Table("name"); a = t.main("a"); f = t.fixed("f")          # columns -> Expr (+ - * with Exprs/ints)
    a.next                                                       # next row (cyclic)
    t.always(name, e); t.transition(name, e); t.first(name, e); t.last(name, e)
    t.send(bus, [e1, ...], mult=1); t.receive(bus, [e1, ...], mult=1)      # LogUp
    air = Air("name", [t, ...], publics=["p", ...]); air.public("p")       # public input as an Expr

    commit_fixed(air, fixed) -> bytes                                      # fixed_digest (deterministic)
    check_trace(air, fixed, main, publics, public_terms=()) -> None        # ConstraintError / BusError
    prove(air, fixed, main, publics, public_terms=(), options=ProofOptions(), *, progress=False,
          fixed_commitment=None, timings=None) -> Proof                    # Proof.to_bytes() / from_bytes()
    verify(air, proof_or_bytes, publics, public_terms=(), fixed_digest=b"", min_security_bits=100) -> None

``fixed`` / ``main`` map table names to ``uint32[height, columns]`` arrays (heights: powers of two >= 2, may
differ between tables). ``public_terms`` are ``(bus, values, mult)`` sends the verifier adds to the bus balance
itself. Degree rules: ``dsl/air.py``. Fiat-Shamir order: ``verifying/schedule.py``; protocol and check order:
``proving/prover.py``, ``verifying/verifier.py``, ``verifying/transcript.py``, ``verifying/fri.py``.
Errors: ``errors.py`` (every rejection is a subclass of ``zkvm.errors.VerificationError``).
"""

from __future__ import annotations

__all__ = ["Table", "Air", "Expr", "ProofOptions", "Proof", "prove", "verify", "commit_fixed", "check_trace"]


def __getattr__(name: str):
    if name in ("Table", "Air", "Expr"):
        from zkvm.stark.dsl import air
        return getattr(air, name)
    if name == "ProofOptions":
        from zkvm.stark.verifying.options import ProofOptions
        return ProofOptions
    if name == "Proof":
        from zkvm.stark.verifying.proof import Proof
        return Proof
    if name in ("prove", "commit_fixed"):
        from zkvm.stark.proving import prover
        return getattr(prover, name)
    if name == "verify":
        from zkvm.stark.verifying.verifier import verify
        return verify
    if name == "check_trace":
        from zkvm.stark.dsl.check import check_trace
        return check_trace
    raise AttributeError(f"module 'zkvm.stark' has no attribute {name!r}")
