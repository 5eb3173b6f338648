"""Build every shipped guest and run it on the unicorn oracle; check results against Python."""

from __future__ import annotations

import hashlib
import random
import struct
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from rv32_ref import BRANCH, ITYPE, RTYPE, load, sext, store  # noqa: E402
from unicorn_oracle import run_image  # noqa: E402

from host.build import GUESTS_DIR, build_guest, find_guests  # noqa: E402
from zkvm.elf import MemoryImage, load_elf  # noqa: E402

SHIPPED = ["fib", "hello", "selftest", "sha256", "sort"]


@pytest.fixture(scope="session")
def guest_images(tmp_path_factory) -> dict[str, MemoryImage]:
    """Every guest of guest/ built fresh (zig caches objects, so this is quick after the first time)."""
    out = tmp_path_factory.mktemp("guests")
    return {g.name: load_elf(build_guest(g, out / f"{g.name}.elf")) for g in find_guests(GUESTS_DIR)}


def test_all_shipped_guests_present(guest_images):
    assert set(SHIPPED) <= set(guest_images)


def u32s(values) -> bytes:
    return struct.pack(f"<{len(values)}I", *values)


# --------------------------------------------------------------------------------------------- hello
@pytest.mark.parametrize("name", [b"World", b"", b"zkvm", b"\xff\x00bytes", b"x" * 200])
def test_hello(guest_images, name):
    result = run_image(guest_images["hello"], name)
    assert (result.exit_code, result.journal) == (0, b"Hello, " + name + b"!")


def test_hello_truncates_long_names(guest_images):
    result = run_image(guest_images["hello"], b"y" * 500)
    assert result.journal == b"Hello, " + b"y" * 200 + b"!"


# --------------------------------------------------------------------------------------------- fib
def fib_mod32(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b) & 0xFFFFFFFF
    return a


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 47, 48, 1000, 20_000])
def test_fib(guest_images, n):
    result = run_image(guest_images["fib"], struct.pack("<I", n))
    assert result.exit_code == 0
    assert struct.unpack("<I", result.journal) == (fib_mod32(n),)


def test_fib_cycles_grow_linearly(guest_images):
    c1 = run_image(guest_images["fib"], struct.pack("<I", 1000)).cycles
    c2 = run_image(guest_images["fib"], struct.pack("<I", 2000)).cycles
    assert 1000 <= c2 - c1 <= 10_000, (c1, c2)


# --------------------------------------------------------------------------------------------- sha256
@pytest.mark.parametrize("length", [0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 4095, 4096, 4097, 3 * 4096 + 77])
def test_sha256(guest_images, length):
    seed = 1000 + length
    data = random.Random(seed).randbytes(length)
    result = run_image(guest_images["sha256"], data)
    assert result.exit_code == 0
    assert result.journal == hashlib.sha256(data).digest(), f"seed={seed}"


def test_sha256_text(guest_images):
    result = run_image(guest_images["sha256"], b"abc")
    assert result.journal.hex() == hashlib.sha256(b"abc").hexdigest()


# --------------------------------------------------------------------------------------------- sort
@pytest.mark.parametrize("count", [0, 1, 2, 7, 256, 1000, 5000])
def test_sort(guest_images, count):
    seed = 2000 + count
    rng = random.Random(seed)
    values = [rng.getrandbits(32) for _ in range(count)]
    if count > 10:  # duplicates and extremes
        values[:4] = [0, 0xFFFFFFFF, values[5], 0x80000000]
    result = run_image(guest_images["sort"], u32s(values))
    assert result.exit_code == 0, f"seed={seed}"
    assert result.journal == u32s(sorted(values)), f"seed={seed}"


@pytest.mark.parametrize("data", [b"\x01", b"\x01\x02\x03\x04\x05"])
def test_sort_rejects_partial_words(guest_images, data):
    result = run_image(guest_images["sort"], data)
    assert (result.exit_code, result.journal) == (1, b"")


# --------------------------------------------------------------------------------------------- selftest
# Mirrors the operand tables and group order documented at the top of guest/selftest/main.c.
V = [0, 1, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x12345678, 0xFEDCBA98, 31, 32, 33]
IMMS = [0, 1, -1, 2047, -2048, 1365]
SHAMTS = [0, 1, 5, 31]
PATTERN = bytes([0x80, 0x7F, 0xFF, 0x01, 0x00, 0x80, 0x34, 0x12, 0xEF, 0xBE, 0xAD, 0xDE, 0x78, 0x56, 0x34, 0x12])


def expected_selftest_groups(input_bytes: bytes) -> list[tuple[str, bytes]]:
    groups: list[tuple[str, list[int] | bytes]] = []
    for op in ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and",
               "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu"]:  # fmt: skip
        groups.append((op, [RTYPE[op](a, b) for a in V for b in V]))
    for op in ["addi", "slti", "sltiu", "xori", "ori", "andi"]:
        groups.append((op, [RTYPE[ITYPE[op]](a, sext(imm, 12)) for imm in IMMS for a in V]))
    for op in ["slli", "srli", "srai"]:
        groups.append((op, [RTYPE[ITYPE[op]](a, sh) for sh in SHAMTS for a in V]))
    for op in ["beq", "bne", "blt", "bge", "bltu", "bgeu"]:
        groups.append((op, [int(BRANCH[op](a, b)) for a in V for b in V]))
    groups.append(("bloop", [10]))
    for op in ["lb", "lbu"]:
        groups.append((op, [load(PATTERN, 8 + off, op) for off in range(-8, 8)]))
    for op in ["lh", "lhu"]:
        groups.append((op, [load(PATTERN, 8 + off, op) for off in range(-8, 8, 2)]))
    groups.append(("lw", [load(PATTERN, 8 + off, "lw") for off in range(-8, 8, 4)]))
    for op, value, step in [("sb", 0xDEADBEEF, 1), ("sh", 0xCAFEBABE, 2), ("sw", 0x89ABCDEF, 4)]:
        results = []
        for off in range(-8, 8, step):
            buf = bytearray(u32s([0x11223344] * 4))
            store(buf, 8 + off, value, op)
            results += struct.unpack("<4I", buf)
        groups.append((op, results))
    groups.append(("lui", [0, 1 << 12, 0x80000000, 0xFFFFF000]))
    groups.append(("auipc", [4, 0x1004, 0xFFFFF004]))  # imm << 12 plus the 4 bytes to the previous auipc
    for name in ["jal", "jalr", "jalr_rd"]:
        groups.append((name, [4, 0]))  # link = pc + 4; the skipped instruction did not run
    groups.append(("x0", [0, 0, 0, 0, 0, 0, (-V[5]) & 0xFFFFFFFF]))
    groups.append(("cycles", [4]))  # mv, nop, nop, ecall between the two CYCLES reads
    readw = []
    for pos in range(0, len(input_bytes) + 1, 4):
        chunk = input_bytes[pos : pos + 4]
        readw += [int.from_bytes(chunk.ljust(4, b"\0"), "little"), len(chunk)]
    groups.append(("readw", readw))
    encoded = [(name, name.encode().ljust(8, b"\0") + u32s([len(vals)]) + u32s(vals)) for name, vals in groups]
    encoded.append(("commitw", b"commitw\0" + u32s([3]) + b"\x11" + b"\x11\x22" + b"\x11\x22\x33"))
    return encoded


def split_journal(journal: bytes, expected: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Cut the journal into pieces the sizes of the expected groups (for a readable first mismatch)."""
    pieces, pos = [], 0
    for name, blob in expected:
        pieces.append((name, journal[pos : pos + len(blob)]))
        pos += len(blob)
    pieces.append(("<trailing>", journal[pos:]))
    return pieces


@pytest.mark.parametrize("input_bytes", [b"", b"abcdefg", b"12345678"])
def test_selftest_matches_spec(guest_images, input_bytes):
    result = run_image(guest_images["selftest"], input_bytes)
    assert result.exit_code == 0
    expected = expected_selftest_groups(input_bytes)
    for (name, got), (_, want) in zip(split_journal(result.journal, expected), expected + [("<trailing>", b"")]):
        if got != want:
            head = 12
            got_vals = struct.unpack(f"<{(len(got) - head) // 4}I", got[head : head + (len(got) - head) // 4 * 4])
            want_vals = struct.unpack(f"<{(len(want) - head) // 4}I", want[head : head + (len(want) - head) // 4 * 4])
            bad = [(i, hex(g), hex(w)) for i, (g, w) in enumerate(zip(got_vals, want_vals)) if g != w][:5]
            pytest.fail(f"selftest group {name!r} differs (index, got, want): {bad or (got, want)}")
    assert result.journal == b"".join(blob for _, blob in expected)


def test_selftest_covers_every_rv32im_mnemonic():
    """Every RV32IM mnemonic (except fence/ebreak/CSRs, unsupported by zkvm) appears in the selftest source."""
    source = (GUESTS_DIR / "selftest" / "main.c").read_text()
    mnemonics = set(RTYPE) | set(ITYPE) | set(BRANCH) | {"lb", "lh", "lw", "lbu", "lhu", "sb", "sh", "sw"}
    mnemonics |= {"lui", "auipc", "jal", "jalr", "ecall"}
    missing = sorted(m for m in mnemonics if f'"{m}' not in source and f"{m} " not in source)
    assert not missing
