"""Verifier cost on hostile receipts: time and peak RSS of `python -m host verify` on receipts built to make a
verifier do (or allocate) a lot before rejecting them, next to the honest receipt they come from.

    python bench/hostile_verify.py                    # proves fib once, then measures every case
    python bench/hostile_verify.py --receipt R.bin --elf build/guests/fib.elf
    python bench/hostile_verify.py --code /path/to/other/checkout   # same receipts, another verifier

Each case runs in a fresh subprocess (peak RSS is its own; wall time includes the interpreter start, ~0.3 s).
Writes ``bench/out/hostile_verify.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

MB = 1 << 20


def cases(honest: bytes) -> dict[str, bytes]:
    import hostile_receipts as H

    out = {"honest fib receipt": honest,
           "4 MB journal, digest fixed": H.with_journal(honest, bytes(range(256)) * (4 * MB // 256))}
    out["largest shape (all tables 2^22, 256 queries) + 16 MiB journal"] = H.largest(honest)
    out["deepest: 16 MiB journal to the bus check"] = H.deepest(honest)
    for size in (7, 48):  # under the seal size cap (8 MiB) and over the receipt cap (the size issue 12 reported)
        for name in ("queries", "auth_paths", "ood_z", "rows"):
            out[f"{size} MB, inflated {name} count"] = H.inflate(honest, name, size * MB)
    return out


def measure(path: str, image_id: str, timeout: float, code: Path = ROOT, limit_gb: float = 4.0) -> dict:
    """One `host verify` run in a fresh process (of the checkout ``code``); its peak RSS via /usr/bin/time."""
    cmd = ["/usr/bin/time", "-f", "@@ %M %e", sys.executable, "-m", "host", "verify", path, "--image-id", image_id]
    env = dict(os.environ, PYTHONPATH=str(code))
    try:
        limit = int(limit_gb * (1 << 30))  # a shared machine: an unbounded verifier must not take it down

        def cap() -> None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        p = subprocess.run(cmd, capture_output=True, cwd=code, timeout=timeout, env=env, preexec_fn=cap)
        err = p.stderr.decode(errors="replace").strip().splitlines()
        rss_kb, wall = err[-1].split()[1:]
        rc, err = p.returncode, err[:-1]
        if rc != 0 and err and err[-1].startswith("Command exited"):
            err = err[:-1]
    except subprocess.TimeoutExpired:
        rc, err, rss_kb, wall = None, [f"timeout after {timeout} s"], "nan", str(timeout)
    return {"exit": rc, "wall_s": float(wall), "peak_rss_mb": round(float(rss_kb) / 1024, 1),
            "stderr_lines": len(err), "message": (err[-1] if err else "")[:110]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--receipt", help="honest receipt to start from (default: prove fib now)")
    ap.add_argument("--elf", default=str(ROOT / "build/guests/fib.elf"))
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout whose verifier runs (default: this one)")
    ap.add_argument("--limit-gb", type=float, default=4.0, help="address-space cap per verify run (GiB)")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "hostile_verify.json")
    args = ap.parse_args()
    from zkvm.elf import load_elf
    from zkvm.receipt import image_id, prove

    image = load_elf(args.elf)
    iid = image_id(image).hex()
    if args.receipt:
        honest = Path(args.receipt).read_bytes()
    else:
        honest = prove(image, (10).to_bytes(4, "little"))[1].to_bytes()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in cases(honest).items():
            path = os.path.join(tmp, "r.bin")
            Path(path).write_bytes(data)
            rows[name] = {"bytes": len(data), **measure(path, iid, args.timeout, args.code, args.limit_gb)}
            print(name, rows[name], flush=True)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))
    print("\n| case | bytes | exit | wall s | peak RSS MB | message |\n|---|---:|---:|---:|---:|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['bytes']} | {r['exit']} | {r['wall_s']} | {r['peak_rss_mb']} | {r['message']} |")


if __name__ == "__main__":
    main()
