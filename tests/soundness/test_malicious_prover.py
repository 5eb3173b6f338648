"""Malicious-prover tests: take the honest trace of a program using every instruction family, change one thing
(keeping everything else consistent where a real cheater would), skip the trace checker, prove, and check the
verifier rejects. The trace checker's verdict names the constraint or bus each tamper runs into — so each test
also documents which check is the one standing in the way (each was confirmed once by removing that check
from the AIR and seeing the tampered proof verify)."""

from __future__ import annotations

import numpy as np
import pytest

import harness as H
from zkvm import abi
from zkvm.circuit.cpu import CpuCols
from zkvm.circuit import riscv_air
from zkvm.errors import VerificationError
from zkvm.exec.record import Record
from zkvm.field.babybear import P
from zkvm.stark.errors import BusError, ConstraintError


@pytest.fixture(scope="module")
def honest():
    return H.honest_run()


@pytest.fixture
def run(honest):
    """A fresh copy of the honest run to tamper with."""
    return H.fresh_copy(honest)


expect_rejected = H.expect_rejected


def test_honest_trace_proves_and_verifies(honest):
    assert honest.result.exit_code == 3 and honest.result.journal == H.INPUT
    H.check(honest)
    H.prove_and_verify(honest)


def _bump_family_result(run, label, table):
    t = run.cycle_of(label)
    c_lo, c_hi = H.get_cpu(run, t, "c_lo"), H.get_cpu(run, t, "c_hi")
    row = H.family_row(run, table, c_lo, c_hi)
    # the CPU and the family table agree on the wrong result; rd = x0, so nothing else sees it
    H.set_cpu(run, t, c_lo=c_lo ^ 1, res_lo=c_lo ^ 1)
    H.fix_eq_gadget(run, t)
    H.set_family(run, table, row, c_lo=c_lo ^ 1)
    return row


def test_wrong_add_result(run):
    row = _bump_family_result(run, "add_x0", "alu")
    H.set_family(run, "alu", row, x0=H.get_family(run, "alu", row, "x0") ^ 1)  # keep c's bytes consistent
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "add_lo")


@pytest.mark.parametrize("label,table", [("sll_x0", "shift"), ("mul_x0", "mul"), ("div_x0", "div")])
def test_wrong_family_result(run, label, table):
    _bump_family_result(run, label, table)
    H.rebalance_lookups(run)
    with pytest.raises(ConstraintError) as info:
        H.check(run)
    assert info.value.table == table, info.value
    with pytest.raises(VerificationError):
        H.prove_and_verify(run)


def test_wrong_loaded_value(run):
    t = run.cycle_of("last_lw")  # lw s6 <- [scratch]; s6 is never read again
    wrong = (H.get_cpu(run, t, "res_lo") + 1) % 65536
    H.set_cpu(run, t, res_lo=wrong, wv_lo=wrong)
    H.set_reg_final(run, 22, wrong | (H.get_cpu(run, t, "res_hi") << 16))
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "res_lw_lo")


def test_memory_changed_between_store_and_load(run):
    t = run.cycle_of("lw_after_sw")  # lw a3 <- the word the sw just wrote; a3 is never read again
    m_lo = H.get_cpu(run, t, "m_lo")
    wrong = m_lo ^ 1
    mb0 = H.get_cpu(run, t, "mb0") ^ 1
    H.set_cpu(run, t, m_lo=wrong, n_lo=wrong, res_lo=wrong, wv_lo=wrong, mb0=mb0, sel_byte=mb0)
    H.set_reg_final(run, 13, wrong | (H.get_cpu(run, t, "res_hi") << 16))
    H.rebalance_lookups(run)
    expect_rejected(run, BusError, "mem")


def _record_with(run, rows: np.ndarray) -> Record:
    r = run.record
    return Record(np.ascontiguousarray(rows, dtype=np.uint32), r.initial_regs, r.final_regs, r.input_consumed)


def _regenerate(run, rows):
    run.witness = riscv_air.generate(run.setup, _record_with(run, rows), strict=False)


def test_branch_not_taken_when_it_must_be(run):
    """The beq is taken; the cheater falls through and executes the instruction it skips."""
    from zkvm.exec.record import COLUMN
    t = run.cycle_of("beq")
    rows = np.asarray(run.record.rows).astype(np.int64)
    fall = rows[t].copy()
    fall[:] = 0
    pc = rows[t, COLUMN["pc"]] + 4
    fall[COLUMN["pc"]], fall[COLUMN["insn"]], fall[COLUMN["next_pc"]] = pc, run.image.words[pc], pc + 4
    rows[t, COLUMN["next_pc"]] = pc
    # the skipped `addi s4, s4, 1` makes every later value of s4 one larger
    s4_later = (rows[:, COLUMN["insn"]] >> 7 & 31) == 20
    s4_later[: t + 1] = False
    rows[s4_later, COLUMN["rd_val"]] += 1
    fall[COLUMN["rd_val"]] = 1
    rows = np.insert(rows, t + 1, fall, axis=0)
    cyc = rows[:, COLUMN["a7_val"]] == abi.ECALL_CYCLES
    rows[cyc & (rows[:, COLUMN["insn"]] == 0x73), COLUMN["rd_val"]] += 1
    _regenerate(run, rows)
    expect_rejected(run, ConstraintError, "pc_flow")


def test_skipped_instruction(run):
    from zkvm.exec.record import COLUMN
    t = run.cycle_of("nop")
    rows = np.delete(np.asarray(run.record.rows).astype(np.int64), t, axis=0)
    cyc = (rows[:, COLUMN["a7_val"]] == abi.ECALL_CYCLES) & (rows[:, COLUMN["insn"]] == 0x73)
    rows[cyc, COLUMN["rd_val"]] -= 1  # keep CYCLES consistent with the shorter run
    _regenerate(run, rows)
    expect_rejected(run, ConstraintError, "pc_flow")


def test_write_to_x0(run):
    t = run.cycle_of("x0_write")  # addi x0, t1, 5: the cheater lets x0 become 12 ...
    res = H.get_cpu(run, t, "res_lo")
    assert res == 12
    H.set_cpu(run, t, wv_lo=res)
    # ... and every later read of x0 (LUI's rs1/rs2 fields are x0) sees 12, consistently
    ci = CpuCols.INDEX
    later = np.arange(t + 1, run.witness.cycles)
    for r in later[run.cpu[later, ci["rs1"]] == 0]:
        H.set_cpu(run, int(r), a_lo=res)
    for r in later[run.cpu[later, ci["rs2"]] == 0]:
        H.set_cpu(run, int(r), r2_lo=res)
        if not H.get_cpu(run, int(r), "use_imm"):
            H.set_cpu(run, int(r), b_lo=res)
    H.set_reg_final(run, 0, res)
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "wv_lo")


def test_journal_byte_changed_by_verifier_side(run):
    journal = bytearray(run.witness.journal)
    journal[1] ^= 0x40
    expect_rejected(run, BusError, "journal", journal=bytes(journal))


def test_journal_byte_changed_in_trace(run):
    """The cheater commits a byte a0 does not hold, and claims the journal with that byte."""
    t = int(np.nonzero(run.cpu[:, CpuCols.INDEX["e_commit"]])[0][0])
    H.set_cpu(run, t, mb1=H.get_cpu(run, t, "mb1") ^ 0x40)
    H.rebalance_lookups(run)
    journal = bytearray(run.witness.journal)
    journal[1] ^= 0x40
    expect_rejected(run, ConstraintError, "bytes_lo", journal=bytes(journal))


def test_exit_code_changed(run):
    expect_rejected(run, BusError, "exit", exit_code=4)


def test_journal_truncated(run):
    expect_rejected(run, BusError, "journal", journal=run.witness.journal[:-1])


def test_timestamp_order(run):
    H.relink_x0_read(run, index=2, after=6)
    H.rebalance_lookups(run)
    expect_rejected(run, BusError, "bytes")


def test_instruction_not_in_program(run):
    """The cheater executes `sub x0, t0, t1` where the program has `add x0, t0, t1`."""
    from zkvm.circuit.opcodes import SUB
    t = run.cycle_of("add_x0")
    a = H.get_cpu(run, t, "a_lo") | H.get_cpu(run, t, "a_hi") << 16
    b = H.get_cpu(run, t, "b_lo") | H.get_cpu(run, t, "b_hi") << 16
    c = (a - b) % (1 << 32)
    H.set_cpu(run, t, alu_op=SUB, c_lo=c & 0xFFFF, c_hi=c >> 16, res_lo=c & 0xFFFF, res_hi=c >> 16)
    H.fix_eq_gadget(run, t)
    H.refill_families(run)
    H.rebalance_lookups(run)
    expect_rejected(run, BusError, "program")


def test_store_into_program_text():
    """Self-modifying code traps in the interpreter; a cheater claiming a store into the text (with a
    consistent trace otherwise) runs into the store_outside_text range check."""
    from zkvm.exec import Executor
    from zkvm.exec.record import COLUMN
    code = (H.A.li("a7", abi.ECALL_READ_WORD) + [H.A.ECALL] + H.A.li("t1", 0x55)
            + [H.A.store("sw", "t1", "a0", 0)] + H.A.li("a0", 0) + H.A.halt())
    image = H.A.image(code)
    honest_input = (H.SCRATCH).to_bytes(4, "little")
    _, record = Executor(image, honest_input).record()
    setup = riscv_air.setup(image)
    rows = np.asarray(record.rows).astype(np.int64)
    text_word = abi.TEXT_START + 8
    read = int(np.nonzero(rows[:, COLUMN["a7_val"]] == abi.ECALL_READ_WORD)[0][0])
    rows[read, COLUMN["rd_val"]] = text_word
    store = read + 3
    assert rows[store, COLUMN["mem_addr"]] == H.SCRATCH
    rows[store, COLUMN["mem_addr"]] = text_word
    rows[store, COLUMN["mem_before"]] = image.words[text_word]
    fake = Record(np.ascontiguousarray(rows, dtype=np.uint32), record.initial_regs, record.final_regs,
                  text_word.to_bytes(4, "little"))
    w = riscv_air.generate(setup, fake, strict=False)
    run = H.Run(setup, w, fake, None, {}, image)
    with pytest.raises(BusError) as info:
        H.check(run)
    assert info.value.bus in ("range16", "bytes"), info.value
    with pytest.raises(VerificationError):
        H.prove_and_verify(run)


def test_zero_init_inside_the_image(run):
    """The cheater gives an image word a second, zero, initialisation and loads 0 from it instead of the
    image's value: only the zinit table's outside-the-image range check stands in the way."""
    t = run.cycle_of("lw_image")
    w = H.get_cpu(run, t, "maddr")
    H.set_cpu(run, t, m_lo=0, m_hi=0, n_lo=0, n_hi=0, mb0=0, mb1=0, mb2=0, mb3=0, sel_byte=0, res_lo=0,
              res_hi=0, wv_lo=0, wv_hi=0)
    H.set_reg_final(run, 12, 0)  # a2 is never touched again
    image = run.witness.main["image"]
    row = int(np.searchsorted(run.setup.image_w, w))
    assert run.setup.image_w[row] == w
    image[row, :3] = [run.setup.words[row] & 0xFFFF, run.setup.words[row] >> 16, 0]  # the image word: untouched
    ts = 4 * H.get_cpu(run, t, "clk") + 2
    cells = sorted(H.zinit_cells(run) + [(w, 0, ts)])
    # the closest gap: right after the word (w + 1 .. next word - 1); w - gap_lo = -1 is no range-checked value
    run.witness.main["zinit"] = H.zinit_trace(run, cells, {w: row})
    H.rebalance_lookups(run)
    with pytest.raises(BusError) as info:
        H.check(run)
    assert info.value.bus in ("range16", "bytes"), info.value
    with pytest.raises(VerificationError):
        H.prove_and_verify(run)


def test_zero_init_twice(run):
    """The cheater zero-initialises a scratch word twice and, after storing to it, loads 0 through the second
    chain: only the zinit table's strictly-increasing range check stands in the way."""
    t = run.cycle_of("last_lw")  # lw s6 <- [scratch] (written by the sw earlier); s6 is never read again
    w = H.get_cpu(run, t, "maddr")
    old = H.get_cpu(run, t, "m_lo") | H.get_cpu(run, t, "m_hi") << 16
    H.set_cpu(run, t, m_lo=0, m_hi=0, n_lo=0, n_hi=0, mb0=0, mb1=0, mb2=0, mb3=0, sel_byte=0, res_lo=0,
              res_hi=0, wv_lo=0, wv_hi=0)
    ts = 4 * H.get_cpu(run, t, "clk") + 2
    # the load now starts the second chain (prev ts 0), so its timestamp difference changes
    d = ts - 0 - 1
    H.set_cpu(run, t, d2_lo=d & 0xFFFF, d2_hi=d >> 16)
    H.set_reg_final(run, 22, 0)
    cells = H.zinit_cells(run)
    i = next(k for k, c in enumerate(cells) if c[0] == w)
    assert cells[i][1] == old and cells[i][2] == ts, "the load was the last access to the word"
    # the first chain now ends at the access before the load; the second chain is the load alone
    cpu = run.cpu.astype(np.int64)
    ci = CpuCols.INDEX
    before = [4 * int(cpu[r, ci["clk"]]) + 2 for r in range(t) if cpu[r, ci["maddr"]] == w
              and (cpu[r, ci["is_sw"]] + cpu[r, ci["is_sh"]] + cpu[r, ci["is_sb"]] + cpu[r, ci["is_lw"]]
                   + cpu[r, ci["is_lh"]] + cpu[r, ci["is_lhu"]] + cpu[r, ci["is_lb"]] + cpu[r, ci["is_lbu"]])]
    cells[i] = (w, old, max(before))
    cells.insert(i + 1, (w, 0, ts))
    run.witness.main["zinit"] = H.zinit_trace(run, cells)
    H.rebalance_lookups(run)
    with pytest.raises(BusError) as info:
        H.check(run)
    assert info.value.bus in ("range16", "bytes"), info.value
    with pytest.raises(VerificationError):
        H.prove_and_verify(run)


def test_wrong_sign_extension(run):
    """lb of the byte 0x12 sign-extended as if it were negative: the (AND, byte, 0x80, 0x80·sign) lookup fails."""
    t = run.cycle_of("lb")  # lb a4 <- 0x12; a4 is never read again
    assert H.get_cpu(run, t, "sel_byte") == 0x12 and H.get_cpu(run, t, "sign") == 0
    H.set_cpu(run, t, sign=1, res_lo=0xFF12, res_hi=0xFFFF, wv_lo=0xFF12, wv_hi=0xFFFF)
    H.set_reg_final(run, 14, 0xFFFFFF12)
    H.rebalance_lookups(run)
    expect_rejected(run, BusError, "bytes")


def test_wrong_cycle_count(run):
    t = run.cycle_of("cycles")
    assert H.get_cpu(run, t, "res_lo") == t
    H.set_cpu(run, t, res_lo=t + 1, wv_lo=t + 1, rx=t + 1)
    # the next access to a0 (the `lui a0` of `li a0, 3`) overwrites it: its previous value follows the lie
    nxt = next(r for r in range(t + 1, run.witness.cycles) if H.get_cpu(run, r, "rd") == 10)
    assert H.get_cpu(run, nxt, "p_lo") == t
    H.set_cpu(run, nxt, p_lo=t + 1)
    H.rebalance_lookups(run)
    expect_rejected(run, ConstraintError, "cycles")


def test_run_that_does_not_halt(run):
    """A run cut before its HALT (e.g. one that hit the cycle limit) is not a provable clean exit."""
    rows = np.asarray(run.record.rows)[:-1]
    _regenerate(run, rows)
    expect_rejected(run, ConstraintError, "ends_with_halt")
