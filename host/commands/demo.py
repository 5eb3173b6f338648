"""`python -m host demo`: the tour `make demo` gives a newcomer.

Each step is a real CLI command, printed before it runs, so the output doubles as a how-to: run two guests,
prove and verify a Fibonacci run, then prove a digits prediction with a private model and verify it against
the model owner's published commitment.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

from zkvm.errors import ZkvmError

GUESTS = Path("build/guests")
OUT = Path("build/demo")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="tour: run guests, prove and verify a run and a digits prediction",
        description=__doc__ + "\nRun `make guests` (or `python -m host build --all`) first; `make demo` does.",
    )
    p.add_argument("--fib-n", type=int, default=1000, help="n for the proven Fibonacci run (default 1000)")
    p.add_argument("--digit", type=int, default=0, help="index of the digits test image to classify (default 0)")
    p.set_defaults(func=run_demo)


def _step(title: str, argv: list[str]) -> None:
    """Print and run one CLI command; any failure ends the demo with that command's status."""
    from host.cli import main

    print(f"\n== {title}\n$ python -m host {shlex.join(argv)}", flush=True)
    t = time.perf_counter()
    status = main(argv)
    sys.stdout.flush()
    if status != 0:
        raise ZkvmError(f"demo step failed (exit {status}): python -m host {shlex.join(argv)}")
    print(f"({time.perf_counter() - t:.1f} s)")


def run_demo(args) -> int:
    from host.ml import models
    from zkvm.elf import load_elf
    from zkvm.receipt import image_id

    missing = [g for g in ("hello", "fib") if not (GUESTS / f"{g}.elf").is_file()]
    if missing:
        raise ZkvmError(f"guests not built ({', '.join(missing)}): run `make guests` first")
    OUT.mkdir(parents=True, exist_ok=True)
    fib_input = (args.fib_n & 0xFFFF_FFFF).to_bytes(4, "little").hex()

    _step("Run a guest: hello greets its private input", ["run", str(GUESTS / "hello.elf"), "--input-hex",
                                                          b"zkvm".hex()])
    _step(f"Run fib({args.fib_n}) mod 2^32", ["run", str(GUESTS / "fib.elf"), "--input-hex", fib_input])
    fib_receipt = str(OUT / "fib.rcpt")
    _step("Prove the fib run (zero-knowledge STARK); -v prints the time split",
          ["-v", "run", str(GUESTS / "fib.elf"), "--input-hex", fib_input, "--prove", "--receipt", fib_receipt])
    fib_id = image_id(load_elf(GUESTS / "fib.elf")).hex()
    _step("Verify the receipt knowing only the image id", ["verify", fib_receipt, "--image-id", fib_id, "--hex"])
    _step("What the receipt contains", ["inspect", fib_receipt])

    if not models.paths("a")["blob"].is_file():
        _step("Train, quantise and commit to digits model A (MLP 64-32-10)", ["ml", "build-models", "--models", "a"])
    elif not models.paths("a")["commitment"].is_file():
        _step("The model owner commits to model A (publishes the commitment, keeps blob and salt)",
              ["ml", "commit", "a"])
    ml_receipt = str(OUT / "digits.rcpt")
    _step(f"Prove a digits prediction: public input (test image {args.digit}), private model",
          ["ml", "prove", "a", "--input", f"digits:{args.digit}", "--public", "input", "--receipt", ml_receipt])
    _step("Verify it knowing only the owner's published commitment (the generic guest's image id is rebuilt "
          "from guest/): the verifier learns the input and the prediction, never the weights",
          ["ml", "verify", ml_receipt, "--model-commitment", os.path.relpath(models.paths("a")["commitment"])])
    print("\ndemo finished: every receipt above was proven and verified.")
    return 0
