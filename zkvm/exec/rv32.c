/* RV32IM interpreter. Decoding happens once (rv32_program_new); execution (rv32_loop.h, instantiated
 * three times at the end of this file: fast run, careful run, record) dispatches over the pre-decoded
 * table with computed goto (a switch where GCC extensions are unavailable).
 *
 * Checks, and why they are where they are:
 *  - branch/JAL targets are constant, so they are checked while decoding: a bad target becomes a
 *    FARJUMP entry that traps when taken. JALR targets are checked when executed.
 *  - every load/store checks range and natural alignment with one compare (rotate trick below);
 *    stores also refuse the text range, since the table was decoded from it (no self-modifying code).
 *  - falling off the end of the text, or into a non-executable hole, reaches a FETCH_FAULT entry.
 *
 * Jumps to bad targets (JAL, JALR, taken branches) follow RISC-V, the same in run and record modes:
 *  - a target that is not 4-byte aligned traps AT THE JUMP (pc_misaligned, trap_pc = the jump's pc,
 *    trap_value = the target): the jump does not retire - rd unchanged, no cycle, no record row;
 *  - an aligned target without code (outside the text, or in a hole) lets the jump retire - rd written,
 *    one cycle, one record row with next_pc = target - and the fetch at the target traps
 *    (pc_out_of_range, trap_pc = the target), exactly like falling off the end of the text.
 *  A trapping run is never proven, so the circuit needs no trap semantics (program.BAD_TARGET).
 */
#define _GNU_SOURCE /* mremap */
#include "rv32.h"
#include "sha256_k.h" /* zkvm/stark/native: one copy of the round constants */

#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the interpreter reads guest words with host loads; it needs a little-endian host"
#endif
#if !defined(MEM_START) || !defined(MEM_END) || !defined(ECALL_HALT) || !defined(ECALL_READ_WORD) || \
    !defined(ECALL_COMMIT_WORD) || !defined(ECALL_LOG) || !defined(ECALL_CYCLES) || !defined(ECALL_DOT_I8) || \
    !defined(DOT_MAX_LEN) || !defined(DOT_ZP_SHIFT) || !defined(ECALL_SHA256) || !defined(ECALL_READ_BUF) || !defined(SHA256_MAX_BLOCKS) || \
    !defined(READ_BUF_MAX_WORDS)
#error "guest ABI constants come from zkvm/abi.py via build_exec.py"
#endif

#define MEM_SIZE ((uint32_t)(MEM_END - MEM_START))
#define SINK 32
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

_Static_assert(MEM_START % 4 == 0 && MEM_END % 4 == 0 && MEM_START < MEM_END, "word-aligned guest memory");
_Static_assert(sizeof(rv32_dec) == 16, "decoded entries stay 16 bytes");

enum {
    OP_LUI, /* also AUIPC: pc + imm is a constant after decoding */
    OP_JAL, OP_JALR,
    OP_BEQ, OP_BNE, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU,
    OP_LB, OP_LH, OP_LW, OP_LBU, OP_LHU, OP_SB, OP_SH, OP_SW,
    OP_ADDI, OP_SLTI, OP_SLTIU, OP_XORI, OP_ORI, OP_ANDI, OP_SLLI, OP_SRLI, OP_SRAI,
    OP_ADD, OP_SUB, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_SRA, OP_OR, OP_AND,
    OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU, OP_DIV, OP_DIVU, OP_REM, OP_REMU,
    OP_FENCE, OP_ECALL, OP_EBREAK, OP_ILLEGAL,
    OP_FARJUMP,     /* branch/JAL whose constant target is misaligned or outside the table */
    OP_FETCH_FAULT, /* not executable: hole between exec ranges, or past the end */
    OP_COUNT
};

uint32_t rv32_mem_start(void) { return MEM_START; }
uint32_t rv32_mem_end(void) { return MEM_END; }

/* ------------------------------------------------------------------------------------------ decoding */

static int32_t imm_i(uint32_t w) { return (int32_t)w >> 20; }
static int32_t imm_s(uint32_t w) { return (int32_t)(w & 0xfe000000u) >> 20 | (int32_t)((w >> 7) & 0x1f); }
static int32_t imm_b(uint32_t w) {
    return (int32_t)(w & 0x80000000u) >> 19 | (int32_t)((w & 0x80) << 4) | (int32_t)((w >> 20) & 0x7e0) |
           (int32_t)((w >> 7) & 0x1e);
}
static int32_t imm_j(uint32_t w) {
    return (int32_t)(w & 0x80000000u) >> 11 | (int32_t)(w & 0xff000) | (int32_t)((w >> 9) & 0x800) |
           (int32_t)((w >> 20) & 0x7fe);
}

static rv32_dec decode(uint32_t w, uint32_t pc, const rv32_program *p) {
    rv32_dec d = {.op = OP_ILLEGAL, .rd = SINK, .imm = (int32_t)w};
    uint32_t rd = (w >> 7) & 31, f3 = (w >> 12) & 7, rs1 = (w >> 15) & 31, rs2 = (w >> 20) & 31, f7 = w >> 25;
    uint8_t dst = rd ? (uint8_t)rd : SINK;
    int32_t target_off;
    switch (w & 0x7f) {
    case 0x37: /* LUI */
    case 0x17: /* AUIPC */
        d.op = OP_LUI, d.rd = dst, d.imm = (int32_t)((w & 0xfffff000u) + ((w & 0x7f) == 0x17 ? pc : 0));
        return d;
    case 0x6f: /* JAL */
        d.rd = dst, target_off = imm_j(w);
        goto static_target;
    case 0x63: /* branches */
        if (f3 == 2 || f3 == 3) return d;
        d.rs1 = (uint8_t)rs1, d.rs2 = (uint8_t)rs2, target_off = imm_b(w);
    static_target: {
        uint32_t target = pc + (uint32_t)target_off;
        static const uint8_t branch_ops[8] = {OP_BEQ, OP_BNE, 0, 0, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU};
        d.op = (w & 0x7f) == 0x6f ? OP_JAL : branch_ops[f3];
        d.imm = target_off / 4;
        /* target == base + 4n is fine: the sentinel entry traps as a fetch fault there */
        if ((target & 3) || (uint64_t)(uint32_t)(target - p->base) > 4 * (uint64_t)p->n)
            d.op = OP_FARJUMP, d.imm = target_off;
        return d;
    }
    case 0x67: /* JALR */
        if (f3) return d;
        d.op = OP_JALR, d.rd = dst, d.rs1 = (uint8_t)rs1, d.imm = imm_i(w);
        return d;
    case 0x03: { /* loads */
        static const uint8_t ops[8] = {OP_LB, OP_LH, OP_LW, OP_ILLEGAL, OP_LBU, OP_LHU, OP_ILLEGAL, OP_ILLEGAL};
        if (ops[f3] == OP_ILLEGAL) return d;
        d.op = ops[f3], d.rd = dst, d.rs1 = (uint8_t)rs1, d.imm = imm_i(w);
        return d;
    }
    case 0x23: /* stores */
        if (f3 > 2) return d;
        d.op = (uint8_t)(OP_SB + f3), d.rs1 = (uint8_t)rs1, d.rs2 = (uint8_t)rs2, d.imm = imm_s(w);
        return d;
    case 0x13: { /* OP-IMM */
        static const uint8_t ops[8] = {OP_ADDI, OP_SLLI, OP_SLTI, OP_SLTIU, OP_XORI, OP_SRLI, OP_ORI, OP_ANDI};
        d.op = ops[f3], d.rd = dst, d.rs1 = (uint8_t)rs1, d.imm = imm_i(w);
        if (f3 == 1 && f7 != 0) d.op = OP_ILLEGAL;
        if (f3 == 5) {
            if (f7 == 0x20) d.op = OP_SRAI;
            else if (f7 != 0) d.op = OP_ILLEGAL;
        }
        if (f3 == 1 || f3 == 5) d.imm = (int32_t)rs2; /* shamt */
        if (d.op == OP_ILLEGAL) d.rd = SINK, d.rs1 = 0, d.imm = (int32_t)w;
        return d;
    }
    case 0x33: { /* OP */
        static const uint8_t base_ops[8] = {OP_ADD, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_OR, OP_AND};
        static const uint8_t m_ops[8] = {OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU, OP_DIV, OP_DIVU, OP_REM, OP_REMU};
        if (f7 == 0) d.op = base_ops[f3];
        else if (f7 == 1) d.op = m_ops[f3];
        else if (f7 == 0x20 && f3 == 0) d.op = OP_SUB;
        else if (f7 == 0x20 && f3 == 5) d.op = OP_SRA;
        else return d;
        d.rd = dst, d.rs1 = (uint8_t)rs1, d.rs2 = (uint8_t)rs2, d.imm = 0;
        return d;
    }
    case 0x0f: /* FENCE (any variant of funct3 = 0) is a no-op on a single hart; FENCE.I is not supported */
        if (f3 == 0) d.op = OP_FENCE;
        return d;
    case 0x73:
        if (w == 0x00000073u) d.op = OP_ECALL, d.rs1 = 10, d.rs2 = 11; /* reads a0, a1 (recorded) */
        else if (w == 0x00100073u) d.op = OP_EBREAK;
        return d;
    default:
        return d;
    }
}

/* Instructions after which execution may not continue at the next entry. */
static int ends_run(uint8_t op) {
    switch (op) {
    case OP_JAL: case OP_JALR: case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
    case OP_FARJUMP: case OP_ECALL: case OP_EBREAK: case OP_ILLEGAL: case OP_FETCH_FAULT:
        return 1;
    default:
        return 0;
    }
}

rv32_program *rv32_program_new(uint32_t base, const uint32_t *words, const uint8_t *is_exec, uint32_t n) {
    if (base & 3 || (uint64_t)base + 4 * (uint64_t)n > 0x100000000ull) return NULL;
    rv32_program *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->base = base, p->n = n;
    p->code = malloc(((size_t)n + 1) * sizeof *p->code);
    p->raw = malloc(((size_t)n + 1) * sizeof *p->raw);
    p->run_len = malloc(((size_t)n + 1) * sizeof *p->run_len);
    if (!p->code || !p->raw || !p->run_len) {
        rv32_program_free(p);
        return NULL;
    }
    for (uint32_t i = 0; i <= n; i++) {
        rv32_dec fault = {.op = OP_FETCH_FAULT, .rd = SINK};
        int ok = i < n && is_exec[i];
        p->raw[i] = ok ? words[i] : 0;
        p->code[i] = ok ? decode(words[i], base + 4 * i, p) : fault;
    }
    for (uint32_t i = n + 1; i-- > 0;) {
        p->run_len[i] = i == n || ends_run(p->code[i].op) ? 1 : 1 + p->run_len[i + 1];
    }
    return p;
}

void rv32_program_free(rv32_program *p) {
    if (!p) return;
    free(p->code);
    free(p->raw);
    free(p->run_len);
    free(p);
}

/* ------------------------------------------------------------------------------------------ machine */

rv32_machine *rv32_machine_new(const rv32_program *p) {
    rv32_machine *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->mem = calloc(1, MEM_SIZE); /* lazily zeroed pages: untouched memory costs nothing */
    if (!m->mem) {
        free(m);
        return NULL;
    }
    m->prog = p;
    return m;
}

void rv32_machine_free(rv32_machine *m) {
    if (!m) return;
    free(m->mem);
    free(m->journal);
    free(m->log);
    free(m->sha_log);
    rv32_free_records(m->rec, m->rec_bytes);
    free(m);
}

int rv32_load(rv32_machine *m, uint32_t addr, const uint8_t *data, uint64_t len) {
    if (addr < MEM_START || addr > MEM_END || len > (uint64_t)(MEM_END - addr)) return -1;
    memcpy(m->mem + (addr - MEM_START), data, len);
    return 0;
}

/* Append to a buffer that doubles up to `max` bytes. Returns 0, -1 over max, -2 out of host memory. */
static int append(uint8_t **buf, uint64_t *len, uint64_t *cap, uint64_t max, const uint8_t *src, uint64_t n) {
    if (n == 0) return 0;
    if (*len + n > max) return -1;
    if (*len + n > *cap) {
        uint64_t cap2 = *cap ? *cap : 256;
        while (cap2 < *len + n) cap2 *= 2;
        if (cap2 > max) cap2 = max;
        uint8_t *b = realloc(*buf, cap2);
        if (!b) return -2;
        *buf = b, *cap = cap2;
    }
    memcpy(*buf + *len, src, n);
    *len += n;
    return 0;
}

enum { ECALL_CONTINUE, ECALL_HALTED, ECALL_TRAPPED, ECALL_NO_MEMORY };

/* ---- SHA-256 compression (FIPS 180-4, 6.2.2) for the SHA256 ecall */
#define SHA_ROR(v, s) ((v) >> (s) | (v) << (32 - (s)))

/* state: H0..H7 as numbers; block: 16 words as loaded from guest memory (little-endian), byte-swapped here */
static void sha256_compress(uint32_t state[8], const uint32_t block[16]) {
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++) w[i] = __builtin_bswap32(block[i]);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = SHA_ROR(w[i - 15], 7) ^ SHA_ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = SHA_ROR(w[i - 2], 17) ^ SHA_ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, state, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = v[7] + (SHA_ROR(v[4], 6) ^ SHA_ROR(v[4], 11) ^ SHA_ROR(v[4], 25)) +
                      ((v[4] & v[5]) ^ (~v[4] & v[6])) + ZK_SHA256_K[i] + w[i];
        uint32_t t2 = (SHA_ROR(v[0], 2) ^ SHA_ROR(v[0], 13) ^ SHA_ROR(v[0], 22)) +
                      ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof *v);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) state[i] += v[i];
}

/* The SHA256 ecall (contract: zkvm/abi.py, "SHA-256"): checks (each a named trap, mirrored by the circuit's
 * sha256 tables), then compresses the n blocks at bl into the state at st. In record mode it logs one entry
 * (cycle, state in, block, state out) per block; the entries of one call are consecutive and share the cycle. */
static int ecall_sha256(rv32_machine *m, uint32_t st, uint32_t bl, uint32_t n, uint64_t cycles) {
    const uint32_t text_lo = m->prog->base, text_hi = m->prog->base + 4 * m->prog->n;
    uint32_t cause = 0, value = 0;
    /* n <= SHA256_MAX_BLOCKS < 2^16, so 64n < 2^22 cannot overflow below */
    if (n == 0 || n > SHA256_MAX_BLOCKS) cause = RV32_CAUSE_BAD_ECALL_ARG, value = n;
    else if (st & 3 || bl & 3) cause = RV32_CAUSE_SHA_MISALIGNED, value = st & 3 ? st : bl;
    else if (st < MEM_START || st > MEM_END - 32) cause = RV32_CAUSE_SHA_OUT_OF_RANGE, value = st;
    else if (bl < MEM_START || bl > MEM_END || 64 * n > MEM_END - bl) cause = RV32_CAUSE_SHA_OUT_OF_RANGE, value = bl;
    else if (m->prog->n && st < text_hi && st + 32 > text_lo) cause = RV32_CAUSE_SHA_STATE_IN_TEXT, value = st;
    else if (st < bl + 64 * n && bl < st + 32) cause = RV32_CAUSE_SHA_OVERLAP, value = st;
    if (cause) {
        m->trap_cause = cause, m->trap_value = value;
        return ECALL_TRAPPED;
    }
    uint32_t entry[RV32_SHA_LOG_WORDS];
    uint32_t *state = entry + 1, *block = entry + 9, *out = entry + 25;
    entry[0] = (uint32_t)cycles;
    memcpy(out, m->mem + (st - MEM_START), 32);
    for (uint32_t i = 0; i < n; i++) {
        memcpy(state, out, 32);
        memcpy(block, m->mem + (bl - MEM_START) + 64 * i, 64);
        sha256_compress(out, block);
        if (m->recording &&
            append(&m->sha_log, &m->sha_log_len, &m->sha_log_cap, UINT64_MAX, (const uint8_t *)entry, sizeof entry))
            return ECALL_NO_MEMORY;
    }
    memcpy(m->mem + (st - MEM_START), out, 32);
    return ECALL_CONTINUE;
}

/* Registers only (see zkvm/abi.py), except LOG which copies a guest buffer to the host log.
 * `cycles` = instructions completed before this ecall. Outputs of the call go to *a0_out / *a1_out for
 * the record (0 when the register is not written). */
static int ecall(rv32_machine *m, uint32_t *x, uint64_t cycles, uint32_t *a0_out, uint32_t *a1_out) {
    uint32_t a0 = x[10], a1 = x[11], a7 = x[17];
    *a0_out = *a1_out = 0;
    switch (a7) {
    case ECALL_HALT:
        m->exit_code = a0;
        return ECALL_HALTED;
    case ECALL_READ_WORD: {
        uint64_t left = m->input_len - m->input_pos, n = left < 4 ? left : 4;
        uint32_t v = 0;
        for (uint64_t i = 0; i < n; i++) v |= (uint32_t)m->input[m->input_pos + i] << (8 * i);
        m->input_pos += n;
        x[10] = *a0_out = v, x[11] = *a1_out = (uint32_t)n;
        return ECALL_CONTINUE;
    }
    case ECALL_COMMIT_WORD: {
        uint8_t bytes[4] = {(uint8_t)a0, (uint8_t)(a0 >> 8), (uint8_t)(a0 >> 16), (uint8_t)(a0 >> 24)};
        if (a1 < 1 || a1 > 4) {
            m->trap_cause = RV32_CAUSE_BAD_ECALL_ARG, m->trap_value = a1;
            return ECALL_TRAPPED;
        }
        int rc = append(&m->journal, &m->journal_len, &m->journal_cap, m->journal_max, bytes, a1);
        if (rc == -1) {
            m->trap_cause = RV32_CAUSE_JOURNAL_OVERFLOW, m->trap_value = (uint32_t)m->journal_len;
            return ECALL_TRAPPED;
        }
        return rc ? ECALL_NO_MEMORY : ECALL_CONTINUE;
    }
    case ECALL_LOG: {
        /* LOG is not proven (the circuit treats it as a no-op), so it must never trap: otherwise a run the
         * interpreter ends with a trap would be provable as a clean exit. A buffer outside guest memory is
         * logged as nothing and flagged as truncated. */
        if (a0 < MEM_START || a0 > MEM_END || a1 > MEM_END - a0) {
            m->log_truncated = 1;
            return ECALL_CONTINUE;
        }
        uint64_t room = m->log_max - m->log_len, n = a1 < room ? a1 : room;
        if (n < a1) m->log_truncated = 1;
        return append(&m->log, &m->log_len, &m->log_cap, m->log_max, m->mem + (a0 - MEM_START), n) ? ECALL_NO_MEMORY
                                                                                                    : ECALL_CONTINUE;
    }
    case ECALL_CYCLES:
        x[10] = *a0_out = (uint32_t)cycles;
        return ECALL_CONTINUE;
    case ECALL_DOT_I8: { /* contract and why: zkvm/abi.py, "int8 dot product" */
        uint32_t a2 = x[12], n = a2 & 0xffffu, zz = a2 >> DOT_ZP_SHIFT;
        if (n > DOT_MAX_LEN || zz > 255) {
            m->trap_cause = RV32_CAUSE_BAD_ECALL_ARG, m->trap_value = a2;
            return ECALL_TRAPPED;
        }
        if ((a0 ^ a1) & 3) {
            m->trap_cause = RV32_CAUSE_LOAD_MISALIGNED, m->trap_value = a1;
            return ECALL_TRAPPED;
        }
        /* never a read outside guest memory: both ranges are checked before the first byte is read */
        uint32_t ptrs[2] = {a0, a1};
        for (int k = 0; k < 2; k++) {
            if (ptrs[k] >= MEM_END || (n && (ptrs[k] < MEM_START || n > MEM_END - ptrs[k]))) {
                m->trap_cause = RV32_CAUSE_LOAD_OUT_OF_RANGE, m->trap_value = ptrs[k];
                return ECALL_TRAPPED;
            }
        }
        const int8_t *pa = (const int8_t *)(m->mem + (a0 - MEM_START)), *pb = (const int8_t *)(m->mem + (a1 - MEM_START));
        int32_t za = (int32_t)zz - 128, acc = 0; /* |acc| < 2^30: no overflow */
        for (uint32_t i = 0; i < n; i++) acc += ((int32_t)pa[i] - za) * (int32_t)pb[i];
        x[10] = *a0_out = (uint32_t)acc;
        return ECALL_CONTINUE;
    }
    case ECALL_SHA256:
        return ecall_sha256(m, a0, a1, x[12], cycles);
    case ECALL_READ_BUF: { /* contract and why: zkvm/abi.py, "bulk input" */
        const uint32_t text_lo = m->prog->base, text_hi = m->prog->base + 4 * m->prog->n;
        uint32_t cause = 0, value = a0;
        /* every check before the first byte is written; 4n < 2^16 cannot overflow */
        if (a1 > READ_BUF_MAX_WORDS) cause = RV32_CAUSE_BAD_ECALL_ARG, value = a1;
        else if (a0 & 3) cause = RV32_CAUSE_STORE_MISALIGNED;
        else if (a0 >= MEM_END || (a1 && (a0 < MEM_START || 4 * a1 > MEM_END - a0))) cause = RV32_CAUSE_STORE_OUT_OF_RANGE;
        else if (a1 && m->prog->n && a0 < text_hi && a0 + 4 * a1 > text_lo) cause = RV32_CAUSE_STORE_TO_TEXT;
        if (cause) {
            m->trap_cause = cause, m->trap_value = value;
            return ECALL_TRAPPED;
        }
        uint64_t left = m->input_len - m->input_pos, want = 4 * (uint64_t)a1, n = left < want ? left : want;
        uint8_t *dst = m->mem + (a0 - MEM_START);
        if (n) memcpy(dst, m->input + m->input_pos, n);
        memset(dst + n, 0, want - n);
        /* the record's a1 slot carries the input position before the call (a1 itself is unchanged): the
         * prover rebuilds the words written from it and the consumed input (zkvm/exec/record.py) */
        *a1_out = (uint32_t)m->input_pos;
        m->input_pos += n;
        x[10] = *a0_out = (uint32_t)n;
        return ECALL_CONTINUE;
    }
    default:
        m->trap_cause = RV32_CAUSE_BAD_ECALL, m->trap_value = a7;
        return ECALL_TRAPPED;
    }
}

/* Record buffers. They are large (44 bytes a cycle) and written once front to back, so what costs is
 * fresh memory: every new page is a fault plus zeroing, and on a virtual machine the first touch of a page
 * can cost more than recording into it. Hence, on Linux: anonymous mappings grown with mremap (pages move,
 * nothing is copied), and the last freed buffer (up to REC_CACHE_MAX bytes) is kept for the next record
 * run, whose pages are then already resident. The kept buffer is marked MADV_FREE: under memory pressure
 * the kernel takes its pages back (a later reuse just faults again), otherwise reuse costs nothing.
 * Elsewhere: malloc/realloc/free. */
#ifdef __linux__
#define REC_CACHE_MAX ((uint64_t)8 << 30)
static pthread_mutex_t rec_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static void *rec_cache;
static uint64_t rec_cache_bytes;

static void *rec_resize(void *old, uint64_t old_bytes, uint64_t *bytes) {
    if (!old) {
        pthread_mutex_lock(&rec_cache_lock);
        void *cached = rec_cache;
        uint64_t cached_bytes = rec_cache_bytes;
        rec_cache = NULL, rec_cache_bytes = 0;
        pthread_mutex_unlock(&rec_cache_lock);
        if (cached) {
            if (cached_bytes >= *bytes) {
                *bytes = cached_bytes;
                return cached;
            }
            old = cached, old_bytes = cached_bytes;
        }
    }
    *bytes = (*bytes + 4095) & ~(uint64_t)4095;
    void *p = old ? mremap(old, old_bytes, *bytes, MREMAP_MAYMOVE)
                  : mmap(NULL, *bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        if (old && old_bytes != *bytes) rv32_free_records(old, old_bytes);
        return NULL;
    }
    return p;
}

void rv32_free_records(rv32_rec *r, uint64_t bytes) {
    if (!r) return;
    if (bytes <= REC_CACHE_MAX) {
#ifdef MADV_FREE
        madvise(r, bytes, MADV_FREE);
#endif
        pthread_mutex_lock(&rec_cache_lock);
        if (bytes > rec_cache_bytes) { /* keep the larger of the two */
            void *t = rec_cache;
            uint64_t tb = rec_cache_bytes;
            rec_cache = r, rec_cache_bytes = bytes;
            r = t, bytes = tb;
        }
        pthread_mutex_unlock(&rec_cache_lock);
    }
    if (r) munmap(r, bytes);
}

void rv32_release_cached_records(void) {
    pthread_mutex_lock(&rec_cache_lock);
    void *r = rec_cache;
    uint64_t bytes = rec_cache_bytes;
    rec_cache = NULL, rec_cache_bytes = 0;
    pthread_mutex_unlock(&rec_cache_lock);
    if (r) munmap(r, bytes);
}
#else
static void *rec_resize(void *old, uint64_t old_bytes, uint64_t *bytes) {
    (void)old_bytes;
    return realloc(old, *bytes);
}

void rv32_free_records(rv32_rec *r, uint64_t bytes) {
    (void)bytes;
    free(r);
}

void rv32_release_cached_records(void) {}
#endif

/* Grow the record buffer (doubling), never beyond what the cycle budget can fill. */
static int grow_records(rv32_machine *m, uint64_t remaining) {
    uint64_t rows = m->rec_cap ? 2 * m->rec_cap : (1u << 16);
    if (rows > m->rec_len + remaining + 1) rows = m->rec_len + remaining + 1;
    uint64_t bytes = rows * sizeof(rv32_rec);
    rv32_rec *r = rec_resize(m->rec, m->rec_bytes, &bytes);
    if (!r) {
        m->rec = NULL, m->rec_len = m->rec_cap = m->rec_bytes = 0;
        return -1;
    }
    m->rec = r, m->rec_bytes = bytes, m->rec_cap = bytes / sizeof(rv32_rec);
    return 0;
}

rv32_rec *rv32_take_records(rv32_machine *m, uint64_t *bytes) {
    rv32_rec *r = m->rec;
    *bytes = m->rec_bytes;
    m->rec = NULL, m->rec_len = m->rec_cap = m->rec_bytes = 0;
    return r;
}

static int branch_taken(uint32_t f3, uint32_t a, uint32_t b) {
    switch (f3) {
    case 0: return a == b;
    case 1: return a != b;
    case 4: return (int32_t)a < (int32_t)b;
    case 5: return (int32_t)a >= (int32_t)b;
    case 6: return a < b;
    default: return a >= b;
    }
}

/* Which of misaligned / out of range makes an access of `size` bytes at `addr` fail. */
static uint32_t access_fault(uint32_t addr, uint32_t size, int store) {
    if (addr & (size - 1)) return store ? RV32_CAUSE_STORE_MISALIGNED : RV32_CAUSE_LOAD_MISALIGNED;
    if (addr - MEM_START >= MEM_SIZE) return store ? RV32_CAUSE_STORE_OUT_OF_RANGE : RV32_CAUSE_LOAD_OUT_OF_RANGE;
    return RV32_CAUSE_STORE_TO_TEXT;
}

static inline uint32_t ror32(uint32_t v, int s) { return v >> s | v << (32 - s); }
static inline uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint16_t ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline void st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

#if defined(__GNUC__) && !defined(RV32_NO_COMPUTED_GOTO)
/* Direct threading: store the fast loop's handler addresses in the decoded entries, once per program.
 * Concurrent first runs of one program are serialised by the lock. */
static void thread_program(const rv32_program *cp, const void *const *labels) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    rv32_program *p = (rv32_program *)cp;
    if (__atomic_load_n(&p->threaded, __ATOMIC_ACQUIRE)) return;
    pthread_mutex_lock(&lock);
    if (!p->threaded) {
        for (uint32_t i = 0; i <= p->n; i++) p->code[i].handler = labels[p->code[i].op];
        __atomic_store_n(&p->threaded, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&lock);
}
#endif

enum { STATUS_TAIL = 100 }; /* internal: run_fast stopped where the budget ends inside a run */

/* The execution loop, three times (see rv32_loop.h). */
#define FAST 1
#define RECORD 0
#define LOOP_NAME run_fast
#include "rv32_loop.h"
#undef FAST
#undef RECORD
#undef LOOP_NAME

#define FAST 0
#define RECORD 0
#define LOOP_NAME run_careful
#include "rv32_loop.h"
#undef RECORD
#undef LOOP_NAME

#define RECORD 1
#define LOOP_NAME record_careful
#include "rv32_loop.h"
#undef FAST
#undef RECORD
#undef LOOP_NAME

int rv32_run(rv32_machine *m) {
    int status = run_fast(m);
    return status == STATUS_TAIL ? run_careful(m) : status;
}

int rv32_record(rv32_machine *m) {
    m->recording = 1;
    int status = record_careful(m);
    m->recording = 0;
    return status;
}
