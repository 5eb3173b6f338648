"""Golden digests of the main traces that `riscv_air.generate` builds for a fixed set of runs.

The trace fill is optimised (vectorised numpy, native helpers); a faster fill must produce *exactly* the same
traces. tests/circuit/test_trace_digests.py compares against trace_digests.json, written by

    .venv/bin/python tests/circuit/trace_digests.py --write

from the fill before the optimisation. A deliberate circuit change (new columns, new tables) changes the
digests: regenerate them with the command above, in the same commit as the change, and say so in its message.
Runs: hand-assembled programs (independent of the guest toolchain) and the shipped guests (the digests of their
loaded images are recorded too, so a changed build is reported as such, not as a trace difference).
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "soundness"))
GOLDEN = Path(__file__).with_name("trace_digests.json")
#: guest name -> private input
GUEST_INPUTS = {
    "fib": struct.pack("<I", 3000),
    "hello": b"World",
    "sort": struct.pack("<300I", *(random.Random(5).getrandbits(32) for _ in range(300))),
    "sha256": random.Random(6).randbytes(1000),
}


def digest(w) -> str:
    """SHA-256 over every table's name, shape and uint32 cells (sorted by name), the journal and exit code."""
    import numpy as np

    h = hashlib.sha256()
    for name in sorted(w.main):
        a = np.ascontiguousarray(w.main[name], dtype=np.uint32)
        h.update(name.encode() + b"\0" + struct.pack("<2Q", *a.shape) + a.astype("<u4").tobytes())
    h.update(struct.pack("<Q", len(w.journal)) + w.journal + struct.pack("<q", w.exit_code))
    return h.hexdigest()


def runs():
    """(name, image, input, elf sha256 or None) of every run."""
    import harness as H
    import rv32asm as A
    import test_dot_soundness as D

    code, _ = H.kitchen_sink()
    yield "kitchen_sink", A.image(code, {H.DATA: 0xCAFEF00D}), H.INPUT, None
    code, _ = D._program()
    yield "dot_calls", A.image(code, D._memory()), b"", None
    from zkvm.elf import load_elf

    for name, data in GUEST_INPUTS.items():
        elf = ROOT / "build" / "guests" / f"{name}.elf"
        image = load_elf(elf)
        yield name, image, data, image_digest(image)


def image_digest(image) -> str:
    """What the guest build put in memory (entry, executable ranges, every image word): unlike the ELF file's
    bytes, independent of the checkout's path, which the debug information records."""
    h = hashlib.sha256(struct.pack("<I", image.entry))
    for start, end in image.exec_ranges:
        h.update(struct.pack("<II", start, end))
    for addr in sorted(image.words):
        h.update(struct.pack("<II", addr, image.words[addr]))
    return h.hexdigest()


def compute() -> dict:
    from zkvm.circuit import riscv_air
    from zkvm.exec import Executor

    out = {}
    for name, image, data, elf_digest in runs():
        _, record = Executor(image, data).record()
        out[name] = {"elf": elf_digest, "trace": digest(riscv_air.generate(riscv_air.setup(image), record))}
    return out


if __name__ == "__main__":
    result = compute()
    if "--write" in sys.argv:
        GOLDEN.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(json.dumps(result, indent=1, sort_keys=True))
