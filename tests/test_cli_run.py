"""`python -m host run`: output, JSON schema, exit statuses, and the exact error messages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import rv32asm as A
from host.cli import main
from zkvm import abi

ROOT = Path(__file__).resolve().parents[1]
GUESTS = ROOT / "build" / "guests"
T = abi.TEXT_START


def guest(name: str) -> str:
    path = GUESTS / f"{name}.elf"
    if not path.exists():
        pytest.skip(f"{path} not built: run `python -m host build --all` (make test does)")
    return str(path)


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(["run", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def trap_elf(tmp_path) -> tuple[Path, int]:
    """A program whose second instruction is a misaligned word load."""
    load = A.load("lw", "a0", "zero", 0x102)  # address 0x102: misaligned (and below guest memory)
    path = tmp_path / "trap.elf"
    path.write_bytes(A.elf([A.NOP, load] + A.halt()))
    return path, load


@pytest.fixture
def exit3_elf(tmp_path) -> Path:
    path = tmp_path / "exit3.elf"
    path.write_bytes(A.elf(A.li("a0", 3) + A.halt()))
    return path


def test_text_output(capsys):
    code, out, err = cli(capsys, guest("hello"), "--input-hex", "576f726c64")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "journal:   " + b"Hello, World!".hex()
    assert lines[1] == "text:      Hello, World!"
    assert lines[2] == "exit code: 0"
    assert re.fullmatch(r"cycles:    [1-9]\d*", lines[3])
    assert re.fullmatch(r"wall time: \d+\.\d{6} s \(\d+\.\d MIPS\)", lines[4])


def test_json_schema(capsys):
    code, out, err = cli(capsys, guest("fib"), "--input-hex", "0a000000", "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert set(doc) == {"ok", "exit_code", "journal_hex", "journal_text", "cycles", "wall_s", "mips",
                        "input_bytes", "logs_hex"}
    assert doc["ok"] is True and doc["exit_code"] == 0
    assert doc["journal_hex"] == (55).to_bytes(4, "little").hex() and doc["journal_text"] is None
    assert isinstance(doc["cycles"], int) and doc["cycles"] > 0 and doc["input_bytes"] == 4
    assert isinstance(doc["wall_s"], float) and doc["logs_hex"] == ""


def test_input_file_and_stdin(capsys, tmp_path):
    name = tmp_path / "name.bin"
    name.write_bytes(b"file")
    code, out, _ = cli(capsys, guest("hello"), "--input", name)
    assert code == 0 and "text:      Hello, file!" in out
    proc = subprocess.run([sys.executable, "-m", "host", "run", guest("hello"), "--input", "-", "--json"],
                          input=b"stdin", capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["journal_text"] == "Hello, stdin!"


def test_guest_trap_exits_1_with_exact_message(capsys, trap_elf):
    path, load = trap_elf
    code, out, err = cli(capsys, path)
    assert (code, out) == (1, "")
    assert err == f"error: guest trap: load_misaligned at pc=0x{T + 4:08x} (insn 0x{load:08x}): address 0x00000102\n"


def test_guest_trap_json(capsys, trap_elf):
    path, load = trap_elf
    code, out, err = cli(capsys, path, "--json")
    assert code == 1 and err == ""
    doc = json.loads(out)
    assert doc["ok"] is False
    assert doc["error"] == {
        "type": "GuestError", "cause": "load_misaligned", "pc": T + 4, "insn": load,
        "message": f"guest trap: load_misaligned at pc=0x{T + 4:08x} (insn 0x{load:08x}): address 0x00000102",
    }


def test_cycle_limit(capsys, exit3_elf):
    code, out, err = cli(capsys, exit3_elf, "--max-cycles", "4")
    assert code == 1
    assert err == (f"error: guest trap: cycle_limit at pc=0x{T + 16:08x} (insn 0x{A.ECALL:08x}): "
                   "executed 4 instructions without HALT (limit 4)\n")


def test_nonzero_exit_code_exits_1(capsys, exit3_elf):
    code, out, err = cli(capsys, exit3_elf)
    assert code == 1 and "exit code: 3" in out
    assert err == "error: guest exited with code 3\n"
    code, out, _ = cli(capsys, exit3_elf, "--json")
    assert code == 1 and json.loads(out)["exit_code"] == 3 and json.loads(out)["ok"] is False


def test_missing_elf(capsys, tmp_path):
    code, out, err = cli(capsys, tmp_path / "nope.elf")
    assert (code, out, err) == (1, "", f"error: cannot read {tmp_path / 'nope.elf'}: No such file or directory\n")


def test_not_an_elf(capsys, tmp_path):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"#!/bin/sh\n")
    code, out, err = cli(capsys, bad)
    assert (code, err) == (1, "error: not an ELF file (bad magic)\n")


@pytest.mark.parametrize("text", ["zz", "abc", "0x1g"])
def test_bad_hex(capsys, exit3_elf, text):
    code, out, err = cli(capsys, exit3_elf, "--input-hex", text)
    assert code == 1 and out == ""
    assert err.startswith("error: --input-hex is not valid hex (")


def test_hex_accepts_prefix_and_spaces(capsys):
    code, out, _ = cli(capsys, guest("hello"), "--input-hex", "0x57 6f")
    assert code == 0 and "Hello, Wo!" in out


def test_missing_input_file(capsys, exit3_elf, tmp_path):
    missing = tmp_path / "missing.bin"
    code, out, err = cli(capsys, exit3_elf, "--input", missing)
    assert (code, out, err) == (1, "", f"error: cannot read input file {missing}: No such file or directory\n")


@pytest.mark.parametrize("argv", [["--max-cycles", "0"], ["--max-cycles", "ten"], ["--max-cycles", str(1 << 64)], ["--input", "a", "--input-hex", "00"], []])
def test_usage_errors_exit_2(capsys, exit3_elf, argv):
    args = [exit3_elf, *argv] if argv else []
    with pytest.raises(SystemExit) as info:
        main(["run", *map(str, args)])
    assert info.value.code == 2


def test_help_documents_exit_status(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert "exit status:" in out and "nonzero exit code" in out and "--max-cycles N" in out
