"""Differential tests: our interpreter against unicorn (QEMU's RISC-V 32 CPU).

1. Seeded random RV32IM blocks: random registers (edge values with high probability), random data memory,
   every instruction kind, loads/stores to a data page at naturally aligned addresses, forward branches and
   jumps inside the block. After each block, all 32 registers and the data page must be equal.
   ≥100k instructions by default, ≥10M under ``-m slow``. Failures name the seed and block to replay.
2. Every shipped guest (build/guests/*.elf) on several inputs against ``unicorn_oracle.run_image``: exit
   code, journal, cycle count and final registers equal.
"""

from __future__ import annotations

import hashlib
import random
import struct
from pathlib import Path

import numpy as np
import pytest
from unicorn import UC_ARCH_RISCV, UC_MODE_RISCV32, Uc
from unicorn import riscv_const as rc

import rv32asm as A
from zkvm import abi
from zkvm.elf import MemoryImage, load_elf
from zkvm.exec import Executor

CODE = abi.TEXT_START
DATA, DATA_SIZE = 0x0010_0000, 0x1000
BASE_REG = 31  # holds DATA + 2048 in every block; never written, so loads/stores stay in the data page
UC_X = [getattr(rc, f"UC_RISCV_REG_X{i}") for i in range(32)]
EDGE = [0, 1, 2, 0xFFFF_FFFF, 0xFFFF_FFFE, 0x8000_0000, 0x7FFF_FFFF, 0x8000_0001, 31, 32, 33, 0x80, 0x7F,
        0xFF, 0x8000, 0x7FFF, 0xFFFF, 0xFFFF_8000, 0xFFFF_FF80]
SIZES = {"lb": 1, "lbu": 1, "lh": 2, "lhu": 2, "lw": 4, "sb": 1, "sh": 2, "sw": 4}


def rand_value(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.45:
        return rng.choice(EDGE)
    if r < 0.6:
        return rng.randrange(-64, 64) & 0xFFFF_FFFF
    return rng.getrandbits(32)


def rand_block(rng: random.Random, n: int) -> list[int]:
    """About n random instructions, then `li a7, HALT; ecall` (the ecall is where both sides stop).

    The stream is built as groups (one instruction, or a pair that must run together, like an address
    computation and its load); jumps land only on group starts, forward, at most 24 groups ahead."""
    groups: list[list] = []  # each: words, where a jump is a (kind, ...) tuple resolved after layout
    rd = lambda: rng.randrange(31)  # noqa: E731  (x0 included: its writes must vanish)
    rs = lambda: rng.randrange(32)  # noqa: E731
    scratch = lambda: rng.randrange(1, 31)  # noqa: E731

    def mem_offset(size: int) -> int:
        return rng.randrange(-2048, 2048 - size + 1) // size * size

    size = 0
    while size < n:
        g = len(groups)
        kind = rng.choices(
            ["rr", "imm", "shift", "lui", "auipc", "load", "store", "via", "branch", "jal", "jalr", "li", "fence"],
            [30, 14, 6, 2, 2, 8, 8, 4, 8, 2, 2, 8, 1],
        )[0]
        target = g + rng.randint(1, 24)  # a group index, clamped to the end below
        if kind == "rr":
            group = [A.op(rng.choice(A.OPS), rd(), rs(), rs())]
        elif kind == "imm":
            imm = rng.choice([0, 1, -1, 2047, -2048, rng.randrange(-2048, 2048)])
            group = [A.op_imm(rng.choice(A.OP_IMMS), rd(), rs(), imm)]
        elif kind == "shift":
            group = [A.op_imm(rng.choice(A.SHIFT_IMMS), rd(), rs(), rng.choice([0, 1, 31, rng.randrange(32)]))]
        elif kind == "lui":
            group = [A.lui(rd(), rng.getrandbits(20))]
        elif kind == "auipc":
            group = [A.auipc(rd(), rng.getrandbits(20))]
        elif kind == "load":
            name = rng.choice(A.LOADS)
            group = [A.load(name, rd(), BASE_REG, mem_offset(SIZES[name]))]
        elif kind == "store":
            name = rng.choice(A.STORES)
            group = [A.store(name, rs(), BASE_REG, mem_offset(SIZES[name]))]
        elif kind == "via":  # address in another register: addi x, base, o1; load/store o2(x)
            name = rng.choice(A.LOADS + A.STORES)
            total = mem_offset(SIZES[name])
            o1 = rng.randrange(max(-2048, total - 2047), min(2048, total + 2049))
            x = scratch()
            access = A.load(name, rd(), x, total - o1) if name in A.LOADS else A.store(name, rs(), x, total - o1)
            group = [A.op_imm("addi", x, BASE_REG, o1), access]
        elif kind == "branch":
            group = [("branch", rng.choice(A.BRANCHES), rs(), rs(), target)]
        elif kind == "jal":
            group = [("jal", rd(), target)]
        elif kind == "jalr":  # auipc x, 0; jalr rd, x, offset (bit 0 of the target is ignored)
            x = scratch()
            group = [A.auipc(x, 0), ("jalr", rd(), x, target, rng.choice([0, 1]))]
        elif kind == "fence":
            group = [A.FENCE]
        else:
            group = A.li(scratch(), rand_value(rng))
        groups.append(group)
        size += len(group)
    starts = [0]
    for group in groups:
        starts.append(starts[-1] + len(group))
    code: list[int] = []
    for group in groups:
        for item in group:
            if isinstance(item, tuple):
                here, dest = 4 * len(code), 4 * starts[min(item[-1] if item[0] != "jalr" else item[3], len(groups))]
                if item[0] == "branch":
                    item = A.branch(item[1], item[2], item[3], dest - here)
                elif item[0] == "jal":
                    item = A.jal(item[1], dest - here)
                else:
                    item = A.jalr(item[1], item[2], dest - (here - 4) + item[4])
            code.append(item)
    return code + A.li("a7", abi.ECALL_HALT) + [A.ECALL]


class UnicornSession:
    """One unicorn CPU reused for many blocks (mapping and setup paid once)."""

    def __init__(self, code_size: int = 1 << 16) -> None:
        self.uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
        self.uc.mem_map(CODE, code_size)
        self.uc.mem_map(DATA, DATA_SIZE)
        self.code_size = code_size

    def run(self, code: list[int], regs: list[int], data: bytes) -> tuple[list[int], bytes]:
        blob = np.asarray(code, dtype="<u4").tobytes()
        assert len(blob) <= self.code_size
        self.uc.mem_write(CODE, blob)
        self.uc.ctl_remove_cache(CODE, CODE + self.code_size)  # the previous block's translations are stale
        self.uc.mem_write(DATA, data)
        for i in range(1, 32):
            self.uc.reg_write(UC_X[i], regs[i])
        self.uc.emu_start(CODE, CODE + 4 * (len(code) - 1))  # stop before the final ecall
        return [self.uc.reg_read(r) & 0xFFFF_FFFF for r in UC_X], bytes(self.uc.mem_read(DATA, DATA_SIZE))


def ours(code: list[int], regs: list[int], data: bytes) -> tuple[list[int], bytes, int]:
    words = {DATA + 4 * i: w for i, w in enumerate(struct.unpack(f"<{DATA_SIZE // 4}I", data))}
    ex = Executor(A.image(code, words), max_cycles=10 * len(code), initial_regs=regs)
    m = ex.machine()
    m.raise_for_status(m.run())
    return m.regs.tolist(), m.read(DATA, DATA_SIZE), m.cycles


def check_blocks(seed: int, blocks: int, block_len: int) -> int:
    """Run `blocks` random blocks on both sides; returns the number of instructions executed by ours."""
    uc = UnicornSession()
    executed = 0
    for b in range(blocks):
        rng = random.Random(f"{seed}:{b}")
        code = rand_block(rng, block_len)
        regs = [0] + [rand_value(rng) for _ in range(31)]
        regs[BASE_REG] = DATA + 2048
        data = rng.randbytes(DATA_SIZE)
        exp_regs, exp_data = uc.run(code, regs, data)
        got_regs, got_data, cycles = ours(code, regs, data)
        executed += cycles
        where = f"seed={seed} block={b} (replay: random.Random('{seed}:{b}'))"
        for i in range(32):
            assert got_regs[i] == exp_regs[i], f"{where}: x{i} = 0x{got_regs[i]:08x}, unicorn 0x{exp_regs[i]:08x}"
        if got_data != exp_data:
            first = next(i for i in range(DATA_SIZE) if got_data[i] != exp_data[i])
            raise AssertionError(f"{where}: data differs first at 0x{DATA + first:08x}")
    return executed


@pytest.mark.parametrize("seed", range(4))
def test_random_blocks_match_unicorn(seed):
    # 4 seeds x 90 blocks x ~310 executed instructions (forward jumps skip some of the 600): > 100k in total
    executed = check_blocks(seed, blocks=90, block_len=600)
    assert executed >= 25_000, f"seed={seed}: only {executed} instructions executed"


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 108))
def test_random_blocks_match_unicorn_long(seed):
    # 8 seeds x 1700 blocks x ~760 executed instructions (of 1500 generated): > 10M in total
    executed = check_blocks(seed, blocks=1700, block_len=1500)
    assert executed >= 1_250_000, f"seed={seed}: only {executed} instructions executed"


def test_generator_covers_every_instruction():
    """The random streams must really contain every RV32IM instruction kind (guards the generator)."""
    rng = random.Random(7)
    words = [w for _ in range(20) for w in rand_block(rng, 600)]
    seen = {(w & 0x7F, (w >> 12) & 7 if w & 0x7F not in (0x37, 0x17, 0x6F) else 0,
             (w >> 25) if w & 0x7F == 0x33 or (w & 0x7F == 0x13 and (w >> 12) & 7 == 5) else 0) for w in words}
    expected = {(0x37, 0, 0), (0x17, 0, 0), (0x6F, 0, 0), (0x67, 0, 0)}
    expected |= {(0x63, f3, 0) for f3 in (0, 1, 4, 5, 6, 7)} | {(0x03, f3, 0) for f3 in (0, 1, 2, 4, 5)}
    expected |= {(0x23, f3, 0) for f3 in (0, 1, 2)} | {(0x13, f3, 0) for f3 in (0, 1, 2, 3, 4, 5, 6, 7)}
    expected |= {(0x13, 5, 0x20)} | {(0x33, f3, f7) for f3 in range(8) for f7 in (0, 1)} | {(0x33, 0, 0x20), (0x33, 5, 0x20)}
    expected |= {(0x0F, 0, 0)}
    assert expected <= seen, sorted(expected - seen)


# ------------------------------------------------------------------------------------------ whole guests

GUEST_DIR = Path(__file__).resolve().parents[1] / "build" / "guests"


def _inputs(name: str) -> list[bytes]:
    rng = random.Random(f"inputs-{name}")
    u32 = lambda *v: struct.pack(f"<{len(v)}I", *v)  # noqa: E731
    return {
        "fib": [u32(0), u32(1), u32(47), u32(5000)],
        "hello": [b"", b"World", bytes(range(256))],
        "sha256": [b"", b"abc", rng.randbytes(1000), rng.randbytes(4097)],
        "sort": [b"", u32(5), u32(*(rng.getrandbits(32) for _ in range(300))), u32(*range(200, 0, -1))],
        "selftest": [b"", rng.randbytes(37)],
    }.get(name, [b"", rng.randbytes(64)])


def _guest_images() -> dict[str, MemoryImage]:
    elves = sorted(GUEST_DIR.glob("*.elf"))
    if not elves:
        pytest.skip(f"no guests in {GUEST_DIR}: run `python -m host build --all` (make test does)")
    return {p.stem: load_elf(p) for p in elves}


@pytest.fixture(scope="module")
def guest_images() -> dict[str, MemoryImage]:
    return _guest_images()


def test_shipped_guests_present(guest_images):
    assert set(SHIPPED) <= set(guest_images)


SHIPPED = ["fib", "hello", "sha256", "sort", "selftest"]
BUILT = sorted(p.stem for p in GUEST_DIR.glob("*.elf"))


@pytest.mark.parametrize("name", SHIPPED + [n for n in BUILT if n not in SHIPPED])
def test_guest_matches_unicorn_oracle(guest_images, name):
    from unicorn_oracle import run_image

    if name not in guest_images:
        pytest.skip(f"guest {name} not built")
    for data in _inputs(name):
        tag = f"{name} input sha256={hashlib.sha256(data).hexdigest()[:12]} ({len(data)} bytes)"
        expected = run_image(guest_images[name], data)
        got = Executor(guest_images[name], data).run()
        assert got.exit_code == expected.exit_code, tag
        assert got.journal == expected.journal, tag
        assert got.cycles == expected.cycles, tag
        assert got.regs == expected.regs, tag
        assert got.logs == expected.logs, tag
