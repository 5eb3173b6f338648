"""Typed errors of the STARK layer.

Every way a proof can be rejected has its own subclass of :class:`zkvm.errors.VerificationError`, so tests (and
users) can tell *which* check failed. Errors about the statement itself (a bad AIR, a trace that does not
satisfy its constraints) are not verification errors: they are raised before any proof exists.
"""

from __future__ import annotations

from zkvm.errors import InputError, VerificationError, ZkvmError


class AirError(ZkvmError):
    """The AIR description is invalid (degree too high, duplicate names, inconsistent bus arity...)."""


class TraceShapeError(InputError):
    """A trace handed to the prover or checker has the wrong shape, height or dtype."""


class ConstraintError(ZkvmError):
    """``check_trace``: a constraint does not hold. Names the table, the constraint and the first bad row."""

    def __init__(self, table: str, constraint: str, row: int, value: int) -> None:
        self.table, self.constraint, self.row, self.value = table, constraint, row, value
        super().__init__(f"table {table!r}: constraint {constraint!r} fails at row {row} (value {value})")


class BusError(ZkvmError):
    """``check_trace``: a bus does not balance. Names the bus and one tuple whose multiplicities do not cancel."""

    def __init__(self, bus: str, values: tuple[int, ...], balance: int) -> None:
        self.bus, self.values, self.balance = bus, values, balance
        super().__init__(f"bus {bus!r} does not balance: tuple {values} has net multiplicity {balance}")


# ---------------------------------------------------------------- verifier rejections

class MalformedProof(VerificationError):
    """The proof bytes do not parse, or their shapes do not match the AIR and options."""


class InsufficientSecurity(VerificationError):
    """The proof's options give fewer conjectured bits of security than the verifier requires."""


class MerkleError(VerificationError):
    """An opened row or FRI leaf does not authenticate against its commitment."""


class OodMismatch(VerificationError):
    """At the out-of-domain point, the constraints do not match the committed quotient."""


class FriError(VerificationError):
    """The FRI low-degree test failed (inconsistent folding or final polynomial)."""


class PowError(VerificationError):
    """The proof-of-work nonce does not have the required number of leading zero bits."""


class BusImbalance(VerificationError):
    """The LogUp sums of all tables plus the public terms do not add up to zero."""


class PublicInputMismatch(VerificationError):
    """The publics, public terms or fixed commitment given to the verifier do not fit the AIR or the proof."""


class QueryMismatch(VerificationError):
    """The query positions in the proof are not the ones the transcript derives."""
