"""The Python API: everything the CLI does, as functions that return objects and raise typed errors.

Guests (this module): `build`, `run`, `prove`, `verify`, `image_id`, `read_receipt`. Models (`host.api.ml`):
`load_model`, `quantize`, `commit`, `run`, `prove`, `verify`, `image_id`. No function here prints or exits; every
failure is a subclass of `ZkvmError` (re-exported below), so a service can catch exactly what it expects::

    from host import api
    elf = api.build("guest/fib")
    proof = api.prove(elf, (1000).to_bytes(4, "little"))
    journal = api.verify(proof.receipt, api.image_id(elf))

Why here: `host` is the layer above `zkvm` that knows guests, models and files (zkvm never imports it), and
`python -m host` is a thin shell over these functions, so the CLI and a Python caller share one code path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from host.build import BuildError
from zkvm import abi
from zkvm.errors import ElfError, GuestError, InputError, VerificationError, ZkvmError

__all__ = [
    "BuildError", "ElfError", "GuestError", "InputError", "VerificationError", "ZkvmError",
    "Proof", "RunResult", "build", "image_id", "prove", "read_receipt", "run", "verify", "ml",
]

PathLike = str | os.PathLike


@dataclass(frozen=True)
class RunResult:
    """One execution: the guest's exit code, public journal, cycle count, debug log and wall time."""

    exit_code: int
    journal: bytes
    cycles: int
    logs: bytes
    wall_s: float

    @property
    def mips(self) -> float:
        return self.cycles / self.wall_s / 1e6 if self.wall_s > 0 else float("inf")


class HasReceipt:
    """What every proof object offers about its `receipt` attribute (a zkvm.receipt.Receipt)."""

    receipt: object

    @property
    def image_id(self) -> bytes:
        return self.receipt.claim.image_id

    def to_bytes(self) -> bytes:
        return self.receipt.to_bytes()

    def save(self, path: PathLike) -> Path:
        """Write the receipt bytes to `path` (atomically: a reader never sees half a receipt)."""
        return write_file(path, self.to_bytes())


@dataclass(frozen=True)
class Proof(HasReceipt):
    """A proven run: the execution's outcome and its receipt (claim + journal + seal)."""

    result: RunResult
    receipt: object  # zkvm.receipt.Receipt

    @property
    def journal(self) -> bytes:
        return self.receipt.journal


def write_file(path: PathLike, data: bytes) -> Path:
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return p


def _result(r) -> RunResult:
    return RunResult(r.exit_code, r.journal, r.cycles, r.logs, r.wall_s)


def _image(elf):
    from zkvm.elf import load_elf  # noqa: PLC0415

    return elf if hasattr(elf, "words") else load_elf(elf)


def build(guest_dir: PathLike, out: PathLike | None = None) -> Path:
    """Cross-compile a guest folder (main.c, sources.txt) to an RV32IM ELF; returns its path."""
    from host.build import build_guest  # noqa: PLC0415

    elf = build_guest(Path(guest_dir), out)
    _image(elf)  # a toolchain problem surfaces here, not at run time
    return elf


def image_id(elf) -> bytes:
    """The 32-byte image id of a guest (an ELF path or a loaded MemoryImage): what a verifier needs."""
    from zkvm.receipt import image_id as _image_id  # noqa: PLC0415

    return _image_id(_image(elf))


def run(elf, input: bytes = b"", *, max_cycles: int = abi.DEFAULT_MAX_CYCLES) -> RunResult:
    """Execute a guest on the interpreter (no proof). A trap raises GuestError; a nonzero exit code is returned."""
    from zkvm.exec import Executor  # noqa: PLC0415

    _check_input(input)
    return _result(Executor(_image(elf), bytes(input), max_cycles).run())


def prove(elf, input: bytes = b"", *, zk: bool = True, dev: bool = False, progress: bool = False,
          max_cycles: int = abi.DEFAULT_MAX_CYCLES, stats=None, fixed_cache: PathLike | None = None,
          segment_po2: int | None = None, scheduler=None) -> Proof:
    """Execute and prove a guest. `zk=False` skips zero knowledge (smaller, faster); `dev=True` makes an
    unproven receipt that `verify` refuses unless allowed. `stats` (zkvm.receipt.ProveStats) collects timings.
    `fixed_cache`: a folder where the image's committed fixed columns (the proving key) are kept between proofs.
    A run longer than 2^`segment_po2` cycles is proven in segments (README, "Long runs"), in this process or on
    Dask: `scheduler` = "local" (an embedded LocalCluster), a scheduler address, or a distributed.Client."""
    from zkvm.receipt import prove as _prove  # noqa: PLC0415

    _check_input(input)
    try:
        result, receipt = _prove(_image(elf), bytes(input), zk=zk, dev=dev, progress=progress,
                                 max_cycles=max_cycles, stats=stats,
                                 fixed_cache=None if fixed_cache is None else os.fspath(fixed_cache),
                                 segment_po2=segment_po2, scheduler=scheduler)
    except ZkvmError as exc:
        if zk and "zero-knowledge" in str(exc):
            raise ZkvmError(f"{exc}; for a proof without zero knowledge use zk=False (--no-zk)") from None
        raise
    return Proof(_result(result), receipt)


def read_receipt(source) -> object:
    """A Receipt from a file path or bytes (a Receipt is returned as is). MalformedReceipt if it does not parse."""
    from zkvm import receipt as rm  # noqa: PLC0415

    if isinstance(source, rm.Receipt):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) > rm.MAX_SEGMENTED_RECEIPT_BYTES:
            raise rm.MalformedReceipt(f"{len(source)} bytes is larger than any receipt")
        return rm.Receipt.from_bytes(bytes(source))
    return rm.read_receipt(os.fspath(source))


def verify(receipt, image_id: bytes | str, *, allow_dev: bool = False, require_zk: bool = False,
           min_security_bits: int = 100) -> bytes:
    """Check a receipt (Receipt, bytes or a file path) against the expected image id (32 bytes or 64 hex
    digits); returns the journal, or raises a VerificationError subclass naming the failed check."""
    from zkvm.receipt import verify as _verify  # noqa: PLC0415

    return _verify(read_receipt(receipt), parse_image_id(image_id), allow_dev=allow_dev, require_zk=require_zk,
                   min_security_bits=min_security_bits)


def parse_image_id(value: bytes | str) -> bytes:
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value.strip())
        except ValueError:
            raise InputError(f"image id {value!r} is not hex") from None
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise InputError("an image id is 32 bytes (64 hex digits)")
    return bytes(value)


def _check_input(data) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"guest input must be bytes, got {type(data).__name__}")
    if len(data) > abi.MAX_INPUT_BYTES:
        raise InputError(f"input larger than {abi.MAX_INPUT_BYTES} bytes")


from host.api import ml  # noqa: E402  - the ML half uses the helpers above
