"""Record mode: every row agrees with an independent Python reference stepping the same program, and the
rows are self-consistent (a replay of register and memory writes explains every value read)."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import numpy as np
import pytest

import rv32asm as A
from rv32_ref import RefCpu
from test_exec_diff import BASE_REG, DATA, DATA_SIZE, rand_block, rand_value
from zkvm import abi
from zkvm.elf import MemoryImage, load_elf
from zkvm.errors import GuestError
from zkvm.exec import Executor, release_cached_records
from zkvm.exec.record import FIELDS, Record

GUEST_DIR = Path(__file__).resolve().parents[1] / "build" / "guests"


def check_against_reference(image: MemoryImage, data: bytes, rec: Record, regs=None, tag: str = "") -> RefCpu:
    (lo, hi), *rest = image.exec_ranges
    assert not rest
    cpu = RefCpu(dict(image.words), image.entry, (lo, hi), data)
    if regs is not None:
        cpu.regs = [int(v) for v in regs]
    assert rec.initial_regs.tolist() == cpu.regs, tag
    rows = rec.rows.tolist()
    for t, row in enumerate(rows):
        step = cpu.step()
        want = [getattr(step, f) for f in FIELDS]
        if row != want:
            diffs = {f: (hex(g), hex(w)) for f, g, w in zip(FIELDS, row, want) if g != w}
            raise AssertionError(f"{tag} row {t} (pc 0x{step.pc:08x} insn 0x{step.insn:08x}): got/ref {diffs}")
    assert cpu.exit_code is not None, f"{tag}: the last row is not the HALT"
    assert rec.final_regs.tolist() == cpu.regs, tag
    assert rec.input_consumed == data[: cpu.pos], tag
    return cpu


def check_self_consistent(image: MemoryImage, rec: Record) -> None:
    """Without any reference semantics: reads are explained by the initial state and earlier writes."""
    n = len(rec)
    assert np.array_equal(rec.pc[1:], rec.next_pc[:-1]), "pc[t+1] != next_pc[t]"
    regs = rec.initial_regs.astype(np.int64).tolist()
    mem = dict(image.words)
    sha: dict[int, list] = {}  # cycle -> the logged blocks of its SHA256 call
    for row in rec.sha_calls:
        sha.setdefault(int(row[0]), []).append([int(v) for v in row])
    for t in range(n):
        pc, insn, _, rs1v, rs2v, rdv, addr, before, after, a1v, a7v = (int(v) for v in rec.rows[t])
        assert insn == mem.get(pc, 0), f"row {t}: insn is not the word at pc"
        opc, rd, rs1, rs2 = insn & 0x7F, (insn >> 7) & 31, (insn >> 15) & 31, (insn >> 20) & 31
        if insn == A.ECALL:
            assert (rs1v, rs2v, a7v) == (regs[10], regs[11], regs[17]), f"row {t}: ecall inputs"
            if a7v in (abi.ECALL_READ_WORD, abi.ECALL_CYCLES, abi.ECALL_READ_BUF):
                regs[10] = rdv
            if a7v == abi.ECALL_READ_BUF:  # a1v = input position: the words are the consumed input from there
                data = rec.input_consumed[a1v:a1v + rdv].ljust(4 * rs2v, b"\0")
                assert rdv <= 4 * rs2v and len(data) == 4 * rs2v, f"row {t}: READ_BUF count"
                for i in range(rs2v):
                    mem[rs1v + 4 * i] = int.from_bytes(data[4 * i:4 * i + 4], "little")
            if a7v == abi.ECALL_READ_WORD:
                regs[11] = a1v
            if a7v == abi.ECALL_CYCLES:
                assert rdv == t, f"row {t}: CYCLES is the row index"
            if a7v == abi.ECALL_SHA256:  # a2 blocks from memory, chained; the last output updates the state
                blocks = sha.pop(t)
                assert len(blocks) == regs[12], f"row {t}: SHA256 logged {len(blocks)} blocks, a2 = {regs[12]}"
                state = [mem.get(rs1v + 4 * i, 0) for i in range(8)]
                for k, call in enumerate(blocks):
                    assert call[1:25] == state + [mem.get(rs2v + 64 * k + 4 * i, 0) for i in range(16)], \
                        f"row {t}: SHA256 block {k} inputs are not memory / the previous output"
                    state = call[25:33]
                for i in range(8):
                    mem[rs1v + 4 * i] = state[i]
            continue
        if opc in (0x33, 0x13, 0x03, 0x23, 0x63, 0x67):
            assert rs1v == regs[rs1], f"row {t}: rs1_val"
        if opc in (0x33, 0x23, 0x63):
            assert rs2v == regs[rs2], f"row {t}: rs2_val"
        if opc in (0x03, 0x23):
            assert addr % 4 == 0 and before == mem.get(addr, 0), f"row {t}: mem_before is not memory"
            assert opc == 0x23 or after == before, f"row {t}: a load changed memory"
            mem[addr] = after
        else:
            assert addr == before == after == 0, f"row {t}: memory columns of a non-memory instruction"
        if rd and opc not in (0x23, 0x63, 0x0F):
            regs[rd] = rdv
        else:
            assert rdv == 0, f"row {t}: rd_val without a register write"
    assert rec.final_regs.tolist() == regs
    assert not sha, f"SHA256 log entries without an ecall row: cycles {sorted(sha)[:5]}"


def random_program(seed: int) -> tuple[MemoryImage, list[int]]:
    rng = random.Random(f"record-{seed}")
    code = rand_block(rng, 400)
    regs = [0] + [rand_value(rng) for _ in range(31)]
    regs[BASE_REG] = DATA + 2048
    words = {DATA + 4 * i: w for i, w in enumerate(struct.unpack(f"<{DATA_SIZE // 4}I", rng.randbytes(DATA_SIZE)))}
    return A.image(code, words), regs


@pytest.mark.parametrize("seed", range(6))
def test_random_program_records_match_reference(seed):
    image, regs = random_program(seed)
    result, rec = Executor(image, initial_regs=regs).record()
    assert len(rec) == result.cycles > 100
    check_against_reference(image, b"", rec, regs, tag=f"seed={seed}")
    check_self_consistent(image, rec)


def test_ecall_rows():
    code = (A.li("a7", abi.ECALL_READ_WORD) + [A.ECALL] + A.li("a7", abi.ECALL_CYCLES) + [A.ECALL]
            + A.li("a1", 2) + A.li("a7", abi.ECALL_COMMIT_WORD) + [A.ECALL] + A.halt())
    image = A.image(code)
    result, rec = Executor(image, b"\x01\x02\x03").record()
    check_against_reference(image, b"\x01\x02\x03", rec)
    check_self_consistent(image, rec)
    read, cycles, commit, halt = (rec.rows[i] for i in (2, 5, 10, 13))
    col = {f: i for i, f in enumerate(FIELDS)}
    assert (read[col["rd_val"]], read[col["a1_val"]], read[col["a7_val"]]) == (0x030201, 3, abi.ECALL_READ_WORD)
    assert (cycles[col["rd_val"]], cycles[col["a1_val"]]) == (5, 0)
    assert (commit[col["rs1_val"]], commit[col["rs2_val"]], commit[col["rd_val"]]) == (5, 2, 0)
    assert halt[col["next_pc"]] == halt[col["pc"]] + 4 and result.journal == b"\x05\x00"


def _guest(name: str) -> MemoryImage:
    path = GUEST_DIR / f"{name}.elf"
    if not path.exists():
        pytest.skip(f"{path} not built: run `python -m host build --all` (make test does)")
    return load_elf(path)


@pytest.mark.parametrize(
    "name,data",
    [("fib", struct.pack("<I", 300)), ("hello", b"record"), ("sha256", bytes(range(200))),
     ("sort", struct.pack("<40I", *random.Random(3).sample(range(1000), 40))), ("selftest", b"xyz")],
)
def test_guest_records_match_reference(name, data):
    image = _guest(name)
    run_result = Executor(image, data).run()
    result, rec = Executor(image, data).record()
    assert (result.exit_code, result.journal, result.cycles) == (run_result.exit_code, run_result.journal, run_result.cycles)
    assert len(rec) == result.cycles
    cpu = check_against_reference(image, data, rec, tag=name)
    assert bytes(cpu.journal) == result.journal
    check_self_consistent(image, rec)


def test_record_buffer_grows_and_buffers_stay_independent():
    """> 2^17 rows forces two buffer growths; holding several records at once must not mix their rows
    (freed buffers are reused for later records)."""
    loop = A.li("t0", 70_000) + [A.op_imm("addi", "t0", "t0", -1), A.branch("bne", "t0", "zero", -4)]
    image = A.image(loop + A.halt())
    _, first = Executor(image).record()
    assert len(first) == 2 + 140_000 + 3
    keep = first.rows.copy()
    _, small = Executor(A.image(A.li("a0", 1) + A.halt())).record()
    del first
    _, second = Executor(image).record()  # may reuse the first buffer
    assert np.array_equal(second.rows, keep) and len(small) == 5
    assert small.rd_val.tolist() == [0, 1, 0, 0, 0]
    del second
    release_cached_records()
    _, third = Executor(image).record()
    assert np.array_equal(third.rows, keep)


def test_record_at_exact_cycle_limit_and_trap():
    code = A.li("t0", 5) + [A.op_imm("addi", "t0", "t0", -1), A.branch("bne", "t0", "zero", -4)] + A.halt()
    result, rec = Executor(A.image(code), max_cycles=15).record()
    assert result.cycles == len(rec) == 15
    with pytest.raises(GuestError) as info:
        Executor(A.image(code), max_cycles=14).record()
    assert info.value.cause == "cycle_limit"


def test_record_columns_are_views_of_rows():
    _, rec = Executor(A.image(A.li("a0", 7) + A.halt())).record()
    assert rec.rows.dtype == np.uint32 and rec.rows.shape == (5, len(FIELDS))
    assert rec.pc.tolist() == [abi.TEXT_START + 4 * i for i in range(5)]
    assert rec.column("rd_val").tolist() == rec.rd_val.tolist() == [0, 7, 0, 0, 0]
