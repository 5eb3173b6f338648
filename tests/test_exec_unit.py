"""Per-instruction tests of the C interpreter: every RV32IM instruction, the RV32M edge cases, traps, ecalls.

Expected values come from the ISA manual (explicit constants for the spec's edge cases) or from the
independent Python reference in ``rv32_ref.py``; programs come from the independent encoder ``rv32asm.py``.
"""

from __future__ import annotations

import itertools
import random

import pytest

import rv32asm as A
from rv32_ref import alu, branch_taken
from zkvm import abi
from zkvm.errors import GuestError
from zkvm.exec import Executor

T = abi.TEXT_START
DATA = 0x0010_0000  # a data page well inside guest memory, away from the text
INT_MIN, INT_MAX, M = 0x8000_0000, 0x7FFF_FFFF, 0xFFFF_FFFF
EDGES = [0, 1, 2, 3, 31, 32, 33, 0x7F, 0x80, 0xFF, 0x8000, 0xFFFF, INT_MAX, INT_MIN, INT_MIN + 1, M, M - 1, 0x1234_5678]


def run(code, regs=None, data=None, input=b"", max_cycles=10_000, **kw):
    """Run `code` + HALT; returns the finished machine."""
    ex = Executor(A.image(list(code) + A.halt(), data), input, max_cycles, initial_regs=regs, **kw)
    m = ex.machine()
    m.raise_for_status(m.run())
    return m


def regs_with(**values) -> list[int]:
    regs = [0] * 32
    for name, v in values.items():
        regs[A.REG[name]] = v & M
    return regs


def trap(code, data=None, input=b"", max_cycles=10_000, regs=None, halt=True, **kw) -> GuestError:
    words = list(code) + (A.halt() if halt else [])
    ex = Executor(A.image(words, data), input, max_cycles, initial_regs=regs, **kw)
    with pytest.raises(GuestError) as info:
        ex.run()
    return info.value


# ------------------------------------------------------------------------------------------ ALU


@pytest.mark.parametrize("name", A.OPS)
def test_register_register_ops_match_reference(name):
    rng = random.Random(f"rr-{name}")
    pairs = list(itertools.product(EDGES, EDGES)) + [(rng.getrandbits(32), rng.getrandbits(32)) for _ in range(50)]
    # many pairs in one program: a, b in t0, t1, result stored to DATA + 4i
    code, expected = [], []
    for i, (a, b) in enumerate(pairs):
        code += A.li("t0", a) + A.li("t1", b) + [A.op(name, "t2", "t0", "t1"), A.store("sw", "t2", "s0", 0)]
        code += [A.op_imm("addi", "s0", "s0", 4)]
        expected.append(alu(name, a, b))
    m = run(code, regs=regs_with(s0=DATA), max_cycles=100_000)
    got = [int.from_bytes(m.read(DATA + 4 * i, 4), "little") for i in range(len(pairs))]
    bad = [(hex(a), hex(b), hex(g), hex(e)) for (a, b), g, e in zip(pairs, got, expected) if g != e]
    assert not bad, f"{name}: (a, b, got, expected) {bad[:5]}"


@pytest.mark.parametrize(
    "name,a,b,expected",
    [
        # RV32M spec table: division by zero and overflow
        ("div", 7, 0, M), ("div", INT_MIN, 0, M), ("divu", 7, 0, M), ("divu", 0, 0, M),
        ("rem", 7, 0, 7), ("rem", INT_MIN, 0, INT_MIN), ("remu", 7, 0, 7), ("remu", M, 0, M),
        ("div", INT_MIN, M, INT_MIN), ("rem", INT_MIN, M, 0),
        # truncation toward zero; remainder takes the dividend's sign
        ("div", (-7) & M, 2, (-3) & M), ("rem", (-7) & M, 2, (-1) & M), ("rem", 7, (-2) & M, 1),
        ("divu", (-7) & M, 2, 0x7FFF_FFFC), ("remu", (-7) & M, 2, 1),
        # high multiplies: signedness of each operand
        ("mulh", M, M, 0), ("mulhu", M, M, M - 1), ("mulhsu", M, M, M), ("mulhsu", 2, M, 1),
        ("mulh", INT_MIN, INT_MIN, 0x4000_0000), ("mulhu", INT_MIN, INT_MIN, 0x4000_0000),
        ("mulhsu", INT_MIN, M, 0x8000_0000), ("mul", INT_MIN, M, INT_MIN),
        # shift amounts use the low 5 bits of rs2
        ("sll", 1, 33, 2), ("srl", INT_MIN, 33, 0x4000_0000), ("sra", INT_MIN, 33, 0xC000_0000),
        ("sll", 1, 32, 1), ("sra", INT_MIN, 31, M), ("srl", INT_MIN, 31, 1),
        ("slt", INT_MIN, 0, 1), ("sltu", INT_MIN, 0, 0), ("sub", 0, 1, M),
    ],
)
def test_spec_edge_cases(name, a, b, expected):
    m = run([A.op(name, "a2", "a0", "a1")], regs=regs_with(a0=a, a1=b))
    assert m.regs[12] == expected, f"{name}({a:#x}, {b:#x}) = {m.regs[12]:#x}"


@pytest.mark.parametrize("name", A.OP_IMMS)
def test_immediate_ops_match_reference(name):
    imms = [0, 1, -1, 2047, -2048, 0x7F, -0x80, 5]
    code, expected = [], []
    for i, (a, imm) in enumerate(itertools.product(EDGES, imms)):
        code += A.li("t0", a) + [A.op_imm(name, "t2", "t0", imm), A.store("sw", "t2", "s0", 4 * i)]
        expected.append(alu(name[:-1] if name != "sltiu" else "sltu", a, imm & M))
    m = run(code, regs=regs_with(s0=DATA), max_cycles=100_000)
    got = [int.from_bytes(m.read(DATA + 4 * i, 4), "little") for i in range(len(expected))]
    assert got == expected


@pytest.mark.parametrize("name", A.SHIFT_IMMS)
def test_shift_immediates(name):
    for a in EDGES:
        for sh in (0, 1, 5, 16, 31):
            m = run(A.li("t0", a) + [A.op_imm(name, "a0", "t0", sh)])
            assert m.regs[10] == alu(name[:3] if name != "srai" else "sra", a, sh), (name, hex(a), sh)


def test_lui_auipc():
    m = run([A.lui("a0", 0xFFFFF), A.lui("a1", 0x12345), A.auipc("a2", 0), A.auipc("a3", 0xFFFFF)])
    assert m.regs[10:14].tolist() == [0xFFFFF000, 0x12345000, T + 8, (T + 12 - 0x1000) & M]


def test_writes_to_x0_are_dropped():
    code = [A.op_imm("addi", "zero", "zero", 5), A.lui("zero", 1), A.op("add", "zero", "a0", "a0"),
            A.jal("zero", 4), A.load("lw", "zero", "s0", 0), A.op("add", "a1", "zero", "zero")]
    m = run(code, regs=regs_with(a0=3, s0=DATA), data={DATA: 0xDEADBEEF})
    assert m.regs[0] == 0 and m.regs[11] == 0


# ------------------------------------------------------------------------------------------ control flow


def test_jal_and_jalr_link_and_target():
    code = [
        A.jal("ra", 8),  # T: -> T+8, ra = T+4
        A.op_imm("addi", "a0", "zero", 99),  # skipped
        A.jalr("t0", "t2", 2),  # T+8: -> (T+15 + 2) & ~1 = T+16, t0 = T+12
        A.op_imm("addi", "a0", "zero", 98),  # skipped
        A.jalr("t1", "t1", 8),  # T+16: rd == rs1: target from the old t1 (T+16) -> T+24; t1 = T+20
        A.op_imm("addi", "a0", "zero", 97),  # skipped
        A.op_imm("addi", "a1", "zero", 1),  # T+24
    ]
    m = run(code, regs=regs_with(t1=T + 16, t2=T + 15))
    assert m.regs[1] == T + 4 and m.regs[5] == T + 12 and m.regs[6] == T + 20
    assert m.regs[10] == 0 and m.regs[11] == 1


@pytest.mark.parametrize("name", A.BRANCHES)
def test_branches_taken_and_not_taken(name):
    for a, b in itertools.product([0, 1, M, INT_MIN, INT_MAX], repeat=2):
        # taken: skip the addi; not taken: execute it
        code = [A.branch(name, "a0", "a1", 8), A.op_imm("addi", "a2", "zero", 1)]
        m = run(code, regs=regs_with(a0=a, a1=b))
        assert m.regs[12] == (0 if branch_taken(name, a, b) else 1), (name, hex(a), hex(b))


def test_backward_branch_loop_counts_cycles():
    code = A.li("t0", 100) + [A.op_imm("addi", "t0", "t0", -1), A.branch("bne", "t0", "zero", -4)]
    m = run(code)
    assert m.cycles == 2 + 200 + 3  # li + loop + HALT (li a7 = 2, ecall)


# ------------------------------------------------------------------------------------------ loads/stores


def test_load_sign_and_zero_extension():
    data = {DATA: 0x8081_7F80, DATA + 4: 0xFFFF_8000}
    code = [A.load(n, r, "s0", off) for n, r, off in [
        ("lb", "a0", 0), ("lbu", "a1", 0), ("lb", "a2", 1), ("lh", "a3", 0), ("lhu", "a4", 2), ("lh", "a5", 2),
        ("lh", "a6", 4), ("lhu", "a7", 4), ("lw", "t3", 4), ("lb", "t4", 3), ("lbu", "t5", 3)]]
    m = run(code[:7] + code[8:] + [code[7], A.op("add", "s1", "a7", "zero")] , regs=regs_with(s0=DATA), data=data)
    r = m.regs
    assert r[10] == 0xFFFF_FF80 and r[11] == 0x80 and r[12] == 0x7F
    assert r[13] == 0x7F80 and r[14] == 0x8081 and r[15] == 0xFFFF_8081
    assert r[16] == 0xFFFF_8000 and r[9] == 0x8000 and r[28] == 0xFFFF_8000
    assert r[29] == 0xFFFF_FF80 and r[30] == 0x80


def test_stores_write_only_their_bytes():
    data = {DATA: 0x1111_1111, DATA + 4: 0x2222_2222}
    code = [A.store("sb", "a0", "s0", 1), A.store("sh", "a0", "s0", 6), A.store("sw", "a0", "s0", 8),
            A.store("sb", "a0", "s0", -1)]
    m = run(code, regs=regs_with(s0=DATA, a0=0xAABB_CCDD), data=data)
    assert m.read(DATA - 4, 16).hex() == "000000dd" "11dd1111" "2222ddcc" "ddccbbaa"


def test_memory_edges_are_accessible():
    code = [A.store("sw", "a0", "s0", 0), A.load("lw", "a1", "s0", 0), A.store("sb", "a0", "s1", 0),
            A.load("lbu", "a2", "s1", 0)]
    m = run(code, regs=regs_with(s0=abi.MEM_END - 4, s1=abi.MEM_START, a0=0x12345678))
    assert m.regs[11] == 0x12345678 and m.regs[12] == 0x78


# ------------------------------------------------------------------------------------------ traps


@pytest.mark.parametrize(
    "insn,addr,cause",
    [
        (A.load("lw", "a0", "s0", 0), DATA + 2, "load_misaligned"),
        (A.load("lw", "a0", "s0", 0), DATA + 1, "load_misaligned"),
        (A.load("lh", "a0", "s0", 0), DATA + 1, "load_misaligned"),
        (A.load("lhu", "a0", "s0", 0), DATA + 3, "load_misaligned"),
        (A.store("sw", "a0", "s0", 0), DATA + 2, "store_misaligned"),
        (A.store("sh", "a0", "s0", 0), DATA + 1, "store_misaligned"),
        (A.load("lw", "a0", "s0", 0), 0, "load_out_of_range"),
        (A.load("lb", "a0", "s0", 0), abi.MEM_START - 1, "load_out_of_range"),
        (A.load("lw", "a0", "s0", 0), abi.MEM_END, "load_out_of_range"),
        (A.load("lbu", "a0", "s0", 0), abi.MEM_END, "load_out_of_range"),
        (A.load("lh", "a0", "s0", 0), M - 1, "load_out_of_range"),
        (A.store("sw", "a0", "s0", 0), abi.MEM_END, "store_out_of_range"),
        (A.store("sb", "a0", "s0", 0), abi.MEM_START - 1, "store_out_of_range"),
        (A.store("sw", "a0", "s0", 0), T, "store_to_text"),
        (A.store("sb", "a0", "s0", 0), T + 3, "store_to_text"),
    ],
)
def test_bad_accesses_trap(insn, addr, cause):
    err = trap([A.op_imm("addi", "zero", "zero", 0), insn], regs=regs_with(s0=addr))
    assert (err.cause, err.pc, err.insn) == (cause, T + 4, insn)
    assert f"address 0x{addr:08x}" in str(err)


def test_trap_message_is_exact():
    insn = A.load("lw", "a0", "s0", 0)
    err = trap([insn], regs=regs_with(s0=DATA + 2))
    assert str(err) == f"guest trap: load_misaligned at pc=0x{T:08x} (insn 0x{insn:08x}): address 0x{DATA + 2:08x}"


def test_store_just_past_text_is_allowed():
    code = [A.store("sw", "a0", "s0", 0), A.load("lw", "a1", "s0", 0)]
    text_end = T + 4 * (len(code) + len(A.halt()))
    m = run(code, regs=regs_with(s0=text_end, a0=5))
    assert m.regs[11] == 5


@pytest.mark.parametrize(
    "word",
    [
        0x0000_0000, 0xFFFF_FFFF,  # all zeros / all ones are illegal by design
        0x0000_4501,  # a compressed encoding (low bits != 11)
        0x3400_2573,  # csrr a0, mscratch (Zicsr: not RV32IM)
        0x0000_100F,  # fence.i
        0x0200_1013,  # slli with shamt[5] set
        0x4000_1013,  # slli with funct7 = 0x20
        0x4000_4033,  # xor with funct7 = 0x20
        0x0400_0033,  # add with funct7 = 2
        0x0000_3003,  # load funct3 = 3 (ld)
        0x0000_3023,  # store funct3 = 3 (sd)
        0x0000_2063,  # branch funct3 = 2
        0x0000_1067,  # jalr funct3 = 1
        0x1050_0073,  # wfi
        0x3020_0073,  # mret
        0x0000_0007,  # flw (F extension)
        0x0000_005B,  # reserved opcode
    ],
)
def test_illegal_instructions_trap(word):
    err = trap([A.NOP, word])
    assert (err.cause, err.pc, err.insn) == ("illegal_instruction", T + 4, word)


def test_illegal_word_in_text_only_traps_when_executed():
    m = run([A.jal("zero", 8), 0xFFFF_FFFF, A.op_imm("addi", "a0", "zero", 7)])
    assert m.exit_code == 7


def test_fence_is_a_no_op():
    m = run([A.FENCE, 0x0000_000F, A.op_imm("addi", "a0", "zero", 3)])
    assert m.exit_code == 3


def test_ebreak_traps():
    err = trap([A.EBREAK])
    assert (err.cause, err.pc, err.insn) == ("ebreak", T, A.EBREAK)


def test_jalr_to_misaligned_or_outside_text_traps():
    # misaligned: the trap is at the jump (RISC-V); aligned without code: at the fetch of the target
    err = trap([A.jalr("ra", "t0", 0)], regs=regs_with(t0=T + 6))
    jalr = A.jalr("ra", "t0", 0)
    assert (err.cause, err.pc, err.insn) == ("pc_misaligned", T, jalr) and f"target 0x{T + 6:08x}" in str(err)
    err = trap([A.NOP, A.jalr("ra", "t0", 0)], regs=regs_with(t0=DATA))
    assert (err.cause, err.pc, err.insn) == ("pc_out_of_range", DATA, 0) and "no executable code" in str(err)
    err = trap([A.jalr("ra", "t0", -4)], regs=regs_with(t0=T))
    assert (err.cause, err.pc) == ("pc_out_of_range", T - 4)


def test_branch_to_bad_target_traps_only_when_taken():
    far = [A.branch("beq", "a0", "a1", -8)]  # target T - 8: before the text
    m = run(far + [A.op_imm("addi", "a0", "zero", 1)], regs=regs_with(a0=1, a1=2))
    assert m.exit_code == 1
    err = trap(far, regs=regs_with(a0=1, a1=1))
    assert (err.cause, err.pc) == ("pc_out_of_range", T - 8)
    err = trap([A.jal("ra", 0x1000)])
    assert (err.cause, err.pc) == ("pc_out_of_range", T + 0x1000)
    err = trap([A.branch("bne", "a0", "zero", 6)], regs=regs_with(a0=1))
    assert (err.cause, err.pc, err.insn) == ("pc_misaligned", T, A.branch("bne", "a0", "zero", 6))


def test_falling_off_the_end_traps():
    err = trap([A.NOP, A.NOP], halt=False)
    assert (err.cause, err.pc, err.insn) == ("pc_out_of_range", T + 8, 0)


def test_cycle_limit_is_exact():
    code = A.li("t0", 10) + [A.op_imm("addi", "t0", "t0", -1), A.branch("bne", "t0", "zero", -4)]
    needed = 2 + 20 + 3
    assert run(code, max_cycles=needed).cycles == needed
    err = trap(code, max_cycles=needed - 1)
    assert err.cause == "cycle_limit" and err.pc == T + 4 * (len(code) + 2)  # the HALT ecall
    assert "limit 24" in str(err)
    assert trap(code, max_cycles=0).pc == T


@pytest.mark.parametrize("mode", ["run", "record"])
def test_cycles_after_a_trap_count_completed_instructions(mode):
    """The fast loop charges whole straight-line runs up front; a trap inside one must give back the rest."""
    code = [A.NOP] * 3 + [A.load("lw", "a0", "s0", 0)] + [A.NOP] * 5 + A.halt()
    ex = Executor(A.image(code), initial_regs=regs_with(s0=2))
    m = ex.machine()
    status = m.run() if mode == "run" else m.record()
    with pytest.raises(GuestError):
        m.raise_for_status(status)
    assert m.cycles == 3 and m.pc == T + 12


def test_cycle_limit_inside_a_long_straight_line_run():
    code = [A.op_imm("addi", "a0", "a0", 1)] * 50 + A.halt()
    for limit in (1, 17, 49, 50):
        err = trap(code[:-3], max_cycles=limit, halt=False)
        assert (err.cause, err.pc) == ("cycle_limit", T + 4 * limit), limit
    assert run(code, max_cycles=53).exit_code == 50


def test_entry_outside_program_traps():
    img = A.image([A.NOP] + A.halt())
    bad = type(img)(entry=T + 0x100, words=img.words, exec_ranges=img.exec_ranges)
    with pytest.raises(GuestError) as info:
        Executor(bad).run()
    assert info.value.cause == "pc_out_of_range"


# ------------------------------------------------------------------------------------------ ecalls


def ecall(number: int) -> list[int]:
    return A.li("a7", number) + [A.ECALL]


def test_read_word_pads_and_counts():
    code = []
    for i in range(4):  # 4 reads of a 6-byte input: 4 bytes, 2 bytes, then 0, 0
        code += ecall(abi.ECALL_READ_WORD) + [A.store("sw", "a0", "s0", 8 * i), A.store("sw", "a1", "s0", 8 * i + 4)]
    m = run(code, regs=regs_with(s0=DATA, a0=0xFFFF_FFFF, a1=9), input=bytes([1, 2, 3, 4, 0xFE, 0xFF]))
    words = [int.from_bytes(m.read(DATA + 4 * i, 4), "little") for i in range(8)]
    assert words == [0x04030201, 4, 0xFFFE, 2, 0, 0, 0, 0]
    assert m.input_consumed == 6


def test_commit_word_appends_low_bytes():
    code = []
    for n in (1, 2, 3, 4):
        code += A.li("a0", 0x44332211) + A.li("a1", n) + ecall(abi.ECALL_COMMIT_WORD)
    m = run(code)
    assert m.journal == bytes.fromhex("11" "1122" "112233" "11223344")


@pytest.mark.parametrize("count", [0, 5, 0xFFFF_FFFF])
def test_commit_word_bad_length_traps(count):
    err = trap(A.li("a1", count) + ecall(abi.ECALL_COMMIT_WORD))
    assert err.cause == "bad_ecall_arg" and err.insn == A.ECALL and f"byte count {count}" in str(err)


def test_journal_growth_is_bounded():
    loop = A.li("a1", 4) + A.li("t0", 100) + ecall(abi.ECALL_COMMIT_WORD) + [
        A.op_imm("addi", "t0", "t0", -1), A.branch("bne", "t0", "zero", -16)]
    assert len(run(loop, max_journal=400).journal) == 400
    err = trap(loop, max_journal=399)
    assert err.cause == "journal_overflow" and "399 bytes" in str(err)


def test_log_copies_guest_bytes():
    m = run(A.li("a0", DATA) + A.li("a1", 5) + ecall(abi.ECALL_LOG), data={DATA: 0x6C6C6568, DATA + 4: 0x6F})
    assert m.logs == b"hello" and m.journal == b""
    m = run(A.li("a0", DATA) + A.li("a1", 5) + ecall(abi.ECALL_LOG) * 1, data={DATA: 0x6C6C6568}, max_log=3)
    assert m.logs == b"hel" and m.logs_truncated


@pytest.mark.parametrize("addr,length", [(0, 4), (abi.MEM_END - 2, 4), (abi.MEM_START, 0xFFFF_FFFF)])
def test_log_outside_memory_is_a_flagged_no_op(addr, length):
    # LOG is unproven, so it never traps (a trap the circuit cannot see would make a trapping run provable).
    m = run(A.li("a0", addr) + A.li("a1", length) + ecall(abi.ECALL_LOG))
    assert m.logs == b"" and m.logs_truncated  # run() raises if the guest trapped


def test_cycles_ecall_counts_instructions_before_it():
    code = [A.NOP] * 5 + ecall(abi.ECALL_CYCLES)  # 5 nops + li a7 (2) -> a0 = 7
    m = run(code)
    assert m.exit_code == 7


def test_unknown_ecall_traps():
    err = trap(ecall(99))
    assert err.cause == "bad_ecall" and "99" in str(err)


def test_halt_exit_code_and_cycles():
    m = run(A.li("a0", 0xDEAD))
    assert m.exit_code == 0xDEAD and m.cycles == 5


def test_executor_rejects_bad_limits():
    image = A.image(A.halt())
    for kwargs in ({"max_cycles": -1}, {"max_cycles": 1 << 63}, {"max_journal": -1}, {"max_log": 1 << 41}):
        with pytest.raises(ValueError):
            Executor(image, **kwargs)


def test_executor_result_and_reuse():
    ex = Executor(A.image(A.li("a0", 3) + A.li("a1", 1) + ecall(abi.ECALL_COMMIT_WORD) + A.halt()))
    r1, r2 = ex.run(), ex.run()
    assert (r1.exit_code, r1.journal, r1.cycles) == (r2.exit_code, r2.journal, r2.cycles) == (3, b"\x03", 10)
    r3, rec = ex.record()
    assert (r3.exit_code, r3.journal, r3.cycles) == (3, b"\x03", 10) and len(rec) == 10
