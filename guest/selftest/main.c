/* selftest: executes every RV32IM instruction (except FENCE, EBREAK and the CSR/system instructions, which
 * zkvm does not support) on edge-case operands and commits each result, so the journal is a vector the host
 * checks against the RISC-V spec (tests/test_guests.py recomputes it in Python).
 *
 * Input:   optional bytes; the "readw" group reports the raw READ_WORD results over the whole input.
 * Journal: a sequence of groups. Each group is an 8-byte name (mnemonic, zero padded), a u32 LE count N,
 *          then N u32 LE results. Groups, in order (V = the 10 operands in `V` below):
 *   R-type  add sub sll slt sltu xor srl sra or and mul mulh mulhsu mulhu div divu rem remu:
 *           op(V[i], V[j]) for i, j in 0..9 (row-major), 100 results each
 *   I-type  addi slti sltiu xori ori andi: op(V[i], imm) for imm in IMMS, i in 0..9, 60 results each
 *           slli srli srai: op(V[i], sh) for sh in SHAMTS, i in 0..9, 40 results each
 *   branch  beq bne blt bge bltu bgeu: 1 if taken else 0 for V[i], V[j] (row-major), 100 each;
 *           "bloop": iterations of a 10-step backwards-branch loop (1 result)
 *   load    lb lbu (16: offsets -8..7), lh lhu (8: offsets -8,-6,..,6), lw (4: offsets -8,-4,0,4) from
 *           base = PATTERN + 8
 *   store   sb (16 offsets x 4 words), sh (8 x 4), sw (4 x 4): the 4-word buffer (pre-filled with 0x11223344,
 *           base = buffer + 8) after storing 0xdeadbeef / 0xcafebabe / 0x89abcdef at each offset
 *   upper   lui: 4 results (imm 0, 1, 0x80000, 0xfffff); auipc: 3 results, value minus the pc (imm 0, 1, 0xfffff)
 *   jump    jal: (link - pc of the jal, 1 if a skipped instruction ran else 0); jalr: the same for a target
 *           with bit 0 set (the hardware clears it); jalr_rd: the same with rd = rs1. 2 results each
 *   x0      6 results, all 0: x0 after writes by addi, add, lw, lui, jal, mul; then sub x0-V[5] (1 more)
 *   ecall   cycles: difference of two CYCLES ecalls 4 instructions apart (1 result);
 *           readw: (a0, a1) of each READ_WORD until a short word (2 per call);
 *   commit  commitw: 8-byte name, count 3, then COMMIT_WORD of 0x44332211 with 1, 2 and 3 bytes (6 bytes).
 * Exit:    0. */
#include "zkvm_guest.h"

static const uint32_t V[10] = {0u,         1u,          0xffffffffu, 0x80000000u, 0x7fffffffu,
                               0x12345678u, 0xfedcba98u, 31u,         32u,         33u};
#define NV 10

static const uint8_t PATTERN[16] __attribute__((aligned(4))) = {
    0x80, 0x7f, 0xff, 0x01, 0x00, 0x80, 0x34, 0x12, 0xef, 0xbe, 0xad, 0xde, 0x78, 0x56, 0x34, 0x12};
static volatile uint32_t store_buf[4];

static void begin_group(const char *name, uint32_t count) {
    char tag[8] = {0};
    for (int i = 0; i < 8 && name[i]; i++) tag[i] = name[i];
    zkvm_commit(tag, 8);
    zkvm_commit_u32(count);
}

/* ---- register-register */
#define RR_GROUP(insn)                                                                  \
    do {                                                                                \
        begin_group(insn, NV * NV);                                                     \
        for (int i = 0; i < NV; i++)                                                    \
            for (int j = 0; j < NV; j++) {                                              \
                uint32_t r;                                                             \
                __asm__ volatile(insn " %0, %1, %2" : "=r"(r) : "r"(V[i]), "r"(V[j])); \
                zkvm_commit_u32(r);                                                     \
            }                                                                           \
    } while (0)

/* ---- register-immediate: the immediate must be a literal in the instruction */
#define RI_ONE(insn, imm)                                                      \
    for (int i = 0; i < NV; i++) {                                             \
        uint32_t r;                                                            \
        __asm__ volatile(insn " %0, %1, " #imm : "=r"(r) : "r"(V[i]));        \
        zkvm_commit_u32(r);                                                    \
    }
#define RI_GROUP(insn)                                                                          \
    do {                                                                                        \
        begin_group(insn, 6 * NV);                                                              \
        RI_ONE(insn, 0) RI_ONE(insn, 1) RI_ONE(insn, -1) RI_ONE(insn, 2047) RI_ONE(insn, -2048) \
        RI_ONE(insn, 1365)                                                                      \
    } while (0)
#define SHIFT_GROUP(insn)                                                             \
    do {                                                                              \
        begin_group(insn, 4 * NV);                                                    \
        RI_ONE(insn, 0) RI_ONE(insn, 1) RI_ONE(insn, 5) RI_ONE(insn, 31)              \
    } while (0)

/* ---- branches: r = 1 if taken */
#define BR_GROUP(insn)                                                           \
    do {                                                                         \
        begin_group(insn, NV * NV);                                              \
        for (int i = 0; i < NV; i++)                                             \
            for (int j = 0; j < NV; j++) {                                       \
                uint32_t r;                                                      \
                __asm__ volatile("li %0, 1\n\t" insn " %1, %2, 1f\n\t"          \
                                 "li %0, 0\n"                                    \
                                 "1:"                                            \
                                 : "=&r"(r)                                      \
                                 : "r"(V[i]), "r"(V[j]));                        \
                zkvm_commit_u32(r);                                              \
            }                                                                    \
    } while (0)

/* ---- loads from PATTERN + 8 */
#define LOAD_ONE(insn, off)                                                                   \
    {                                                                                         \
        uint32_t r;                                                                           \
        __asm__ volatile(insn " %0, " #off "(%1)" : "=r"(r) : "r"(PATTERN + 8) : "memory");  \
        zkvm_commit_u32(r);                                                                   \
    }
#define LOAD_BYTES(insn)                                                                       \
    begin_group(insn, 16);                                                                     \
    LOAD_ONE(insn, -8) LOAD_ONE(insn, -7) LOAD_ONE(insn, -6) LOAD_ONE(insn, -5)                \
    LOAD_ONE(insn, -4) LOAD_ONE(insn, -3) LOAD_ONE(insn, -2) LOAD_ONE(insn, -1)                \
    LOAD_ONE(insn, 0) LOAD_ONE(insn, 1) LOAD_ONE(insn, 2) LOAD_ONE(insn, 3)                    \
    LOAD_ONE(insn, 4) LOAD_ONE(insn, 5) LOAD_ONE(insn, 6) LOAD_ONE(insn, 7)
#define LOAD_HALVES(insn)                                                                      \
    begin_group(insn, 8);                                                                      \
    LOAD_ONE(insn, -8) LOAD_ONE(insn, -6) LOAD_ONE(insn, -4) LOAD_ONE(insn, -2)                \
    LOAD_ONE(insn, 0) LOAD_ONE(insn, 2) LOAD_ONE(insn, 4) LOAD_ONE(insn, 6)

/* ---- stores into store_buf + 8, then the whole buffer */
#define STORE_ONE(insn, value, off)                                                             \
    {                                                                                           \
        for (int k = 0; k < 4; k++) store_buf[k] = 0x11223344u;                                 \
        __asm__ volatile(insn " %0, " #off "(%1)" : : "r"(value), "r"((volatile uint8_t *)store_buf + 8) \
                         : "memory");                                                           \
        for (int k = 0; k < 4; k++) zkvm_commit_u32(store_buf[k]);                              \
    }

static void test_upper(void) {
    uint32_t r[4];
    begin_group("lui", 4);
    __asm__ volatile("lui %0, 0" : "=r"(r[0]));
    __asm__ volatile("lui %0, 1" : "=r"(r[1]));
    __asm__ volatile("lui %0, 0x80000" : "=r"(r[2]));
    __asm__ volatile("lui %0, 0xfffff" : "=r"(r[3]));
    for (int i = 0; i < 4; i++) zkvm_commit_u32(r[i]);

    begin_group("auipc", 3);
    uint32_t base;
    __asm__ volatile("auipc %1, 0\n\tauipc %0, 0\n\tsub %0, %0, %1" : "=&r"(r[0]), "=&r"(base));
    __asm__ volatile("auipc %1, 0\n\tauipc %0, 1\n\tsub %0, %0, %1" : "=&r"(r[1]), "=&r"(base));
    __asm__ volatile("auipc %1, 0\n\tauipc %0, 0xfffff\n\tsub %0, %0, %1" : "=&r"(r[2]), "=&r"(base));
    /* each auipc result is relative to the auipc before it, 4 bytes earlier: results are imm<<12 + 4 */
    for (int i = 0; i < 3; i++) zkvm_commit_u32(r[i]);
}

static void test_jumps(void) {
    uint32_t link, skipped, base;
    begin_group("jal", 2);
    __asm__ volatile(
        "li %1, 0\n\t"
        "auipc %2, 0\n\t"        /* P */
        "jal %0, 1f\n\t"         /* P+4: link = P+8 */
        "li %1, 1\n"             /* skipped */
        "1:\n\t"
        "sub %0, %0, %2"         /* = 8 */
        : "=&r"(link), "=&r"(skipped), "=&r"(base));
    zkvm_commit_u32(link - 4); /* link - pc of the jal */
    zkvm_commit_u32(skipped);

    begin_group("jalr", 2);
    uint32_t target;
    __asm__ volatile(
        "li %1, 0\n\t"
        "auipc %2, 0\n\t"        /* P */
        "addi %3, %2, 21\n\t"    /* P+4: P+21, bit 0 set on purpose */
        "jalr %0, 0(%3)\n\t"     /* P+8: jumps to (P+21) & ~1 = P+20, link = P+12 */
        "li %1, 1\n\t"           /* P+12: skipped */
        "li %1, 2\n\t"           /* P+16: skipped */
        "sub %0, %0, %2"         /* P+20: = 12 */
        : "=&r"(link), "=&r"(skipped), "=&r"(base), "=&r"(target));
    zkvm_commit_u32(link - 8); /* link - pc of the jalr */
    zkvm_commit_u32(skipped);

    begin_group("jalr_rd", 2);
    __asm__ volatile(
        "li %1, 0\n\t"
        "auipc %2, 0\n\t"        /* P */
        "addi %0, %2, 16\n\t"    /* P+4 */
        "jalr %0, 0(%0)\n\t"     /* P+8: target read before the link is written: P+16, link = P+12 */
        "li %1, 1\n\t"           /* P+12: skipped */
        "sub %0, %0, %2"         /* P+16: = 12 */
        : "=&r"(link), "=&r"(skipped), "=&r"(base));
    zkvm_commit_u32(link - 8);
    zkvm_commit_u32(skipped);
}

static void test_x0(void) {
    uint32_t r[7];
    begin_group("x0", 7);
    __asm__ volatile("addi x0, x0, 5\n\tmv %0, x0" : "=r"(r[0]));
    __asm__ volatile("add x0, %1, %2\n\tmv %0, x0" : "=r"(r[1]) : "r"(V[5]), "r"(V[6]));
    __asm__ volatile("lw x0, 0(%1)\n\tmv %0, x0" : "=r"(r[2]) : "r"(PATTERN + 4) : "memory");
    __asm__ volatile("lui x0, 0x12345\n\tmv %0, x0" : "=r"(r[3]));
    __asm__ volatile("jal x0, 1f\n1:\n\tmv %0, x0" : "=r"(r[4]));
    __asm__ volatile("mul x0, %1, %1\n\tmv %0, x0" : "=r"(r[5]) : "r"(V[5]));
    __asm__ volatile("sub %0, x0, %1" : "=r"(r[6]) : "r"(V[5]));
    for (int i = 0; i < 7; i++) zkvm_commit_u32(r[i]);
}

static void test_ecalls(void) {
    uint32_t diff;
    begin_group("cycles", 1);
    __asm__ volatile(
        "li a7, %1\n\t"
        "ecall\n\t"
        "mv t0, a0\n\t"
        "nop\n\t"
        "nop\n\t"
        "ecall\n\t"
        "sub %0, a0, t0"
        : "=r"(diff)
        : "i"(ZKVM_ECALL_CYCLES)
        : "a0", "a7", "t0", "memory");
    zkvm_commit_u32(diff);

    /* READ_WORD until a short word; the count is only known at the end, so buffer the results. */
    static uint32_t results[64];
    uint32_t n = 0, count;
    do {
        uint32_t word = zkvm_read_word(&count);
        if (n + 2 <= 64) {
            results[n++] = word;
            results[n++] = count;
        }
    } while (count == 4);
    begin_group("readw", n);
    for (uint32_t i = 0; i < n; i++) zkvm_commit_u32(results[i]);

    begin_group("commitw", 3);
    zkvm_commit_word(0x44332211u, 1);
    zkvm_commit_word(0x44332211u, 2);
    zkvm_commit_word(0x44332211u, 3);
}

int main(void) {
    RR_GROUP("add"); RR_GROUP("sub"); RR_GROUP("sll"); RR_GROUP("slt"); RR_GROUP("sltu");
    RR_GROUP("xor"); RR_GROUP("srl"); RR_GROUP("sra"); RR_GROUP("or"); RR_GROUP("and");
    RR_GROUP("mul"); RR_GROUP("mulh"); RR_GROUP("mulhsu"); RR_GROUP("mulhu");
    RR_GROUP("div"); RR_GROUP("divu"); RR_GROUP("rem"); RR_GROUP("remu");

    RI_GROUP("addi"); RI_GROUP("slti"); RI_GROUP("sltiu"); RI_GROUP("xori"); RI_GROUP("ori"); RI_GROUP("andi");
    SHIFT_GROUP("slli"); SHIFT_GROUP("srli"); SHIFT_GROUP("srai");

    BR_GROUP("beq"); BR_GROUP("bne"); BR_GROUP("blt"); BR_GROUP("bge"); BR_GROUP("bltu"); BR_GROUP("bgeu");
    {
        uint32_t iterations;
        __asm__ volatile("li t0, 10\n\tli %0, 0\n1:\n\taddi %0, %0, 1\n\taddi t0, t0, -1\n\tbnez t0, 1b"
                         : "=&r"(iterations) : : "t0");
        begin_group("bloop", 1);
        zkvm_commit_u32(iterations);
    }

    LOAD_BYTES("lb");
    LOAD_BYTES("lbu");
    LOAD_HALVES("lh");
    LOAD_HALVES("lhu");
    begin_group("lw", 4);
    LOAD_ONE("lw", -8) LOAD_ONE("lw", -4) LOAD_ONE("lw", 0) LOAD_ONE("lw", 4)

    begin_group("sb", 16 * 4);
    STORE_ONE("sb", 0xdeadbeefu, -8) STORE_ONE("sb", 0xdeadbeefu, -7) STORE_ONE("sb", 0xdeadbeefu, -6)
    STORE_ONE("sb", 0xdeadbeefu, -5) STORE_ONE("sb", 0xdeadbeefu, -4) STORE_ONE("sb", 0xdeadbeefu, -3)
    STORE_ONE("sb", 0xdeadbeefu, -2) STORE_ONE("sb", 0xdeadbeefu, -1) STORE_ONE("sb", 0xdeadbeefu, 0)
    STORE_ONE("sb", 0xdeadbeefu, 1) STORE_ONE("sb", 0xdeadbeefu, 2) STORE_ONE("sb", 0xdeadbeefu, 3)
    STORE_ONE("sb", 0xdeadbeefu, 4) STORE_ONE("sb", 0xdeadbeefu, 5) STORE_ONE("sb", 0xdeadbeefu, 6)
    STORE_ONE("sb", 0xdeadbeefu, 7)
    begin_group("sh", 8 * 4);
    STORE_ONE("sh", 0xcafebabeu, -8) STORE_ONE("sh", 0xcafebabeu, -6) STORE_ONE("sh", 0xcafebabeu, -4)
    STORE_ONE("sh", 0xcafebabeu, -2) STORE_ONE("sh", 0xcafebabeu, 0) STORE_ONE("sh", 0xcafebabeu, 2)
    STORE_ONE("sh", 0xcafebabeu, 4) STORE_ONE("sh", 0xcafebabeu, 6)
    begin_group("sw", 4 * 4);
    STORE_ONE("sw", 0x89abcdefu, -8) STORE_ONE("sw", 0x89abcdefu, -4) STORE_ONE("sw", 0x89abcdefu, 0)
    STORE_ONE("sw", 0x89abcdefu, 4)

    test_upper();
    test_jumps();
    test_x0();
    test_ecalls();
    return 0;
}
