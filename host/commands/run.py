"""`python -m host run guest.elf`: execute a guest on the interpreter and print journal, exit code, cycles."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from zkvm import abi
from host.guest_input import read_guest_input
from zkvm.errors import GuestError, ZkvmError

EPILOG = """\
exit status:
  0  the guest halted with exit code 0
  1  the guest halted with a nonzero exit code, or trapped (illegal instruction, bad memory access,
     cycle limit...), or the ELF or the input was rejected; the reason is printed on stderr
  2  bad command-line usage

examples:
  python -m host run build/guests/hello.elf --input-hex 576f726c64
  echo -n World | python -m host run build/guests/hello.elf --input -
  python -m host run build/guests/fib.elf --input-hex e8030000 --json
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a guest ELF on the interpreter (no proof)",
        description=(
            "Run a static RV32IM guest ELF on the zkvm interpreter with the given private input, then\n"
            "print the public journal (hex, plus text when it is printable UTF-8), the guest's exit code,\n"
            "the cycle count (instructions executed, the final HALT included), the wall time and the\n"
            "speed in MIPS. The guest's LOG output goes to stderr."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("elf", type=Path, help="guest ELF file (see `python -m host build`)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", metavar="FILE", help="private input bytes from FILE ('-' reads stdin)")
    source.add_argument("--input-hex", metavar="HEX", help="private input bytes as hex digits, e.g. 0a000000")
    parser.add_argument(
        "--max-cycles",
        type=_positive_int,
        default=abi.DEFAULT_MAX_CYCLES,
        metavar="N",
        help=f"trap after N instructions without HALT (default {abi.DEFAULT_MAX_CYCLES})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    # The prover adds its flags (--prove, --receipt FILE) next to these; `execute` stays the shared path.
    from host import proving

    proving.add_arguments(parser)
    parser.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""), 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    if value > 1 << 62:
        raise argparse.ArgumentTypeError(f"too large: {text} (at most 2^62)")
    return value


def printable_text(data: bytes) -> str | None:
    """`data` as text if it is non-empty UTF-8 made of printable characters (newlines and tabs allowed)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text and all(c.isprintable() or c in "\n\t" for c in text) else None


def execute(args: argparse.Namespace):
    """Load the ELF and the input, run the guest. Returns (image, input bytes, ExecResult)."""
    from host import api
    from zkvm.elf import load_elf

    image = load_elf(args.elf)
    data = read_guest_input(args.input, args.input_hex)
    return image, data, api.run(image, data, max_cycles=args.max_cycles)


def run(args: argparse.Namespace) -> int:
    from host import proving

    if proving.wanted(args):
        return proving.run_prove(args, lambda result, input_len: _print_outcome(args, result, input_len))
    try:
        _image, data, result = execute(args)
    except ZkvmError as exc:
        if not args.json:
            raise  # the CLI prints "error: ..." and exits 1
        print(json.dumps({"ok": False, "error": _error_json(exc)}))
        return 1
    return _print_outcome(args, result, len(data))


def _print_outcome(args: argparse.Namespace, result, input_len: int) -> int:
    if result.logs:
        sys.stderr.buffer.write(result.logs)
        sys.stderr.flush()
    status = 0 if result.exit_code == 0 else 1
    if args.json:
        print(json.dumps(_result_json(result, input_len)))
    else:
        print(_result_text(result))
    if status and not args.json:
        print(f"error: guest exited with code {result.exit_code}", file=sys.stderr)
    return status


def _result_json(result, input_len: int) -> dict:
    return {
        "ok": result.exit_code == 0,
        "exit_code": result.exit_code,
        "journal_hex": result.journal.hex(),
        "journal_text": printable_text(result.journal),
        "cycles": result.cycles,
        "wall_s": result.wall_s,
        "mips": round(result.mips, 3) if result.wall_s > 0 else None,
        "input_bytes": input_len,
        "logs_hex": result.logs.hex(),
    }


def _error_json(exc: ZkvmError) -> dict:
    error = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, GuestError):
        error.update(cause=exc.cause, pc=exc.pc, insn=exc.insn)
    return error


def _result_text(result) -> str:
    text = printable_text(result.journal)
    journal = result.journal.hex() or "(empty)"
    lines = [f"journal:   {journal}"]
    if text is not None:
        lines.append(f"text:      {text}")
    lines += [
        f"exit code: {result.exit_code}",
        f"cycles:    {result.cycles}",
        f"wall time: {result.wall_s:.6f} s ({result.mips:.1f} MIPS)" if result.wall_s > 0 else "wall time: 0 s",
    ]
    return "\n".join(lines)
