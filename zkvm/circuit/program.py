"""Program table: the image's instructions, decoded once, as preprocessed (fixed) columns.

One row per instruction word of the executable ranges that decodes to a supported RV32IM instruction. The
CPU table looks up, on every real row, the tuple (1, pc, decoded fields...) on bus "program"; this table
receives (valid, pc, fields...) with a prover-chosen multiplicity column. Because the fixed columns are
committed by the image id, a CPU row can only execute an instruction that is in the image, at its address,
decoded exactly as here (soundness: LogUp over a tuple fingerprint; a tuple absent from this table cannot be
balanced by any multiplicity). Padding rows have valid = 0 and all fields 0: CPU padding rows look up
(0, 0, 0...), so padding rows carry no selector and send nothing (the table always keeps >= 1 padding row).

Decoding moves work out of the circuit: constants that depend only on (pc, insn) are precomputed here
(LUI/AUIPC results, JAL and branch targets, the link value pc + 4), so the CPU never adds a pc.
Words that do not decode (data in text, unsupported encodings) get no row: executing them is unprovable,
exactly as the interpreter traps on them.
"""

from __future__ import annotations

import numpy as np

from zkvm import abi
from zkvm.circuit import opcodes as op
from zkvm.circuit.columns import Col, Columns, Include

#: Decoded fields, in bus-tuple order after (valid, pc). Each is a fixed column here and a main column of
#: the CPU table with the same name.
class Decoded(Columns):
    """An instruction's decoded fields: the program table's fixed columns, the CPU's looked-up main columns."""

    rd, rs1, rs2, rd_is_x0 = Col(), Col(), Col(), Col()
    imm_lo, imm_hi = Col(), Col()          # sign-extended immediate (ALU-I, loads, stores, JALR)
    k_lo, k_hi = Col(), Col()              # constant rd result: LUI imm, AUIPC pc+imm, JAL/JALR pc+4
    target = Col()                         # JAL target / branch-taken target (a field element < 2^24)
    alu_op = Col()                         # op id sent on bus "alu" (opcodes.py)
    use_imm = Col()                        # alu operand b = imm (else rs2 value)
    is_aluop = Col()                       # rd result = alu output c
    is_const = Col()                       # rd result = k
    is_jal, is_jalr = Col(), Col()
    br_eq, br_lt, br_neg = Col(), Col(), Col()  # branch kinds: eq-compare (SUB == 0) / less-than (SLT/SLTU c), negated
    is_lw, is_lh, is_lhu, is_lb, is_lbu = Col(), Col(), Col(), Col(), Col()
    is_sw, is_sh, is_sb = Col(), Col(), Col()
    is_ecall = Col()


FIELDS = list(Decoded.NAMES)

#: Registers the ecall row touches: a7 (call number) in the rs1 slot, a0 in the rs2 slot and written back
#: through the rd slot, a1 through the memory slot (see cpu.py).
REG_A0, REG_A1, REG_A7 = 10, 11, 17

_R_OPS = {  # (funct7, funct3) -> alu op
    (0x00, 0): op.ADD, (0x20, 0): op.SUB, (0x00, 1): op.SLL, (0x00, 2): op.SLT, (0x00, 3): op.SLTU,
    (0x00, 4): op.XOR, (0x00, 5): op.SRL, (0x20, 5): op.SRA, (0x00, 6): op.OR, (0x00, 7): op.AND,
    (0x01, 0): op.MUL, (0x01, 1): op.MULH, (0x01, 2): op.MULHSU, (0x01, 3): op.MULHU,
    (0x01, 4): op.DIV, (0x01, 5): op.DIVU, (0x01, 6): op.REM, (0x01, 7): op.REMU,
}
_I_OPS = {0: op.ADD, 2: op.SLT, 3: op.SLTU, 4: op.XOR, 6: op.OR, 7: op.AND}
_BRANCHES = {  # funct3 -> (alu op, eq-kind, negate)
    0: (op.SUB, 1, 0), 1: (op.SUB, 1, 1), 4: (op.SLT, 0, 0), 5: (op.SLT, 0, 1),
    6: (op.SLTU, 0, 0), 7: (op.SLTU, 0, 1),
}
_LOADS = {0: "is_lb", 1: "is_lh", 2: "is_lw", 4: "is_lbu", 5: "is_lhu"}
_STORES = {0: "is_sb", 1: "is_sh", 2: "is_sw"}


def _sext(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _limbs(value: int) -> tuple[int, int]:
    value &= 0xFFFF_FFFF
    return value & 0xFFFF, value >> 16


#: Stands for a jump target the interpreter would trap on (misaligned or outside guest memory): it is odd, so
#: no program row has it and a CPU row that takes the jump cannot be followed by a valid row.
BAD_TARGET = 1


def _target(value: int) -> int:
    value &= 0xFFFF_FFFF
    return value if value % 4 == 0 and value < abi.MEM_END else BAD_TARGET


def decode(insn: int, pc: int) -> dict[str, int] | None:
    """Decoded fields of one instruction, or None when the circuit has no row for it (the interpreter traps)."""
    f = dict.fromkeys(FIELDS, 0)
    opcode, rd, f3 = insn & 0x7F, (insn >> 7) & 31, (insn >> 12) & 7
    rs1, rs2, f7 = (insn >> 15) & 31, (insn >> 20) & 31, insn >> 25
    imm_i = _sext(insn >> 20, 12)
    imm_s = _sext(((insn >> 25) << 5) | ((insn >> 7) & 31), 12)
    imm_b = _sext((((insn >> 31) & 1) << 12) | (((insn >> 7) & 1) << 11) | (((insn >> 25) & 0x3F) << 5)
                  | (((insn >> 8) & 0xF) << 1), 13)
    imm_u = insn & 0xFFFF_F000
    imm_j = _sext((((insn >> 31) & 1) << 20) | (((insn >> 12) & 0xFF) << 12) | (((insn >> 20) & 1) << 11)
                  | (((insn >> 21) & 0x3FF) << 1), 21)

    def set_imm(v: int) -> None:
        f["imm_lo"], f["imm_hi"] = _limbs(v)

    def set_k(v: int) -> None:
        f["k_lo"], f["k_hi"] = _limbs(v)

    def set_rd(r: int) -> None:
        f["rd"], f["rd_is_x0"] = r, int(r == 0)

    if opcode == 0x33:  # R-type ALU / M extension
        alu = _R_OPS.get((f7, f3))
        if alu is None:
            return None
        set_rd(rd); f.update(rs1=rs1, rs2=rs2, alu_op=alu, is_aluop=1)
    elif opcode == 0x13:  # I-type ALU
        if f3 == 1:
            if f7 != 0:
                return None
            alu, imm = op.SLL, rs2
        elif f3 == 5:
            if f7 not in (0, 0x20):
                return None
            alu, imm = (op.SRA if f7 else op.SRL), rs2
        else:
            alu, imm = _I_OPS[f3], imm_i
        set_rd(rd); set_imm(imm); f.update(rs1=rs1, alu_op=alu, use_imm=1, is_aluop=1)
    elif opcode == 0x37:  # LUI
        set_rd(rd); set_k(imm_u); f["is_const"] = 1
    elif opcode == 0x17:  # AUIPC: pc is a constant of the row, so is the result
        set_rd(rd); set_k(pc + imm_u); f["is_const"] = 1
    elif opcode == 0x6F:  # JAL
        target = _target(pc + imm_j)
        set_rd(rd); set_k(pc + 4); f.update(is_const=1, is_jal=1, target=target)
    elif opcode == 0x67:  # JALR
        if f3 != 0:
            return None
        set_rd(rd); set_k(pc + 4); set_imm(imm_i)
        f.update(rs1=rs1, alu_op=op.ADD, use_imm=1, is_const=1, is_jalr=1)
    elif opcode == 0x63:  # branches
        if f3 not in _BRANCHES:
            return None
        target = _target(pc + imm_b)
        alu, eq, neg = _BRANCHES[f3]
        set_rd(0); f.update(rs1=rs1, rs2=rs2, alu_op=alu, br_eq=eq, br_lt=1 - eq, br_neg=neg, target=target)
    elif opcode == 0x03:  # loads
        if f3 not in _LOADS:
            return None
        set_rd(rd); set_imm(imm_i); f.update(rs1=rs1, alu_op=op.ADD, use_imm=1)
        f[_LOADS[f3]] = 1
    elif opcode == 0x23:  # stores
        if f3 not in _STORES:
            return None
        set_rd(0); set_imm(imm_s); f.update(rs1=rs1, rs2=rs2, alu_op=op.ADD, use_imm=1)
        f[_STORES[f3]] = 1
    elif opcode == 0x0F:  # FENCE: a no-op on one hart (FENCE.I is not supported by the interpreter)
        if f3 != 0:
            return None
        set_rd(0)
    elif insn == 0x0000_0073:  # ECALL
        set_rd(REG_A0); f.update(rs1=REG_A7, rs2=REG_A0, is_ecall=1)
    else:
        return None
    return f


def decode_program(program: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(pcs uint32[n], fields uint32[n, len(FIELDS)]) for the decodable instructions, sorted by pc."""
    rows = []
    for pc in sorted(program):
        d = decode(program[pc], pc)
        if d is not None:
            rows.append((pc, [d[name] for name in FIELDS]))
    pcs = np.array([pc for pc, _ in rows], dtype=np.uint32)
    fields = np.array([r for _, r in rows], dtype=np.uint32).reshape(len(rows), len(FIELDS))
    return pcs, fields


class ProgramCols(Columns):
    valid, pc = Col(fixed=True), Col(fixed=True)
    fields = Include(Decoded, fixed=True)
    mult = Col()  # how many CPU rows executed this row


class ProgramTable:
    """Fixed: valid, pc, FIELDS. Main: mult (how many CPU rows executed this row; padding rows count CPU padding)."""

    NAME = "program"

    def __init__(self, table) -> None:
        c = ProgramCols.exprs(table)
        table.receive("program", [c.valid, c.pc, *c.fields], mult=c.mult)

    @staticmethod
    def fixed_trace(pcs: np.ndarray, fields: np.ndarray, min_height: int = 2) -> np.ndarray:
        """Fixed columns; the height leaves room for at least one padding row (valid = 0, everything 0) and is
        at least ``min_height`` (zero knowledge needs a minimal height: riscv_air.min_fixed_height)."""
        n = len(pcs)
        height = max(1 << max(1, int(n).bit_length()), min_height)  # > n, so >= 1 padding row
        out = np.zeros((height, len(ProgramCols.FIXED)), dtype=np.uint32)
        f = ProgramCols.view(out, fixed=True)
        f.valid[:n] = 1
        f.pc[:n] = pcs
        out[:n, ProgramCols.INDEX[FIELDS[0]]:] = fields  # the decoded fields, in FIELDS order, end the row
        return out

    @staticmethod
    def main_trace(pcs: np.ndarray, height: int, row_of_cycle: np.ndarray, cpu_padding_rows: int) -> np.ndarray:
        """mult per program row: executions per instruction; the first padding row absorbs CPU padding."""
        mult = np.bincount(row_of_cycle, minlength=height).astype(np.uint64)
        mult[len(pcs)] += cpu_padding_rows
        return mult.astype(np.uint32).reshape(height, 1)
