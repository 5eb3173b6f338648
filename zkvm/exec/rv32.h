/* RV32IM interpreter: public interface.
 *
 * The program (the executable ranges of the image) is decoded once into a flat table of pre-decoded
 * instructions; a machine (registers, guest memory, input/journal/log buffers) runs over that table in
 * one of two modes: rv32_run (fastest) or rv32_record (also appends one rv32_rec per executed
 * instruction for the prover). Guest constants (MEM_START, MEM_END, ecall numbers) come from
 * zkvm/abi.py as -D macros set by build_exec.py; this header never repeats them.
 *
 * The block between the CDEF markers is also fed to cffi (build_exec.py extracts it), so it must stay
 * plain C declarations: no preprocessor lines inside it.
 */
#ifndef ZKVM_RV32_H
#define ZKVM_RV32_H

#include <stdint.h>

/* CDEF BEGIN */
/* What rv32_run / rv32_record return. */
enum rv32_status {
    RV32_HALTED = 0,   /* the guest executed HALT; exit_code is set */
    RV32_TRAPPED = 1,  /* the guest trapped; trap_cause, trap_pc, trap_insn, trap_value are set */
    RV32_NO_MEMORY = 2 /* the host could not allocate (record buffer, journal growth) */
};

/* Trap causes. The Python wrapper turns RV32_CAUSE_FOO into GuestError("foo", ...). */
enum rv32_cause {
    RV32_CAUSE_NONE = 0,
    RV32_CAUSE_ILLEGAL_INSTRUCTION = 1, /* not a valid RV32IM encoding (trap_value = the word) */
    RV32_CAUSE_PC_MISALIGNED = 2,       /* jump to a target that is not 4-aligned: trap_pc = the jump, which did
                                           not complete (rd unchanged); trap_value = the target */
    RV32_CAUSE_PC_OUT_OF_RANGE = 3,     /* fetch where there is no code: trap_pc = trap_value = that pc (a jump
                                           there retired first: rd written, cycle counted) */
    RV32_CAUSE_LOAD_MISALIGNED = 4,     /* trap_value = address */
    RV32_CAUSE_LOAD_OUT_OF_RANGE = 5,   /* trap_value = address */
    RV32_CAUSE_STORE_MISALIGNED = 6,    /* trap_value = address */
    RV32_CAUSE_STORE_OUT_OF_RANGE = 7,  /* trap_value = address */
    RV32_CAUSE_STORE_TO_TEXT = 8,       /* self-modifying code is not supported (trap_value = address) */
    RV32_CAUSE_EBREAK = 9,
    RV32_CAUSE_BAD_ECALL = 10,          /* unknown call number in a7 (trap_value = a7) */
    RV32_CAUSE_BAD_ECALL_ARG = 11,      /* e.g. COMMIT_WORD length not in 1..4 (trap_value = a1) */
    RV32_CAUSE_JOURNAL_OVERFLOW = 12,   /* journal would exceed max_journal (trap_value = its length) */
    RV32_CAUSE_LOG_OUT_OF_RANGE = 13,   /* unused: LOG never traps (it is not proven) */
    RV32_CAUSE_CYCLE_LIMIT = 14,        /* max_cycles executed without HALT (pc = next instruction) */
    /* SHA256 ecall (trap_value = the offending pointer: a0 = state, a1 = block) */
    RV32_CAUSE_SHA_MISALIGNED = 20,     /* a pointer not 4-aligned */
    RV32_CAUSE_SHA_OUT_OF_RANGE = 21,   /* state [a0, a0+32) or blocks [a1, a1+64·a2) not inside guest memory */
    RV32_CAUSE_SHA_STATE_IN_TEXT = 22,  /* the state (written) overlaps the program text */
    RV32_CAUSE_SHA_OVERLAP = 23         /* state and blocks overlap (trap_value = a0) */
};

/* One pre-decoded instruction (16 bytes). rd == 32 is a sink register: writes to x0 (and instructions
 * without a destination) go there, so no handler tests for rd == 0. */
typedef struct {
    const void *handler; /* run mode's handler address (direct threading), filled on the first run */
    int32_t imm;         /* immediate; for LUI/AUIPC the final value; for branches/JAL the offset in entries */
    uint8_t op, rd, rs1, rs2;
} rv32_dec;

typedef struct {
    uint32_t base;     /* pc of entry 0 */
    uint32_t n;        /* number of words covered; entry n is a sentinel that traps */
    rv32_dec *code;    /* n + 1 entries */
    uint32_t *raw;     /* n + 1 raw instruction words (for records and trap reports) */
    uint32_t *run_len; /* instructions from entry i to the end of its straight-line run (control transfer,
                        * ecall or trap), inclusive: run mode charges the cycle budget once per run */
    int threaded;      /* handler fields filled */
} rv32_program;

/* Words per SHA256 log entry: cycle index, state in (8), block words as in memory (16), state out (8). */
enum rv32_sha_log { RV32_SHA_LOG_WORDS = 33 };

/* One record per executed instruction. Field order and meaning: zkvm/exec/record.py (checked at import). */
typedef struct {
    uint32_t pc, insn, next_pc, rs1_val, rs2_val, rd_val, mem_addr, mem_before, mem_after, a1_val, a7_val;
} rv32_rec;

typedef struct {
    uint32_t regs[33];         /* x0..x31, then the sink (ignored) */
    uint32_t pc;
    uint64_t cycles;           /* instructions executed so far */
    uint64_t max_cycles;       /* trap with CYCLE_LIMIT instead of executing instruction max_cycles + 1 */
    uint8_t *mem;              /* guest memory [MEM_START, MEM_END), owned */
    const rv32_program *prog;
    /* private input (borrowed; the caller keeps it alive during a run) */
    const uint8_t *input;
    uint64_t input_len, input_pos;
    /* public journal: grows by doubling, never beyond journal_max bytes */
    uint8_t *journal;
    uint64_t journal_len, journal_cap, journal_max;
    /* debug log: bytes beyond log_max are dropped and log_truncated is set */
    uint8_t *log;
    uint64_t log_len, log_cap, log_max;
    int log_truncated;
    uint32_t exit_code;
    /* last trap */
    uint32_t trap_cause, trap_pc, trap_insn, trap_value;
    /* record buffer (record mode): rec_len rows used of rec_cap (rec_bytes allocated); grows by doubling */
    rv32_rec *rec;
    uint64_t rec_len, rec_cap, rec_bytes;
    /* record mode: one SHA_LOG_WORDS entry per block a SHA256 ecall compressed (cycle index, state in, block,
     * state out); a call's entries are consecutive */
    uint8_t *sha_log;
    uint64_t sha_log_len, sha_log_cap; /* bytes */
    int recording;
} rv32_machine;

uint32_t rv32_mem_start(void);
uint32_t rv32_mem_end(void);

/* Decode words[0..n) (program words at base, base + 4, ...); is_exec[i] == 0 marks holes that trap when
 * fetched. Returns NULL when out of memory or base is not 4-aligned. */
rv32_program *rv32_program_new(uint32_t base, const uint32_t *words, const uint8_t *is_exec, uint32_t n);
void rv32_program_free(rv32_program *p);

/* A fresh machine: zeroed registers and memory, pc = 0 (set it), no limits set. NULL on no memory. */
rv32_machine *rv32_machine_new(const rv32_program *p);
void rv32_machine_free(rv32_machine *m);
/* Copy len bytes to guest address addr. Returns 0, or -1 when [addr, addr + len) is not guest memory. */
int rv32_load(rv32_machine *m, uint32_t addr, const uint8_t *data, uint64_t len);

int rv32_run(rv32_machine *m);
int rv32_record(rv32_machine *m);
/* Detach the record buffer (rec_len rows used, *bytes allocated) from the machine; the caller releases it
 * with rv32_free_records(r, *bytes). */
rv32_rec *rv32_take_records(rv32_machine *m, uint64_t *bytes);
void rv32_free_records(rv32_rec *r, uint64_t bytes);
/* Give the kept (last freed) record buffer back to the system. */
void rv32_release_cached_records(void);
/* CDEF END */

#endif
