"""`python -m host verify R (--image-id HEX | --elf guest.elf)`: check a receipt, print its journal."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from zkvm.errors import InputError, VerificationError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="verify a receipt and print its journal",
        description="Verify a receipt against an image id: the claim's journal digest, the seal's image data and "
        "the STARK proof. On success the journal is written to stdout (raw bytes; --hex for hex).",
        epilog="Exit status: 0 the receipt is valid; 1 it was rejected (the failed check is named) or the file "
        "is unreadable.",
    )
    parser.add_argument("receipt", help="receipt file (from `host run --prove --receipt FILE`)")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--image-id", metavar="HEX", help="expected image id (64 hex digits)")
    who.add_argument("--elf", help="compute the expected image id from this guest ELF")
    parser.add_argument("--allow-dev", action="store_true", help="accept dev-mode (unproven) receipts")
    parser.add_argument("--require-zk", action="store_true", help="reject receipts whose proof is not zero-knowledge")
    parser.add_argument("--min-security", type=int, default=100, metavar="BITS",
                        help="minimum conjectured security of the proof (default 100)")
    parser.add_argument("--hex", action="store_true", help="print the journal as hex")
    parser.set_defaults(func=run)


def parse_image_id(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raise InputError(f"--image-id: not hex: {text!r}") from None
    if len(raw) != 32:
        raise InputError(f"--image-id: expected 32 bytes (64 hex digits), got {len(raw)}")
    return raw


def run(args: argparse.Namespace) -> int:
    if "numpy" not in sys.modules:  # verifying multiplies small matrices: a BLAS thread pool only costs start-up
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from zkvm.receipt import read_receipt, verify

    if args.image_id is not None:
        expected = parse_image_id(args.image_id)
    else:
        from zkvm.elf import load_elf
        from zkvm.receipt import image_id

        expected = image_id(load_elf(args.elf))
    t0 = time.perf_counter()
    try:
        receipt = read_receipt(args.receipt)
        journal = verify(receipt, expected, allow_dev=args.allow_dev, require_zk=args.require_zk,
                         min_security_bits=args.min_security)
    except VerificationError as exc:  # name the failed check, e.g. "ImageIdMismatch"
        print(f"error: receipt rejected ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 1
    log.info("receipt valid (%s, exit code %d, verified in %.0f ms)",
             "dev, unproven" if receipt.dev else ("zk" if receipt.zk else "not zk"), receipt.claim.exit_code,
             1000 * (time.perf_counter() - t0))
    if receipt.segments:
        from zkvm.receipt import SEAL_HEAD
        from zkvm.segmented import SegmentedSeal

        sizes = [len(p) for p in SegmentedSeal.from_bytes(receipt.seal, SEAL_HEAD.size).proofs]
        log.info("segments: %d (%s bytes)", len(sizes), ", ".join(map(str, sizes)))
    if args.hex:
        print(journal.hex())
    else:
        sys.stdout.buffer.write(journal)
        sys.stdout.buffer.flush()
    return 0
