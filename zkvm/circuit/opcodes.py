"""Operation ids carried on the circuit's buses. One source of truth for every table that sends or receives.

Bus "alu": tuple (op, a_lo, a_hi, b_lo, b_hi, c_lo, c_hi): words as two 16-bit limbs; c = op(a, b) per the
RV32IM spec. The CPU sends one tuple per ALU-family instruction (and per comparison a branch needs); the
family tables (alu, shift, muldiv) each receive the ops they implement and constrain c.
Bus "range16": tuple (x,) proves 0 <= x < 2^16 (received by the fixed 2^16-row range table).
Bus "bytes": tuple (op, x, y, z) with op in BYTE_OPS: z = x op y for bytes x, y (fixed 2^16-row byte table);
BYTE_RANGE proves x, y are both bytes (z = 0).
"""

from __future__ import annotations

ADD, SUB, SLT, SLTU, AND, OR, XOR = 1, 2, 3, 4, 5, 6, 7
SLL, SRL, SRA = 8, 9, 10
MUL, MULH, MULHSU, MULHU = 11, 12, 13, 14
DIV, DIVU, REM, REMU = 15, 16, 17, 18

ALU_OPS = {"ADD": ADD, "SUB": SUB, "SLT": SLT, "SLTU": SLTU, "AND": AND, "OR": OR, "XOR": XOR}
SHIFT_OPS = {"SLL": SLL, "SRL": SRL, "SRA": SRA}
MUL_OPS = {"MUL": MUL, "MULH": MULH, "MULHSU": MULHSU, "MULHU": MULHU}
DIV_OPS = {"DIV": DIV, "DIVU": DIVU, "REM": REM, "REMU": REMU}

BYTE_AND, BYTE_OR, BYTE_XOR, BYTE_RANGE = 1, 2, 3, 4
BYTE_OPS = {"AND": BYTE_AND, "OR": BYTE_OR, "XOR": BYTE_XOR, "RANGE": BYTE_RANGE}

BUS_ALU = "alu"
BUS_RANGE16 = "range16"
BUS_BYTES = "bytes"
