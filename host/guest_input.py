"""The guest's private input as given on the command line (`--input FILE|-`, `--input-hex`), bounded by the ABI."""

from __future__ import annotations

import binascii
import sys

from zkvm import abi
from zkvm.errors import InputError


def read_guest_input(input_path: str | None, input_hex: str | None) -> bytes:
    """The private input from --input FILE|- or --input-hex (empty when neither). Raises InputError."""
    if input_hex is not None:
        digits = "".join(input_hex.split())
        if digits.lower().startswith("0x"):
            digits = digits[2:]
        try:
            data = binascii.unhexlify(digits)
        except (binascii.Error, ValueError) as exc:
            raise InputError(f"--input-hex is not valid hex ({exc})") from None
    elif input_path is None:
        data = b""
    elif input_path == "-":
        data = sys.stdin.buffer.read(abi.MAX_INPUT_BYTES + 1)
    else:
        try:
            with open(input_path, "rb") as f:
                data = f.read(abi.MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read input file {input_path}: {exc.strerror or exc}") from None
    if len(data) > abi.MAX_INPUT_BYTES:
        raise InputError(f"input larger than {abi.MAX_INPUT_BYTES} bytes")
    return data
