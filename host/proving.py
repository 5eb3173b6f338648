"""The proving side of `python -m host run`: --prove, --receipt FILE, --dev, --no-zk (see host/commands/run.py)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from zkvm.errors import InputError

#: Where provers keep the fixed columns' LDEs and Merkle trees between proofs (the 2^16-row lookup tables are
#: in every proof; an image's program/image tables in every proof of that image). Safe to delete.
FIXED_CACHE = Path(__file__).resolve().parents[1] / "build" / "cache" / "fixed"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("proving")
    group.add_argument("--prove", action="store_true", help="prove the run with a STARK (see --receipt)")
    group.add_argument("--receipt", type=Path, metavar="FILE",
                       help="write the receipt (claim + journal + seal) to FILE; check it with `host verify`")
    group.add_argument("--dev", action="store_true",
                       help="write an UNPROVEN dev-mode receipt instead of proving (verify refuses it unless "
                            "--allow-dev)")
    group.add_argument("--no-zk", action="store_true", help="prove without zero knowledge (smaller, faster)")
    add_segment_arguments(group)


def add_segment_arguments(group) -> None:
    from zkvm import abi

    group.add_argument("--segment-po2", type=int, metavar="K", default=abi.DEFAULT_SEGMENT_PO2,
                       help="prove runs longer than 2^K cycles in segments of 2^K cycles (default "
                            f"{abi.DEFAULT_SEGMENT_PO2}: one segment proves within ~2.5 GB)")
    group.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="prove segments on this Dask scheduler (tcp://host:8786), or 'inline' in this process; "
                            "default: $ZKVM_SCHEDULER, else an embedded LocalCluster with one worker per core")


def scheduler(args: argparse.Namespace) -> str | None:
    """The Dask scheduler for segment proofs (None: prove them in this process)."""
    from zkvm.distributed import default_scheduler

    chosen = args.scheduler or default_scheduler()
    return None if chosen == "inline" else chosen


def wanted(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "prove", False) or getattr(args, "dev", False))


def run_prove(args: argparse.Namespace, printer) -> int:
    """Prove (or dev-receipt) the run; `printer(result)` prints the run's outcome as `host run` does."""
    from host import api
    from host.guest_input import read_guest_input
    from zkvm.elf import load_elf
    from zkvm.receipt import ProveStats

    if args.prove and args.dev:
        raise InputError("--prove and --dev exclude each other (--dev makes an unproven receipt)")
    if args.dev and args.receipt is None:
        raise InputError("--dev needs --receipt FILE")
    image = load_elf(args.elf)
    data = read_guest_input(args.input, args.input_hex)
    stats = ProveStats()
    progress = sys.stderr.isatty()
    proof = api.prove(image, data, zk=not args.no_zk, dev=args.dev, progress=progress, max_cycles=args.max_cycles,
                      stats=stats, fixed_cache=str(FIXED_CACHE), segment_po2=args.segment_po2,
                      scheduler=scheduler(args))
    result, receipt = proof.result, proof.receipt
    status = printer(result, len(data))
    out = sys.stderr if getattr(args, "json", False) else sys.stdout  # keep --json output parseable
    raw = receipt.to_bytes()
    if args.receipt is not None:
        try:
            args.receipt.write_bytes(raw)
        except OSError as exc:
            raise InputError(f"cannot write {args.receipt}: {exc.strerror or exc}") from None
    kind = "DEV (unproven)" if receipt.dev else ("zk" if receipt.zk else "not zk")
    print(f"image id:  {receipt.claim.image_id.hex()}", file=out)
    print(f"receipt:   {args.receipt or '(not written)'} ({len(raw)} bytes, {kind})", file=out)
    if stats.segments:
        print(f"segments:  {len(stats.segments)} of 2^{args.segment_po2} cycles "
              f"({', '.join(str(n) for n in stats.segments)} bytes)", file=out)
    if not receipt.dev:
        total = sum(v for k, v in stats.phases.items() if "." not in k)
        rate = result.cycles / stats.phases["prove"] if stats.phases.get("prove") else 0
        print(f"proving:   {total:.2f} s ({rate:,.0f} cycles/s in the prover)", file=out)
    for phase, secs in stats.phases.items():
        log.info("  %-16s %8.3f s", phase, secs)
    if stats.heights:
        log.info("  tables: %s", ", ".join(f"{k}={v}" for k, v in stats.heights.items()))
    return status
