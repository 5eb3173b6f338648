"""Differential and completeness fuzzer: random RV32IM programs (every instruction kind, the random blocks of
test_exec_diff) with random register values and a random data region placed at a random address, started
from the zero state the circuit assumes (a prologue loads every register).

Each program runs on our interpreter and on unicorn (registers, data region and exit code must agree) and is
then proven and verified (zero knowledge by default; some without), including tiny programs and runs of
exactly 2^k - 1, 2^k and 2^k + 1 cycles (NOPs before the HALT set the length). A few in `make test`, more
under -m slow. Failures print the seed.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from unicorn import UC_ARCH_RISCV, UC_MODE_RISCV32, Uc
from unicorn import riscv_const as rc

import rv32asm as A
from test_exec_diff import BASE_REG, DATA_SIZE, rand_block, rand_value
from zkvm import abi
from zkvm import receipt as Rc
from zkvm.exec import Executor

T = abi.TEXT_START
UC_X = [getattr(rc, f"UC_RISCV_REG_X{i}") for i in range(32)]
#: Where the data region goes: next to the text, far above it, near the top of loadable memory.
LAYOUTS = [0x0002_0000, 0x0010_0000, 0x0020_0000, 0x00E0_0000]


def make_case(seed: int, block_len: int, cycles: int | None = None, tiny: bool = False):
    """(image, data base, data bytes) of one random program; `cycles`: pad with NOPs to exactly that many;
    `tiny`: registers stay zero except the data base (a prologue of 2 words instead of 62)."""
    rng = random.Random(f"fuzz-exec:{seed}")
    data_at = rng.choice(LAYOUTS)
    regs = [0] + [rand_value(rng) for _ in range(31)]
    regs[BASE_REG] = data_at + 2048
    prologue = [w for i in range(1, 32) for w in A.li(i, regs[i]) if not tiny or i == BASE_REG]
    body = rand_block(rng, block_len)  # ends with li a7, HALT; ecall
    halt = body[-3:]
    code = prologue + body[:-3]
    # data: random words, or all zero (then nothing of it is in the image: zero-initialised memory)
    data = rng.randbytes(DATA_SIZE) if rng.random() < 0.75 else bytes(DATA_SIZE)
    words = dict(zip(range(data_at, data_at + DATA_SIZE, 4), np.frombuffer(data, "<u4").tolist()))
    image = A.image(code + halt, words)
    if cycles is not None:
        used = Executor(image, max_cycles=1 << 20).run().cycles
        if used > cycles:
            raise ValueError(f"seed {seed}: {used} cycles already, wanted {cycles}")
        # jumps land on group starts <= the HALT sequence, so every NOP placed before it runs
        image = A.image(code + [A.NOP] * (cycles - used) + halt, words)
    return image, data_at, data


def unicorn_run(image, data_at: int) -> tuple[list[int], bytes]:
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
    code_words = [image.words[T + 4 * i] for i in range(len(image.program()))]
    uc.mem_map(T, (4 * len(code_words) + 0xFFF) & ~0xFFF)
    uc.mem_map(data_at, DATA_SIZE)
    uc.mem_write(T, np.asarray(code_words, "<u4").tobytes())
    blob = np.zeros(DATA_SIZE // 4, "<u4")
    for a, w in image.words.items():
        if data_at <= a < data_at + DATA_SIZE:
            blob[(a - data_at) // 4] = w
    uc.mem_write(data_at, blob.tobytes())
    uc.emu_start(T, T + 4 * (len(code_words) - 1))  # stop before the final ecall
    return [uc.reg_read(r) & 0xFFFF_FFFF for r in UC_X], bytes(uc.mem_read(data_at, DATA_SIZE))


def check_case(seed: int, block_len: int, cycles: int | None = None, zk: bool = True, prove: bool = True,
               tiny: bool = False):
    image, data_at, _ = make_case(seed, block_len, cycles, tiny)
    where = f"seed={seed} block_len={block_len} cycles={cycles} data at 0x{data_at:x}"
    m = Executor(image, max_cycles=1 << 20).machine()
    m.raise_for_status(m.run())
    exp_regs, exp_data = unicorn_run(image, data_at)
    got = m.regs.tolist()
    for i in range(32):
        assert got[i] == exp_regs[i], f"{where}: x{i} = 0x{got[i]:08x}, unicorn 0x{exp_regs[i]:08x}"
    assert m.read(data_at, DATA_SIZE) == exp_data, f"{where}: data region differs"
    if cycles is not None:
        assert m.cycles == cycles, where
    if prove:
        result, receipt = Rc.prove(image, zk=zk)
        assert result.exit_code == m.exit_code and result.cycles == m.cycles, where
        Rc.verify(receipt, Rc.image_id(image), require_zk=zk)
    return m.cycles


def test_generator_places_data_everywhere():
    seen = {make_case(seed, 20)[1] for seed in range(40)}
    assert seen == set(LAYOUTS)


@pytest.mark.parametrize("seed", range(40))
def test_random_programs_match_unicorn(seed):
    check_case(seed, 300, prove=False)


# proven: tiny (a few words, registers zero), 2^k - 1 / 2^k / 2^k + 1 cycles
PROVEN = [(1, 3, None, True, True), (2, 60, 127, True, False), (3, 60, 128, False, False),
          (4, 40, 129, True, False)]


@pytest.mark.parametrize("seed,block_len,cycles,zk,tiny", PROVEN)
def test_random_programs_prove(seed, block_len, cycles, zk, tiny):
    check_case(seed, block_len, cycles, zk, tiny=tiny)


@pytest.mark.parametrize("seed", range(40, 80))
def test_tiny_random_programs_match_unicorn(seed):
    check_case(seed, 1 + seed % 12, prove=False, tiny=True)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(200, 216))
def test_tiny_random_programs_prove(seed):
    check_case(seed, 1 + seed % 12, cycles=None if seed % 2 else 32, zk=bool(seed % 4), tiny=True)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 112))
def test_random_programs_prove_long(seed):
    k = 8 + seed % 4
    for cycles in ((1 << k) - 1, 1 << k, (1 << k) + 1):
        check_case(seed, (1 << k) // 3, cycles, zk=bool(seed % 3))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1000, 1008))
def test_random_programs_match_unicorn_long(seed):
    for sub in range(200):
        check_case(seed * 1000 + sub, 800, prove=False)
