"""`python -m host image-id guest.elf`: print the image id a verifier needs (64 hex digits)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "image-id",
        help="print the image id of a guest ELF",
        description="Print the image id of a guest: SHA-256 over a domain tag, the entry pc, the image span and "
        "the commitment to the preprocessed program and memory tables. Receipts are checked against it "
        "(`python -m host verify R --image-id HEX`); the verifier never needs the ELF.",
        epilog="Exit status: 0 ok; 1 the file is not a valid guest ELF.",
    )
    parser.add_argument("elf", help="guest ELF file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from host import api

    print(api.image_id(args.elf).hex())
    return 0
