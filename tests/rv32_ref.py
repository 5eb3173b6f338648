"""A slow, obviously-correct RV32IM reference in Python (written from the ISA manual), for tests.

The one Python reference model of the tests (the other oracle is unicorn, unicorn_oracle.py): the instruction
semantics (``RTYPE``, ``ITYPE``, ``BRANCH``, ``load``, ``store``; values are unsigned 32-bit ints, results too),
``alu(name, a, b)`` the spec result of an R-type/I-type operation, and ``RefCpu``, which steps whole programs and
reports, per instruction, the same facts the interpreter's record holds, so a record can be replayed against it
field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zkvm import abi

MASK = 0xFFFF_FFFF


def s32(x: int) -> int:
    x &= MASK
    return x - (1 << 32) if x & 0x8000_0000 else x


def sext(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return (value - (1 << bits) if value >> (bits - 1) else value) & MASK


def _div(a: int, b: int) -> int:
    if b == 0:
        return MASK  # quotient of division by zero: all ones
    sa, sb = s32(a), s32(b)
    if sa == -(1 << 31) and sb == -1:
        return 0x8000_0000  # overflow: the dividend
    q = abs(sa) // abs(sb)  # rounds toward zero
    return (-q if (sa < 0) != (sb < 0) else q) & MASK


def _rem(a: int, b: int) -> int:
    if b == 0:
        return a  # remainder of division by zero: the dividend
    sa, sb = s32(a), s32(b)
    if sa == -(1 << 31) and sb == -1:
        return 0
    r = abs(sa) % abs(sb)  # sign follows the dividend
    return (-r if sa < 0 else r) & MASK


RTYPE = {
    "add": lambda a, b: (a + b) & MASK,
    "sub": lambda a, b: (a - b) & MASK,
    "sll": lambda a, b: (a << (b & 31)) & MASK,
    "slt": lambda a, b: int(s32(a) < s32(b)),
    "sltu": lambda a, b: int(a < b),
    "xor": lambda a, b: a ^ b,
    "srl": lambda a, b: a >> (b & 31),
    "sra": lambda a, b: (s32(a) >> (b & 31)) & MASK,
    "or": lambda a, b: a | b,
    "and": lambda a, b: a & b,
    "mul": lambda a, b: (a * b) & MASK,
    "mulh": lambda a, b: ((s32(a) * s32(b)) >> 32) & MASK,
    "mulhsu": lambda a, b: ((s32(a) * b) >> 32) & MASK,
    "mulhu": lambda a, b: (a * b) >> 32,
    "div": _div,
    "divu": lambda a, b: MASK if b == 0 else a // b,
    "rem": _rem,
    "remu": lambda a, b: a if b == 0 else a % b,
}

# I-type ALU ops: the 12-bit immediate is sign-extended, then the R-type rule applies (sltiu compares
# against the sign-extended immediate as unsigned; shifts use the 5-bit shamt).
ITYPE = {
    "addi": "add",
    "slti": "slt",
    "sltiu": "sltu",
    "xori": "xor",
    "ori": "or",
    "andi": "and",
    "slli": "sll",
    "srli": "srl",
    "srai": "sra",
}

BRANCH = {
    "beq": lambda a, b: a == b,
    "bne": lambda a, b: a != b,
    "blt": lambda a, b: s32(a) < s32(b),
    "bge": lambda a, b: s32(a) >= s32(b),
    "bltu": lambda a, b: a < b,
    "bgeu": lambda a, b: a >= b,
}


def load(memory: bytes, offset: int, kind: str) -> int:
    size = {"lb": 1, "lbu": 1, "lh": 2, "lhu": 2, "lw": 4}[kind]
    raw = int.from_bytes(memory[offset : offset + size], "little")
    return sext(raw, 8 * size) if kind in ("lb", "lh") else raw


def store(memory: bytearray, offset: int, value: int, kind: str) -> None:
    size = {"sb": 1, "sh": 2, "sw": 4}[kind]
    memory[offset : offset + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def alu(name: str, a: int, b: int) -> int:
    """Result of op `name` (R-type name; I-type uses the same with b = imm) on 32-bit a, b."""
    return RTYPE[name](a & MASK, b & MASK)


def branch_taken(name: str, a: int, b: int) -> bool:
    return BRANCH[name](a & MASK, b & MASK)


_OP = {(0, 0): "add", (0x20, 0): "sub", (0, 1): "sll", (0, 2): "slt", (0, 3): "sltu", (0, 4): "xor",
       (0, 5): "srl", (0x20, 5): "sra", (0, 6): "or", (0, 7): "and", (1, 0): "mul", (1, 1): "mulh",
       (1, 2): "mulhsu", (1, 3): "mulhu", (1, 4): "div", (1, 5): "divu", (1, 6): "rem", (1, 7): "remu"}
_OPIMM = {0: "add", 2: "slt", 3: "sltu", 4: "xor", 6: "or", 7: "and"}
_BR = {0: "beq", 1: "bne", 4: "blt", 5: "bge", 6: "bltu", 7: "bgeu"}


class RefTrap(Exception):
    pass


@dataclass
class Step:
    """What one instruction did (mirrors the record row, see zkvm/exec/record.py)."""

    pc: int
    insn: int
    next_pc: int
    rs1_val: int = 0
    rs2_val: int = 0
    rd_val: int = 0
    mem_addr: int = 0
    mem_before: int = 0
    mem_after: int = 0
    a1_val: int = 0
    a7_val: int = 0


@dataclass
class RefCpu:
    mem: dict[int, int]  # word address -> word (missing = 0)
    pc: int
    text: tuple[int, int]  # [lo, hi) executable, stores refused
    input: bytes = b""
    regs: list[int] = field(default_factory=lambda: [0] * 32)
    cycles: int = 0
    pos: int = 0
    journal: bytearray = field(default_factory=bytearray)
    exit_code: int | None = None

    def word(self, addr: int) -> int:
        return self.mem.get(addr & ~3, 0)

    def _check(self, addr: int, size: int) -> None:
        if addr % size or not abi.MEM_START <= addr < abi.MEM_END:
            raise RefTrap(f"bad access 0x{addr:08x}")

    def step(self) -> Step:
        pc, x = self.pc, self.regs
        if pc % 4 or not self.text[0] <= pc < self.text[1]:
            raise RefTrap(f"fetch 0x{pc:08x}")
        w = self.word(pc)
        opc, rd, f3 = w & 0x7F, (w >> 7) & 31, (w >> 12) & 7
        rs1, rs2, f7 = (w >> 15) & 31, (w >> 20) & 31, w >> 25
        imm_i = s32(w) >> 20
        st = Step(pc, w, (pc + 4) & MASK)
        result = None
        if opc in (0x33, 0x13, 0x03, 0x23, 0x63, 0x67):
            st.rs1_val = x[rs1]
        if opc in (0x33, 0x23, 0x63):
            st.rs2_val = x[rs2]
        if opc == 0x37:
            result = w & 0xFFFFF000
        elif opc == 0x17:
            result = (pc + (w & 0xFFFFF000)) & MASK
        elif opc == 0x6F:
            off = ((w >> 31) << 20) | (((w >> 12) & 0xFF) << 12) | (((w >> 20) & 1) << 11) | (((w >> 21) & 0x3FF) << 1)
            off -= (off >> 20) << 21
            result, st.next_pc = pc + 4, (pc + off) & MASK
        elif opc == 0x67:
            result, st.next_pc = pc + 4, (x[rs1] + imm_i) & MASK & ~1
        elif opc == 0x63:
            off = ((w >> 31) << 12) | (((w >> 7) & 1) << 11) | (((w >> 25) & 0x3F) << 5) | (((w >> 8) & 0xF) << 1)
            off -= (off >> 12) << 13
            if branch_taken(_BR[f3], x[rs1], x[rs2]):
                st.next_pc = (pc + off) & MASK
        elif opc == 0x03:
            addr = (x[rs1] + imm_i) & MASK
            size = {0: 1, 1: 2, 2: 4, 4: 1, 5: 2}[f3]
            self._check(addr, size)
            word = self.word(addr)
            v = (word >> (8 * (addr & 3))) & ((1 << (8 * size)) - 1)
            if f3 in (0, 1) and v >> (8 * size - 1):
                v -= 1 << (8 * size)
            result = v & MASK
            st.mem_addr, st.mem_before, st.mem_after = addr & ~3, word, word
        elif opc == 0x23:
            imm_s = s32(((w >> 25) << 5 | ((w >> 7) & 31)) << 20) >> 20
            addr = (x[rs1] + imm_s) & MASK
            size = 1 << f3
            self._check(addr, size)
            if self.text[0] <= addr < self.text[1]:
                raise RefTrap("store to text")
            word = self.word(addr)
            sh, m = 8 * (addr & 3), (1 << (8 * size)) - 1
            new = (word & ~(m << sh) | ((x[rs2] & m) << sh)) & MASK
            self.mem[addr & ~3] = new
            st.mem_addr, st.mem_before, st.mem_after = addr & ~3, word, new
        elif opc == 0x13:
            if f3 in (1, 5):
                result = alu({1: "sll", 5: "sra" if f7 == 0x20 else "srl"}[f3], x[rs1], rs2)
            else:
                result = alu(_OPIMM[f3], x[rs1], imm_i)
        elif opc == 0x33:
            result = alu(_OP[(f7, f3)], x[rs1], x[rs2])
        elif opc == 0x0F:
            pass
        elif w == 0x73:
            self._ecall(st)
        else:
            raise RefTrap(f"illegal 0x{w:08x}")
        if result is not None and rd:
            x[rd] = result & MASK
            st.rd_val = x[rd]
        self.pc = st.next_pc
        self.cycles += 1
        return st

    def _ecall(self, st: Step) -> None:
        x = self.regs
        st.rs1_val, st.rs2_val, st.a7_val = x[10], x[11], x[17]
        n = x[17]
        if n == abi.ECALL_HALT:
            self.exit_code = x[10]
        elif n == abi.ECALL_READ_WORD:
            chunk = self.input[self.pos : self.pos + 4]
            self.pos += len(chunk)
            x[10] = st.rd_val = int.from_bytes(chunk.ljust(4, b"\0"), "little")
            x[11] = st.a1_val = len(chunk)
        elif n == abi.ECALL_COMMIT_WORD:
            self.journal += x[10].to_bytes(4, "little")[: x[11]]
        elif n == abi.ECALL_CYCLES:
            x[10] = st.rd_val = self.cycles & MASK
        elif n == abi.ECALL_SHA256:
            sp, bp, nb = x[10], x[11], x[12]
            if not 1 <= nb <= abi.SHA256_MAX_BLOCKS:
                raise RefTrap("sha256 block count")
            if (sp | bp) & 3:
                raise RefTrap("sha256 pointer misaligned")
            state = [self.mem.get(sp + 4 * i, 0) for i in range(8)]
            for k in range(nb):
                block = b"".join(self.mem.get(bp + 64 * k + 4 * i, 0).to_bytes(4, "little") for i in range(16))
                state = list(sha256_compress(state, block))
            for i, v in enumerate(state):
                self.mem[sp + 4 * i] = v
        elif n == abi.ECALL_READ_BUF:  # n READ_WORDs, each stored to the next word (zkvm/abi.py)
            dst, words = x[10], x[11]
            if words > abi.READ_BUF_MAX_WORDS:
                raise RefTrap("read_buf length")
            if dst & 3:
                raise RefTrap("read_buf pointer misaligned")
            if words:
                if not abi.MEM_START <= dst <= abi.MEM_END - 4 * words:
                    raise RefTrap("read_buf out of range")
                if dst < self.text[1] and dst + 4 * words > self.text[0]:
                    raise RefTrap("read_buf to text")
            st.a1_val, got = self.pos, 0
            for i in range(words):
                chunk = self.input[self.pos : self.pos + 4]
                self.pos += len(chunk)
                got += len(chunk)
                self.mem[dst + 4 * i] = int.from_bytes(chunk.ljust(4, b"\0"), "little")
            x[10] = st.rd_val = got
        elif n != abi.ECALL_LOG:
            raise RefTrap(f"ecall {n}")


_SHA_K = [int(x, 16) for x in """
428a2f98 71374491 b5c0fbcf e9b5dba5 3956c25b 59f111f1 923f82a4 ab1c5ed5 d807aa98 12835b01 243185be 550c7dc3
72be5d74 80deb1fe 9bdc06a7 c19bf174 e49b69c1 efbe4786 0fc19dc6 240ca1cc 2de92c6f 4a7484aa 5cb0a9dc 76f988da
983e5152 a831c66d b00327c8 bf597fc7 c6e00bf3 d5a79147 06ca6351 14292967 27b70a85 2e1b2138 4d2c6dfc 53380d13
650a7354 766a0abb 81c2c92e 92722c85 a2bfe8a1 a81a664b c24b8b70 c76c51a3 d192e819 d6990624 f40e3585 106aa070
19a4c116 1e376c08 2748774c 34b0bcb5 391c0cb3 4ed8aa4a 5b9cca4f 682e6ff3 748f82ee 78a5636f 84c87814 8cc70208
90befffa a4506ceb bef9a3f7 c67178f2""".split()]


def sha256_compress(state: list[int], block: bytes) -> list[int]:
    """SHA-256 compression (FIPS 180-4, 6.2.2), written out independently of the interpreter's C version: the
    reference for the SHA256 ecall (state words as numbers, block as 64 message bytes)."""
    ror = lambda v, n: ((v >> n) | (v << (32 - n))) & MASK  # noqa: E731
    w = [int.from_bytes(block[4 * i:4 * i + 4], "big") for i in range(16)]
    for i in range(16, 64):
        s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3)
        s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & MASK)
    a, b, c, d, e, f, g, h = state
    for i in range(64):
        t1 = (h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + _SHA_K[i] + w[i]) & MASK
        t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) & MASK
        a, b, c, d, e, f, g, h = (t1 + t2) & MASK, a, b, c, (d + t1) & MASK, e, f, g
    return [(x + y) & MASK for x, y in zip(state, (a, b, c, d, e, f, g, h))]
