"""`python -m host inspect R [--json]`: show a receipt's claim, proof options, security and sizes."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="show what a receipt claims and how it is proven (does not verify it)",
        description="Parse a receipt and show its claim (image id, exit code, journal digest and length), the "
        "proof options and their conjectured security, table heights and sizes. Nothing is verified: use "
        "`verify` for that.",
        epilog="Exit status: 0 ok; 1 the file is not a well-formed receipt.",
    )
    parser.add_argument("receipt", help="receipt file")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def describe(receipt) -> dict:
    from zkvm.receipt import SEAL_HEAD, Seal

    info = {
        "image_id": receipt.claim.image_id.hex(),
        "exit_code": receipt.claim.exit_code,
        "journal_digest": receipt.claim.journal_digest.hex(),
        "journal_bytes": len(receipt.journal),
        "dev": receipt.dev,
        "zk": receipt.zk,
        "seal_bytes": len(receipt.seal),
        "receipt_bytes": len(receipt.to_bytes()),
    }
    if not receipt.dev:
        from zkvm.circuit.riscv_air import circuit
        from zkvm.circuit.statement import table_heights
        from zkvm.stark.verifying.proof import Proof

        segmented = None
        if receipt.segments:  # one proof per segment (zkvm/segmented.py): describe the first, list the sizes
            from zkvm.segmented import SegmentedSeal, split_entry

            segmented = SegmentedSeal.from_bytes(receipt.seal, SEAL_HEAD.size)
            seal = Seal.from_bytes(segmented.head)
            seal_proof = split_entry(segmented.proofs[0])[3] if segmented.proofs else b""
        else:
            seal = Seal.from_bytes(receipt.seal)
            seal_proof = seal.proof
        air = circuit(segmented is not None).air
        proof = Proof.from_bytes(seal_proof, air)  # counts derived from options and heights, read exactly
        o = proof.options
        heights = table_heights(air, o, proof.log_heights)  # zk: + the blinding hub
        info.update(
            entry_pc=f"0x{seal.entry:08x}",
            proof_options={"log_blowup": o.log_blowup, "num_queries": o.num_queries,
                           "grinding_bits": o.grinding_bits, "log_fold_arity": o.log_fold_arity,
                           "log_final_len": o.log_final_len, "zk": o.zk},
            security_bits=o.security_bits,
            table_heights={n: 1 << h if h else 0 for n, h in heights.items()},
            absent_tables=[n for n, h in heights.items() if not h],  # height 0: not in the proof
            cycles_padded=1 << heights["cpu"],
        )
        if segmented is not None:
            info.update(segments=len(segmented.proofs), segment_po2=segmented.po2,
                        segment_bytes=[len(p) for p in segmented.proofs])
    return info


def run(args: argparse.Namespace) -> int:
    from zkvm.receipt import read_receipt

    info = describe(read_receipt(args.receipt))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(map(str, value)) or "-"
        print(f"{key:<{width}}  {value}")
    return 0
