"""Command-line entry point. Each command lives in `host/commands/<name>.py` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (args -> exit status).

Exit status: 0 success; 1 the guest, the proof or an input was rejected (message on stderr); 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from zkvm.errors import ZkvmError

#: Command modules, in the order `--help` lists them.
COMMANDS = ["build", "run", "image_id", "verify", "inspect", "ml", "demo"]


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given ``argv`` naming a command, only that command's module is imported (``host verify``
    then loads what verifying needs, not the prover's or the model tools' imports). --help lists them all."""
    parser = argparse.ArgumentParser(
        prog="python -m host",
        description="zkvm: run RV32IM guests, prove their execution with a STARK, verify receipts.",
        epilog="Exit status: 0 ok; 1 guest error, rejected proof or bad input; 2 usage error.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more detail (-vv for debug, -vvv with the Dask cluster's own logs)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = _command_in(sys.argv[1:] if argv is None else argv)
    for name in COMMANDS if chosen is None else [chosen]:
        importlib.import_module(f"host.commands.{name}").register(sub)
    return parser


def _command_in(argv: list[str]) -> str | None:
    """The command module ``argv`` names (its first argument that is not an option), if any."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            name = arg.replace("-", "_")
            return name if name in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    # force=True: `host demo` calls main() again in-process, and each call's -v must take effect.
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2), format="%(message)s", stream=sys.stderr, force=True
    )
    # -v is about our work: Dask's own scheduler/worker chatter (dozens of lines a proof) only at -vvv.
    logging.getLogger("distributed").setLevel(logging.WARNING if args.verbose < 3 else logging.DEBUG)
    try:
        return int(args.func(args) or 0)
    except ZkvmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
