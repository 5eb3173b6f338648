"""ELF fuzzing: seeded mutations of valid guest ELFs (a hand-made one with text, data and bss, and the built
`hello` guest when present) through `zkvm.elf.load_elf` and the image setup, and a sample through
`python -m host image-id`. Every file either loads (and then sets up: image bounds hold) or raises ElfError;
the CLI exits 0 or 1 with a message, never a traceback. >= 1,000 in `make test`, >= 10^4 under -m slow."""

from __future__ import annotations

import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import rv32asm as A
from test_elf import R, W, X, make_elf
from zkvm import abi
from zkvm.circuit import riscv_air
from zkvm.elf import MemoryImage, load_elf
from zkvm.errors import ElfError

GUEST = Path(__file__).resolve().parents[1] / "build" / "guests" / "hello.elf"
INTERESTING = [0, 1, 2, 3, 4, 0x20, 0x34, 0x7F, 0x80, 0xFF, 0x1000, 0x10000, 0x20000, 0xFFFF, 0x7FFF_FFFF,
               0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFC, abi.MEM_END, abi.MEM_END - 4, abi.MEM_END - abi.STACK_SIZE,
               abi.TEXT_START, 1 << 22, 1 << 24]


def seeds() -> list[bytes]:
    code = struct.pack("<5I", *(A.li("a0", 3) + A.halt()))
    hand = make_elf([(abi.TEXT_START, code, len(code), R | X), (0x20000, b"\x01\x02\x03\x04\x05", 0x4000, R | W)])
    out = [hand]
    if GUEST.exists():
        out.append(GUEST.read_bytes())
    return out


def mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if kind < 0.45:  # a header/program-header field (the first 52 + 32·phnum bytes) set to an edge value
            end = min(len(b) - 4, 52 + 32 * 4)
            off = rng.randrange(0, max(1, end)) & ~1
            if rng.random() < 0.5 and off + 4 <= len(b):
                struct.pack_into("<I", b, off, rng.choice(INTERESTING) & 0xFFFF_FFFF)
            elif off + 2 <= len(b):
                struct.pack_into("<H", b, off, rng.choice(INTERESTING) & 0xFFFF)
        elif kind < 0.75:  # random bytes anywhere
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif kind < 0.9:  # truncate
            del b[rng.randrange(len(b)):]
            if not b:
                return b""
        else:  # append junk
            b += rng.randbytes(rng.randint(1, 64))
    return bytes(b)


def fuzz(n: int, seed: int) -> dict[str, int]:
    rng = random.Random(f"elf-fuzz:{seed}")
    bases = seeds()
    outcomes = {"loaded": 0, "rejected": 0}
    for i in range(n):
        data = mutate(rng.choice(bases), rng)
        try:
            image = load_elf(data)
        except ElfError:
            outcomes["rejected"] += 1
            continue
        except Exception as exc:  # noqa: BLE001 - the point of the test
            raise AssertionError(f"seed={seed} case={i}: {type(exc).__name__}: {exc}") from exc
        assert isinstance(image, MemoryImage)
        assert len(image.words) <= abi.MAX_IMAGE_WORDS
        try:
            riscv_air.setup(image)
        except ElfError:
            pass
        outcomes["loaded"] += 1
    return outcomes


def test_elf_fuzz():
    got = fuzz(1200, 0)
    assert got["loaded"] > 20 and got["rejected"] > 200, got  # both sides exercised


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 11))
def test_elf_fuzz_long(seed):
    got = fuzz(1200, seed)
    assert got["rejected"] > 200, got


def cli_sample(n: int, seed: int, tmp_path) -> None:
    rng = random.Random(f"elf-fuzz-cli:{seed}")
    bases = seeds()
    for i in range(n):
        path = tmp_path / f"m{i}.elf"
        path.write_bytes(mutate(rng.choice(bases), rng))
        out = subprocess.run([sys.executable, "-m", "host", "image-id", str(path)], capture_output=True,
                             text=True, timeout=120)
        where = f"seed={seed} case={i}"
        assert out.returncode in (0, 1), f"{where}: exit {out.returncode}: {out.stderr}"
        assert "Traceback" not in out.stderr, f"{where}: {out.stderr}"
        if out.returncode == 0:
            assert len(out.stdout.strip()) == 64, where
        else:
            assert out.stderr.strip(), where


def test_elf_fuzz_cli_sample(tmp_path):
    cli_sample(4, 0, tmp_path)


@pytest.mark.slow
def test_elf_fuzz_cli_sample_long(tmp_path):
    cli_sample(40, 1, tmp_path)
