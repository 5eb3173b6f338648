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
