"""Verifier speed: in-process verify (cold and warm), `python -m host verify` wall time and import time, receipt
size — for one receipt, against one or more checkouts of the code (side by side, same run).

    python -m host run build/guests/fib.elf --input-hex 63aa0200 --prove --receipt /tmp/fib20.rcpt  # 2^20 cycles
    python bench/verify.py --receipt /tmp/fib20.rcpt --elf build/guests/fib.elf
    python bench/verify.py --receipt R --elf E --code before=/path/to/old/checkout --code after=.

Every figure comes from a fresh subprocess whose ``sys.path`` starts at that checkout: "cold" is the first
``zkvm.receipt.verify`` call of the process (lazy imports and per-circuit caches included), "warm" the median
of later calls on the same receipt (wall and process CPU time: the latter is less disturbed by a loaded machine); "wall" is the median of ``--repeat`` runs of the CLI; "imports" is the
sum of the top-level entries of ``python -X importtime`` for the CLI run with ``--image-id``.
Writes ``bench/out/verify.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

_INPROC = r"""
import sys, time, json
sys.path.insert(0, {code!r})
t0 = time.perf_counter()
from zkvm.receipt import Receipt, verify
t_imp = time.perf_counter() - t0
r = Receipt.from_bytes(open({receipt!r}, "rb").read())
iid = bytes.fromhex({iid!r})
t0 = time.perf_counter(); verify(r, iid); cold = time.perf_counter() - t0
warm, cpu = [], []
for _ in range({n}):
    r = Receipt.from_bytes(open({receipt!r}, "rb").read())
    t0, c0 = time.perf_counter(), time.process_time(); verify(r, iid)
    warm.append(time.perf_counter() - t0); cpu.append(time.process_time() - c0)
warm.sort(); cpu.sort()
print(json.dumps({{"cold_ms": 1e3 * cold, "warm_ms": 1e3 * warm[len(warm) // 2], "warm_cpu_ms": 1e3 * cpu[len(cpu) // 2],
                  "import_ms": 1e3 * t_imp}}))
"""


def _env(code: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = code
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure as installed: bytecode cached, not recompiled every run
    return env


def _wall(cmd: list[str], code: str, repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system of the child) of ``repeat`` runs."""
    times, cpus = [], []
    for _ in range(repeat):
        c0 = os.times()
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=_env(code), cwd=code, capture_output=True)
        times.append(time.perf_counter() - t0)
        c1 = os.times()
        cpus.append(c1.children_user - c0.children_user + c1.children_system - c0.children_system)
        if proc.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed in {code}:\n{proc.stderr.decode()}")
    return statistics.median(times), statistics.median(cpus)


def _import_ms(cmd: list[str], code: str) -> float:
    proc = subprocess.run(cmd[:1] + ["-X", "importtime"] + cmd[1:], env=_env(code), cwd=code, capture_output=True)
    total = 0
    for line in proc.stderr.decode().splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cum, name = line.split("|")
            if not name.startswith("  ") and cum.strip().isdigit():  # top-level entries only
                total += int(cum)
    return total / 1e3


def measure(code: str, receipt: str, elf: str, iid: str, repeat: int, warm_n: int) -> dict:
    py = sys.executable
    subprocess.run([py, "-m", "host", "verify", receipt, "--image-id", iid], env=_env(code), cwd=code,
                   capture_output=True)  # warm-up: writes the bytecode caches
    out = subprocess.run([py, "-c", _INPROC.format(code=code, receipt=receipt, iid=iid, n=warm_n)],
                         env=_env(code), cwd=code, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"in-process verify failed in {code}:\n{out.stderr}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    by_id = [py, "-m", "host", "verify", receipt, "--image-id", iid]
    res["wall_image_id_s"], res["cpu_image_id_s"] = _wall(by_id, code, repeat)
    res["wall_elf_s"], res["cpu_elf_s"] = _wall([py, "-m", "host", "verify", receipt, "--elf", elf], code, repeat)
    res["python_start_s"], res["python_start_cpu_s"] = _wall([py, "-c", "pass"], code, repeat)
    res["cli_import_ms"] = statistics.median(_import_ms(by_id, code) for _ in range(repeat))
    res["receipt_kb"] = os.path.getsize(receipt) / 1e3
    return res


def table(results: dict[str, dict]) -> str:
    rows = [("verify in-process, cold (ms)", "cold_ms", "{:.0f}"), ("verify in-process, warm (ms)", "warm_ms", "{:.1f}"),
            ("verify in-process, warm, CPU time (ms)", "warm_cpu_ms", "{:.1f}"),
            ("`host verify --image-id` wall (s)", "wall_image_id_s", "{:.2f}"),
            ("`host verify --image-id` CPU time (s)", "cpu_image_id_s", "{:.2f}"),
            ("`host verify --elf` wall (s)", "wall_elf_s", "{:.2f}"),
            ("`host verify --elf` CPU time (s)", "cpu_elf_s", "{:.2f}"),
            ("`python -c pass` wall / CPU (s), for reference", "python_start_s", "{:.2f}"),
            ("imports of `host verify --image-id` (ms, -X importtime)", "cli_import_ms", "{:.0f}"),
            ("receipt (KB)", "receipt_kb", "{:.0f}")]
    names = list(results)
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, key, fmt in rows:
        lines.append(f"| {label} | " + " | ".join(fmt.format(results[n][key]) for n in names) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--receipt", required=True)
    ap.add_argument("--elf", default=str(ROOT / "build/guests/fib.elf"))
    ap.add_argument("--code", action="append", metavar="NAME=DIR",
                    help="a checkout to measure (repeatable; default: this one)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warm", type=int, default=5, help="warm verify calls per process")
    args = ap.parse_args()
    codes = dict(c.split("=", 1) for c in (args.code or [f"this={ROOT}"]))
    receipt, elf = os.path.abspath(args.receipt), os.path.abspath(args.elf)
    from_receipt = subprocess.run(
        [sys.executable, "-c", "import sys; from zkvm.receipt import Receipt; "
         f"print(Receipt.from_bytes(open({receipt!r}, 'rb').read()).claim.image_id.hex())"],
        env=_env(str(ROOT)), capture_output=True, text=True, check=True)
    iid = from_receipt.stdout.strip()
    results = {name: measure(os.path.abspath(code), receipt, elf, iid, args.repeat, args.warm)
               for name, code in codes.items()}
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "verify.json").write_text(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
