/* The dispatch loop, included three times by rv32.c:
 *   FAST = 1               run_fast: run mode, the cycle budget charged once per straight-line run
 *   FAST = 0, RECORD = 0   run_careful: run mode, the budget checked before every instruction
 *   FAST = 0, RECORD = 1   rv32_record: like run_careful, and PRE()/POST() write one record row per
 *                          instruction (loads/stores fill the memory columns through MEMREC()).
 *
 * Cycle accounting: `remaining` counts down from `budget`; the instructions executed by this call are
 * budget - remaining. The careful loops take one per instruction before dispatching it. The fast loop
 * takes run_len[d] (the whole straight-line run starting at d: no instruction in it can jump away, only
 * trap) whenever it enters a run, and gives back what a trap skipped. When a run does not fit the budget,
 * the fast loop returns TAIL and run_careful finishes instruction by instruction, so the cycle-limit trap
 * lands exactly. In the fast loop, handlers are reached through the address stored in the decoded entry
 * (direct threading); the others go through the label table. */

#if defined(__GNUC__) && !defined(RV32_NO_COMPUTED_GOTO)
#define USE_GOTO 1
#else
#define USE_GOTO 0
#endif

#if FAST
#define CHARGE() ((void)0)
#define ENTER_RUN()                                                                                          \
    do {                                                                                                     \
        uint32_t len_ = run_len[d - code];                                                                   \
        if (UNLIKELY(remaining < len_)) goto tail;                                                           \
        remaining -= len_;                                                                                   \
    } while (0)
#define UNDO_CURRENT() (remaining += run_len[d - code]) /* the trapping instruction and the rest of its run */
#define JUMP() goto *d->handler
#else
#define CHARGE()                                                                                             \
    do {                                                                                                     \
        if (UNLIKELY(remaining == 0)) goto cycle_limit;                                                     \
        remaining--;                                                                                         \
    } while (0)
#define ENTER_RUN() ((void)0)
#define UNDO_CURRENT() (remaining += 1)
#define JUMP() goto *labels[d->op]
#endif

#if USE_GOTO
#define CASE(op) L_##op:
#define NEXT()                                                                                               \
    do {                                                                                                     \
        CHARGE();                                                                                            \
        PRE();                                                                                               \
        JUMP();                                                                                              \
    } while (0)
#define LOOP_BEGIN NEXT();
#define LOOP_END
#else /* portable fallback: a switch in a loop */
#define CASE(op) case op:
#define NEXT() goto top
#define LOOP_BEGIN                                                                                           \
    top:                                                                                                     \
    CHARGE();                                                                                                \
    PRE();                                                                                                   \
    switch (d->op) {
#define LOOP_END                                                                                             \
    default:                                                                                                 \
        goto illegal;                                                                                        \
        }
#endif

#if RECORD
#define PRE()                                                                                                \
    do {                                                                                                     \
        i = d;                                                                                               \
        r->pc = PC(d), r->insn = raw[d - code], r->rs1_val = x[d->rs1], r->rs2_val = x[d->rs2];              \
        r->mem_addr = r->mem_before = r->mem_after = r->a1_val = r->a7_val = 0;                             \
    } while (0)
#define CLOSE_ROW(rd_value, next)                                                                            \
    do {                                                                                                     \
        r->rd_val = (rd_value), r->next_pc = (next);                                                         \
        if (UNLIKELY(++r == rend)) {                                                                         \
            m->rec_len = (uint64_t)(r - m->rec);                                                             \
            if (grow_records(m, remaining)) goto no_memory;                                                  \
            r = m->rec + m->rec_len, rend = m->rec + m->rec_cap;                                             \
        }                                                                                                    \
    } while (0)
#define POST() CLOSE_ROW(i->rd == SINK ? 0 : x[i->rd], PC(d))
#define MEMREC(addr, before, after) (r->mem_addr = (addr), r->mem_before = (before), r->mem_after = (after))
#define RECORD_LOAD(a, off)                                                                                  \
    do {                                                                                                     \
        uint32_t w_ = ld32(mem + ((off) & ~3u));                                                             \
        MEMREC((a) & ~3u, w_, w_);                                                                           \
    } while (0)
#else
#define PRE() ((void)0)
#define POST() ((void)0)
#define MEMREC(addr, before, after) ((void)0)
#define RECORD_LOAD(a, off) ((void)0)
#endif

#define DISPATCH()                                                                                           \
    do {                                                                                                     \
        POST();                                                                                              \
        NEXT();                                                                                              \
    } while (0)
#define PC(e) (base + 4 * (uint32_t)((e) - code))
#define RD x[d->rd]
#define RS1 x[d->rs1]
#define RS2 x[d->rs2]
#define IMM ((uint32_t)d->imm)
/* natural alignment and range in one unsigned compare: a misaligned offset rotates into the top bits */
#define BAD_WORD(off) (ror32(off, 2) >= MEM_SIZE / 4)
#define BAD_HALF(off) (ror32(off, 1) >= MEM_SIZE / 2)
#define BAD_BYTE(off) ((off) >= MEM_SIZE)
#define IN_TEXT(off) ((uint32_t)((off) - text_off) < text_len)
#define LOAD(size, bad, expr)                                                                                \
    do {                                                                                                     \
        uint32_t a = RS1 + IMM, off = a - MEM_START;                                                         \
        if (UNLIKELY(bad(off))) {                                                                            \
            fault_addr = a, fault_size = size, fault_store = 0;                                              \
            goto mem_fault;                                                                                  \
        }                                                                                                    \
        RECORD_LOAD(a, off);                                                                                 \
        RD = (expr);                                                                                         \
        d++;                                                                                                 \
        DISPATCH();                                                                                          \
    } while (0)
#define STORE(size, bad, stmt)                                                                               \
    do {                                                                                                     \
        uint32_t a = RS1 + IMM, off = a - MEM_START, before = 0;                                             \
        if (UNLIKELY(bad(off) || IN_TEXT(off))) {                                                            \
            fault_addr = a, fault_size = size, fault_store = 1;                                              \
            goto mem_fault;                                                                                  \
        }                                                                                                    \
        if (RECORD) before = ld32(mem + (off & ~3u));                                                        \
        stmt;                                                                                                \
        MEMREC(a & ~3u, before, ld32(mem + (off & ~3u)));                                                    \
        (void)before;                                                                                        \
        d++;                                                                                                 \
        DISPATCH();                                                                                          \
    } while (0)
#define ALU(expr)                                                                                            \
    do {                                                                                                     \
        RD = (expr);                                                                                         \
        d++;                                                                                                 \
        DISPATCH();                                                                                          \
    } while (0)
#define BRANCH(cond)                                                                                         \
    do {                                                                                                     \
        d += (cond) ? d->imm : 1;                                                                            \
        ENTER_RUN();                                                                                         \
        DISPATCH();                                                                                          \
    } while (0)

static int LOOP_NAME(rv32_machine *m) {
    const rv32_program *p = m->prog;
    const rv32_dec *const code = p->code;
    const uint32_t base = p->base, n = p->n;
    const uint32_t text_off = base - MEM_START, text_len = 4 * n;
    uint8_t *const mem = m->mem;
    const rv32_dec *d;
    uint32_t x[33];
    uint32_t fault_addr = 0, fault_size = 0, fault_store = 0, far_pc = 0;
    int far = 0; /* execution stopped at far_pc, outside the decoded table */
    uint64_t budget = m->max_cycles > m->cycles ? m->max_cycles - m->cycles : 0, remaining = budget;
    int status;
    const uint32_t *const raw = p->raw;
#if RECORD
    const rv32_dec *i = NULL;
    rv32_rec *r, *rend;
    if (m->rec_len == m->rec_cap && grow_records(m, remaining)) return RV32_NO_MEMORY;
    r = m->rec + m->rec_len, rend = m->rec + m->rec_cap;
#endif
#if USE_GOTO
    static const void *const labels[OP_COUNT] = {
        [OP_LUI] = &&L_OP_LUI, [OP_JAL] = &&L_OP_JAL, [OP_JALR] = &&L_OP_JALR,
        [OP_BEQ] = &&L_OP_BEQ, [OP_BNE] = &&L_OP_BNE, [OP_BLT] = &&L_OP_BLT, [OP_BGE] = &&L_OP_BGE,
        [OP_BLTU] = &&L_OP_BLTU, [OP_BGEU] = &&L_OP_BGEU,
        [OP_LB] = &&L_OP_LB, [OP_LH] = &&L_OP_LH, [OP_LW] = &&L_OP_LW, [OP_LBU] = &&L_OP_LBU,
        [OP_LHU] = &&L_OP_LHU, [OP_SB] = &&L_OP_SB, [OP_SH] = &&L_OP_SH, [OP_SW] = &&L_OP_SW,
        [OP_ADDI] = &&L_OP_ADDI, [OP_SLTI] = &&L_OP_SLTI, [OP_SLTIU] = &&L_OP_SLTIU, [OP_XORI] = &&L_OP_XORI,
        [OP_ORI] = &&L_OP_ORI, [OP_ANDI] = &&L_OP_ANDI, [OP_SLLI] = &&L_OP_SLLI, [OP_SRLI] = &&L_OP_SRLI,
        [OP_SRAI] = &&L_OP_SRAI,
        [OP_ADD] = &&L_OP_ADD, [OP_SUB] = &&L_OP_SUB, [OP_SLL] = &&L_OP_SLL, [OP_SLT] = &&L_OP_SLT,
        [OP_SLTU] = &&L_OP_SLTU, [OP_XOR] = &&L_OP_XOR, [OP_SRL] = &&L_OP_SRL, [OP_SRA] = &&L_OP_SRA,
        [OP_OR] = &&L_OP_OR, [OP_AND] = &&L_OP_AND,
        [OP_MUL] = &&L_OP_MUL, [OP_MULH] = &&L_OP_MULH, [OP_MULHSU] = &&L_OP_MULHSU, [OP_MULHU] = &&L_OP_MULHU,
        [OP_DIV] = &&L_OP_DIV, [OP_DIVU] = &&L_OP_DIVU, [OP_REM] = &&L_OP_REM, [OP_REMU] = &&L_OP_REMU,
        [OP_FENCE] = &&L_OP_FENCE, [OP_ECALL] = &&L_OP_ECALL, [OP_EBREAK] = &&L_OP_EBREAK,
        [OP_ILLEGAL] = &&L_OP_ILLEGAL, [OP_FARJUMP] = &&L_OP_FARJUMP, [OP_FETCH_FAULT] = &&L_OP_FETCH_FAULT,
    };
#endif

#if FAST && USE_GOTO
    thread_program(p, labels);
#endif
#if FAST
    const uint32_t *const run_len = p->run_len;
#endif
    memcpy(x, m->regs, sizeof x);
    x[0] = 0;
    {
        uint32_t off = m->pc - base;
        if (ror32(off, 2) > n) { /* entry/resume pc outside the program */
            m->trap_cause = (m->pc & 3) ? RV32_CAUSE_PC_MISALIGNED : RV32_CAUSE_PC_OUT_OF_RANGE;
            m->trap_pc = m->pc, m->trap_insn = 0, m->trap_value = m->pc;
            return RV32_TRAPPED;
        }
        d = code + (off >> 2);
    }

    ENTER_RUN();
    LOOP_BEGIN
    CASE(OP_LUI) ALU(IMM);
    CASE(OP_JAL) {
        uint32_t link = PC(d) + 4;
        RD = link;
        d += d->imm;
        ENTER_RUN();
        DISPATCH();
    }
    CASE(OP_JALR) { /* bad targets: see "Jumps to bad targets" in rv32.c */
        uint32_t target = (RS1 + IMM) & ~1u, off = target - base;
        if (UNLIKELY(target & 3)) {
            m->trap_cause = RV32_CAUSE_PC_MISALIGNED, m->trap_value = target;
            goto trap_keep_cause;
        }
        RD = PC(d) + 4;
        if (UNLIKELY(off > 4 * n)) {
            far_pc = target;
            goto far_fetch;
        }
        d = code + (off >> 2);
        ENTER_RUN();
        DISPATCH();
    }
    CASE(OP_BEQ) BRANCH(RS1 == RS2);
    CASE(OP_BNE) BRANCH(RS1 != RS2);
    CASE(OP_BLT) BRANCH((int32_t)RS1 < (int32_t)RS2);
    CASE(OP_BGE) BRANCH((int32_t)RS1 >= (int32_t)RS2);
    CASE(OP_BLTU) BRANCH(RS1 < RS2);
    CASE(OP_BGEU) BRANCH(RS1 >= RS2);
    CASE(OP_LB) LOAD(1, BAD_BYTE, (uint32_t)(int32_t)(int8_t)mem[off]);
    CASE(OP_LH) LOAD(2, BAD_HALF, (uint32_t)(int32_t)(int16_t)ld16(mem + off));
    CASE(OP_LW) LOAD(4, BAD_WORD, ld32(mem + off));
    CASE(OP_LBU) LOAD(1, BAD_BYTE, mem[off]);
    CASE(OP_LHU) LOAD(2, BAD_HALF, ld16(mem + off));
    CASE(OP_SB) STORE(1, BAD_BYTE, mem[off] = (uint8_t)RS2);
    CASE(OP_SH) STORE(2, BAD_HALF, st16(mem + off, (uint16_t)RS2));
    CASE(OP_SW) STORE(4, BAD_WORD, st32(mem + off, RS2));
    CASE(OP_ADDI) ALU(RS1 + IMM);
    CASE(OP_SLTI) ALU((int32_t)RS1 < d->imm);
    CASE(OP_SLTIU) ALU(RS1 < IMM);
    CASE(OP_XORI) ALU(RS1 ^ IMM);
    CASE(OP_ORI) ALU(RS1 | IMM);
    CASE(OP_ANDI) ALU(RS1 & IMM);
    CASE(OP_SLLI) ALU(RS1 << IMM);
    CASE(OP_SRLI) ALU(RS1 >> IMM);
    CASE(OP_SRAI) ALU((uint32_t)((int32_t)RS1 >> IMM));
    CASE(OP_ADD) ALU(RS1 + RS2);
    CASE(OP_SUB) ALU(RS1 - RS2);
    CASE(OP_SLL) ALU(RS1 << (RS2 & 31));
    CASE(OP_SLT) ALU((int32_t)RS1 < (int32_t)RS2);
    CASE(OP_SLTU) ALU(RS1 < RS2);
    CASE(OP_XOR) ALU(RS1 ^ RS2);
    CASE(OP_SRL) ALU(RS1 >> (RS2 & 31));
    CASE(OP_SRA) ALU((uint32_t)((int32_t)RS1 >> (RS2 & 31)));
    CASE(OP_OR) ALU(RS1 | RS2);
    CASE(OP_AND) ALU(RS1 & RS2);
    CASE(OP_MUL) ALU(RS1 * RS2);
    CASE(OP_MULH) ALU((uint32_t)((int64_t)(int32_t)RS1 * (int64_t)(int32_t)RS2 >> 32));
    CASE(OP_MULHSU) ALU((uint32_t)((int64_t)(int32_t)RS1 * (int64_t)(uint64_t)RS2 >> 32));
    CASE(OP_MULHU) ALU((uint32_t)((uint64_t)RS1 * (uint64_t)RS2 >> 32));
    /* RV32M: x/0 = -1 (all ones), x%0 = x, INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0 */
    CASE(OP_DIV) {
        int32_t a = (int32_t)RS1, b = (int32_t)RS2;
        ALU(b == 0 ? 0xffffffffu : (a == INT32_MIN && b == -1) ? (uint32_t)a : (uint32_t)(a / b));
    }
    CASE(OP_DIVU) ALU(RS2 == 0 ? 0xffffffffu : RS1 / RS2);
    CASE(OP_REM) {
        int32_t a = (int32_t)RS1, b = (int32_t)RS2;
        ALU(b == 0 ? (uint32_t)a : (a == INT32_MIN && b == -1) ? 0u : (uint32_t)(a % b));
    }
    CASE(OP_REMU) ALU(RS2 == 0 ? RS1 : RS1 % RS2);
    CASE(OP_FENCE) {
        d++;
        DISPATCH();
    }
    CASE(OP_ECALL) {
        uint32_t a0_out, a1_out, a7 = x[17];
        uint64_t done = m->cycles + (budget - remaining) - 1; /* completed before this ecall */
        int e = ecall(m, x, done, &a0_out, &a1_out);
        (void)a7;
        if (e == ECALL_TRAPPED) goto trap_keep_cause;
        if (e == ECALL_NO_MEMORY) goto no_memory;
#if RECORD
        r->a7_val = a7, r->a1_val = a1_out;
        if (a7 == ECALL_DOT_I8) r->mem_before = x[12]; /* the dot product's length word (record.py) */
        CLOSE_ROW(a0_out, e == ECALL_HALTED ? PC(d) + 4 : PC(d + 1));
#endif
        if (e == ECALL_HALTED) {
            status = RV32_HALTED;
            goto out;
        }
        d++;
        ENTER_RUN();
        NEXT();
    }
    CASE(OP_EBREAK) {
        m->trap_cause = RV32_CAUSE_EBREAK, m->trap_value = 0;
        goto trap_keep_cause;
    }
    CASE(OP_FARJUMP) {
        uint32_t w = raw[d - code];
        if ((w & 0x7f) == 0x6f || branch_taken((w >> 12) & 7, RS1, RS2)) {
            uint32_t target = PC(d) + IMM;
            if (target & 3) {
                m->trap_cause = RV32_CAUSE_PC_MISALIGNED, m->trap_value = target;
                goto trap_keep_cause;
            }
            RD = PC(d) + 4; /* JAL's link (branches write the sink) */
            far_pc = target;
            goto far_fetch;
        }
        d++;
        ENTER_RUN();
        DISPATCH();
    }
    CASE(OP_FETCH_FAULT) {
        m->trap_cause = RV32_CAUSE_PC_OUT_OF_RANGE, m->trap_pc = PC(d), m->trap_insn = 0, m->trap_value = PC(d);
        UNDO_CURRENT(); /* not an instruction */
        status = RV32_TRAPPED;
        goto out;
    }
    CASE(OP_ILLEGAL) goto illegal;
    LOOP_END

illegal:
    m->trap_cause = RV32_CAUSE_ILLEGAL_INSTRUCTION, m->trap_value = p->raw[d - code];
    goto trap_keep_cause;
mem_fault:
    m->trap_cause = access_fault(fault_addr, fault_size, (int)fault_store), m->trap_value = fault_addr;
    goto trap_keep_cause;
trap_keep_cause: /* the current instruction faulted and did not complete */
    m->trap_pc = PC(d), m->trap_insn = p->raw[d - code];
    UNDO_CURRENT();
    status = RV32_TRAPPED;
    goto out;
far_fetch: /* the jump at d retired (rd written) to an aligned far_pc that holds no code: the fetch there faults */
#if RECORD
    CLOSE_ROW(i->rd == SINK ? 0 : x[i->rd], far_pc);
#endif
    far = 1, m->trap_pc = far_pc, m->trap_insn = 0;
    if (remaining == 0) { /* as for any fetch: the cycle limit comes first */
        m->trap_cause = RV32_CAUSE_CYCLE_LIMIT, m->trap_value = (uint32_t)m->max_cycles;
    } else {
        m->trap_cause = RV32_CAUSE_PC_OUT_OF_RANGE, m->trap_value = far_pc;
    }
    status = RV32_TRAPPED;
    goto out;
#if !FAST
cycle_limit:
    m->trap_cause = RV32_CAUSE_CYCLE_LIMIT, m->trap_pc = PC(d), m->trap_insn = p->raw[d - code];
    m->trap_value = (uint32_t)m->max_cycles;
    status = RV32_TRAPPED;
    goto out;
#endif
no_memory:
    status = RV32_NO_MEMORY;
    goto out;
#if FAST
tail: /* the run at d does not fit the remaining budget: run_careful takes over from d */
    status = STATUS_TAIL;
#endif
out:
    m->cycles += budget - remaining;
    m->pc = far ? far_pc : PC(d);
    x[0] = 0;
    memcpy(m->regs, x, sizeof x);
#if RECORD
    m->rec_len = (uint64_t)(r - m->rec);
#endif
    return status;
}

#undef USE_GOTO
#undef CHARGE
#undef ENTER_RUN
#undef UNDO_CURRENT
#undef JUMP
#undef CASE
#undef NEXT
#undef LOOP_BEGIN
#undef LOOP_END
#undef PRE
#undef POST
#undef CLOSE_ROW
#undef MEMREC
#undef RECORD_LOAD
#undef DISPATCH
#undef PC
#undef RD
#undef RS1
#undef RS2
#undef IMM
#undef BAD_WORD
#undef BAD_HALF
#undef BAD_BYTE
#undef IN_TEXT
#undef LOAD
#undef STORE
#undef ALU
#undef BRANCH
