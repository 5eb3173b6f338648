"""End to end through the CLI: image-id, run --prove / --dev, verify, inspect (default 100-bit options)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HELLO = ROOT / "build" / "guests" / "hello.elf"


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "host", *map(str, args)], cwd=ROOT, capture_output=True,
                          timeout=600)


@pytest.fixture(scope="module")
def hello():
    if not HELLO.exists():
        pytest.skip(f"{HELLO} not built: run `python -m host build --all` (make test does)")
    out = cli("image-id", HELLO)
    assert out.returncode == 0, out.stderr
    iid = out.stdout.decode().strip()
    assert len(bytes.fromhex(iid)) == 32
    return iid


def test_prove_then_verify(hello, tmp_path):
    rcpt = tmp_path / "hello.rcpt"
    run = cli("-v", "run", HELLO, "--input-hex", "5a4b", "--prove", "--no-zk", "--receipt", rcpt)
    assert run.returncode == 0, run.stderr
    assert b"Hello, ZK!" in run.stdout and hello.encode() in run.stdout
    assert b"prove" in run.stderr  # -v: the time split
    ok = cli("verify", rcpt, "--image-id", hello)
    assert ok.returncode == 0 and ok.stdout == b"Hello, ZK!", ok.stderr
    by_elf = cli("verify", rcpt, "--elf", HELLO, "--hex")
    assert by_elf.returncode == 0 and by_elf.stdout.strip() == b"Hello, ZK!".hex().encode()
    zk = cli("verify", rcpt, "--image-id", hello, "--require-zk")
    assert zk.returncode == 1 and b"NotZeroKnowledge" in zk.stderr
    info = json.loads(cli("inspect", rcpt, "--json").stdout)
    assert info["security_bits"] >= 100 and info["image_id"] == hello and not info["dev"]
    assert info["table_heights"]["cpu"] >= 64


def test_dev_receipt_refused_unless_allowed(hello, tmp_path):
    rcpt = tmp_path / "dev.rcpt"
    run = cli("run", HELLO, "--input-hex", "41", "--dev", "--receipt", rcpt)
    assert run.returncode == 0 and b"DEV" in run.stdout, run.stderr
    refused = cli("verify", rcpt, "--image-id", hello)
    assert refused.returncode == 1 and b"DevReceiptRefused" in refused.stderr
    allowed = cli("verify", rcpt, "--image-id", hello, "--allow-dev")
    assert allowed.returncode == 0 and allowed.stdout == b"Hello, A!"


def test_dev_needs_receipt_and_excludes_prove(hello):
    assert cli("run", HELLO, "--dev").returncode == 1
    assert cli("run", HELLO, "--dev", "--prove", "--receipt", "x").returncode == 1


def test_cli_segmented_run_prove_verify_inspect(tmp_path, capsys):
    """`run --prove` of a run longer than a segment: one receipt, `verify` accepts it, `inspect --json` lists
    the segments and their sizes."""
    import json

    from host.cli import main as cli_main
    from host.build import GUESTS_DIR, build_guest

    elf = build_guest(Path(GUESTS_DIR) / "fib", tmp_path / "fib.elf")
    rcpt = tmp_path / "fib.rcpt"
    assert cli_main(["run", str(elf), "--input-hex", "2c010000", "--prove", "--no-zk", "--segment-po2", "10",
                     "--scheduler", "inline", "--receipt", str(rcpt)]) == 0
    out = capsys.readouterr().out
    assert "segments:  2 of 2^10 cycles" in out
    assert cli_main(["verify", str(rcpt), "--elf", str(elf), "--hex"]) == 0
    assert capsys.readouterr().out.strip() == "102e3eb3"
    assert cli_main(["inspect", str(rcpt), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["segments"] == 2 and len(info["segment_bytes"]) == 2
    assert sum(info["segment_bytes"]) < info["seal_bytes"]
