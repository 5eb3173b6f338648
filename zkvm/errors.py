"""Typed errors. Untrusted input (ELF files, receipt bytes, model blobs, CLI arguments) must surface as one
of these, never as a traceback from deep inside a library or a crash in C."""

from __future__ import annotations


class ZkvmError(Exception):
    """Base of every error zkvm raises on purpose. The CLI turns it into a message and exit status 1."""


class InputError(ZkvmError):
    """Bad user-supplied input (file missing, malformed hex, input too large...)."""


class ElfError(ZkvmError):
    """The file is not a static RV32IM executable that fits guest memory."""


class GuestError(ZkvmError):
    """The guest trapped: illegal instruction, bad memory access, cycle limit...

    ``cause`` is a short machine-readable name, ``pc`` and ``insn`` locate the trap.
    """

    def __init__(self, cause: str, pc: int, insn: int, detail: str = "") -> None:
        self.cause, self.pc, self.insn, self.detail = cause, pc, insn, detail
        msg = f"guest trap: {cause} at pc=0x{pc:08x} (insn 0x{insn:08x})"
        super().__init__(msg + (f": {detail}" if detail else ""))


class RunTooLong(ZkvmError):
    """The run needs more cycles than one proof can cover (``abi.MAX_PROVE_CYCLES``)."""


class VerificationError(ZkvmError):
    """A proof or receipt was rejected. Subclasses name the failed check."""
