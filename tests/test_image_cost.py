"""Image cost follows the image's bytes, images are bounded, and every honest run is provable in both modes.

* issue 12 item 4: a 128-byte ELF with a 14 MiB .bss used to cost 1.8 GB / 27 s in `image-id` (the image
  table spanned the zero memory); an 8 MB text segment died with an _ArrayMemoryError traceback. Now bss is
  not part of the image, and abi.MAX_IMAGE_WORDS / MAX_PROGRAM_WORDS bound it with an ElfError (exit 1).
* item 11: a data word at 0x200000 made the image table cover the 2 MiB span (2^19 rows); now one row.
* item 10: programs of 1..16 words could not be proven with zero knowledge (fixed tables too short to hide).
"""

from __future__ import annotations

import struct
import subprocess
import sys

import pytest

import rv32asm as A
from test_elf import R, W, X, make_elf
from zkvm import abi
from zkvm import receipt as Rc
from zkvm.circuit import riscv_air
from zkvm.elf import load_elf
from zkvm.errors import ElfError

T = abi.TEXT_START


def words(code: list[int]) -> bytes:
    return struct.pack(f"<{len(code)}I", *code)


def host(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "host", *args], capture_output=True, text=True, timeout=120)


def test_large_bss_costs_nothing(tmp_path):
    # stores to the first and last bss word, loads them back, commits nothing, exits with their sum
    bss, end = 0x20000, 0xE00000
    code = (A.li("s0", bss) + A.li("s1", end - 4) + A.li("t0", 5) + A.li("t1", 7)
            + [A.store("sw", "t0", "s0", 0), A.store("sw", "t1", "s1", 0), A.load("lw", "a0", "s0", 0),
               A.load("lw", "a1", "s1", 0), A.op("add", "a0", "a0", "a1")] + A.halt())
    elf = make_elf([(T, words(code), 4 * len(code), R | X), (bss, b"", end - bss, R | W)])
    image = load_elf(elf)
    assert max(image.words) < T + 4 * len(code)  # the bss is not in the image
    s = riscv_air.setup(image)
    assert s.fixed["image"].shape[0] <= 64
    result, receipt = Rc.prove(image)  # zk, default options
    assert result.exit_code == 12
    Rc.verify(receipt, Rc.image_id(image))
    path = tmp_path / "bss.elf"
    path.write_bytes(elf)
    out = host("image-id", str(path))
    assert out.returncode == 0 and out.stdout.strip() == Rc.image_id(image).hex()


@pytest.mark.parametrize("what", ["text", "data"])
def test_oversized_image_is_a_typed_error(tmp_path, what):
    blob = words(A.halt()) + bytes(8 << 20)  # 8 MiB
    segs = ([(T, blob, len(blob), R | X)] if what == "text" else
            [(T, words(A.halt()), 12, R | X), (0x100000, blob, len(blob), R | W)])
    with pytest.raises(ElfError, match="too large"):
        load_elf(make_elf(segs))
    path = tmp_path / "big.elf"
    path.write_bytes(make_elf(segs))
    out = host("image-id", str(path))
    assert out.returncode == 1 and "too large" in out.stderr and "Traceback" not in out.stderr


def test_program_bound_is_enforced_separately():
    blob = words([A.NOP] * (abi.MAX_PROGRAM_WORDS + 1))
    with pytest.raises(ElfError, match="program too large"):
        load_elf(make_elf([(T, blob, len(blob), R | X)]))


def test_setup_bounds_images_built_in_memory():
    image = A.image(A.halt(), {0x100000 + 4 * i: 1 for i in range(abi.MAX_IMAGE_WORDS)})
    with pytest.raises(ElfError, match="image too large"):
        riscv_air.setup(image)


def test_far_data_segment_costs_one_row():
    """Data at 0x200000, text at 0x10000: the image table has a row per non-zero word, not per word of the
    span; a word in the gap between them (zero-initialised) is read and written too."""
    far, gap = 0x200000, 0x100000
    code = (A.li("s0", far) + A.li("s1", gap) + [A.load("lw", "a0", "s0", 0), A.load("lw", "t0", "s1", 0),
            A.op("add", "a0", "a0", "t0"), A.store("sw", "a0", "s1", 0)] + A.halt())
    image = A.image(code, {far: 40, far + 4: 0})
    s = riscv_air.setup(image)
    assert s.fixed["image"].shape[0] == riscv_air.min_fixed_height()
    result, receipt = Rc.prove(image)
    assert result.exit_code == 40
    assert Rc.verify(receipt, Rc.image_id(image)) == b""


def tiny(n: int) -> list[int]:
    """An honest program of exactly n instruction words (a7 = 0 = HALT from the start: n = 1 is one ecall)."""
    return [A.NOP] * (n - 1) + [A.ECALL]


SLOW = pytest.mark.slow
CASES = [pytest.param(n, zk, id=f"{n}-{'zk' if zk else 'nozk'}", marks=() if zk or n in (1, 16) else SLOW)
         for n in (1, 2, 4, 8, 16) for zk in (True, False)]


@pytest.mark.parametrize("n,zk", CASES)
def test_tiny_programs_prove_in_both_modes(n, zk):
    image = A.image(tiny(n))
    result, receipt = Rc.prove(image, zk=zk)
    assert result.cycles == n and receipt.zk == zk
    Rc.verify(receipt, Rc.image_id(image), require_zk=zk)


@pytest.mark.parametrize("k", [1, pytest.param(2, marks=SLOW), pytest.param(3, marks=SLOW), 4])
def test_tiny_images_prove_with_zk(k):
    """An image of 2^k words (code + data) with a 1-word program."""
    data = {0x20000 + 4 * i: i + 1 for i in range((1 << k) - 1)}
    image = A.image([A.ECALL], data)
    result, receipt = Rc.prove(image)
    Rc.verify(receipt, Rc.image_id(image), require_zk=True)
