"""`python -m host build`: cross-compile guest folders to RV32IM ELF files."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tqdm import tqdm

from host.build import DEFAULT_OUT_DIR, GUESTS_DIR, BuildError, find_guests
from zkvm.elf import load_elf

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build",
        help="compile a guest folder to an RV32IM ELF",
        description=(
            "Compile a guest folder (main.c plus any *.c/*.S in it, plus the directories listed in its "
            "sources.txt) with the ziglang cross compiler for RV32IM, linked with the toolchain's crt0, "
            "runtime and linker script. The result is checked with the zkvm ELF loader."
        ),
        epilog=f"Default output: {DEFAULT_OUT_DIR.relative_to(DEFAULT_OUT_DIR.parents[1])}/NAME.elf. "
        "Exit status: 0 ok; 1 a compiler error (its messages are shown) or an invalid ELF.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("guest", nargs="?", type=Path, help="guest folder, e.g. guest/hello")
    target.add_argument("--all", action="store_true", help="build every folder of guest/ that has a main.c")
    parser.add_argument("-o", "--output", type=Path, help="output ELF path (single guest only)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.all:
        if args.output is not None:
            raise BuildError("-o/--output applies to a single guest, not --all")
        guests = find_guests(GUESTS_DIR)
        if not guests:
            raise BuildError(f"no guest folders with a main.c under {GUESTS_DIR}")
        # tqdm hides itself when stderr is not a terminal; a cold build takes a few seconds per guest
        for guest in tqdm(guests, desc="building guests", unit="guest", disable=None, leave=False):
            _build_one(guest, None)
        return 0
    _build_one(args.guest, args.output)
    return 0


def _build_one(guest: Path, output: Path | None) -> None:
    from host import api

    elf_path = api.build(guest, output)  # loads the ELF: a toolchain bug surfaces here, not at run time
    image = load_elf(elf_path)
    log.info("built %s (entry 0x%08x, %d words)", elf_path, image.entry, len(image.words))
