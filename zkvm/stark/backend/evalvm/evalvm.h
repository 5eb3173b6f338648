/* Constraint VM: evaluates the AIR's expression DAG (compiled to a register program by
 * zkvm/stark/backend/native_eval.py) over every row of a low-degree extension, in row blocks, on all cores, and
 * accumulates the random linear combination of the constraints per kind. Also an exact base-matrix times
 * extension-vector product for the DEEP quotient. All values canonical BabyBear (uint32 < p). Functions return
 * 0 on success, negative on bad arguments or allocation failure; they never abort. */
#ifndef ZKVM_EVALVM_H
#define ZKVM_EVALVM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint32_t *base; /* element [0][0] of a row-major matrix */
    size_t row_stride;    /* elements between consecutive rows */
    size_t shift;         /* row offset (mod n_rows): 0 for the current row, blowup for the next row */
} zk_src;

enum { ZK_OP_LOAD = 0, ZK_OP_CONST = 1, ZK_OP_ADD = 2, ZK_OP_SUB = 3, ZK_OP_MUL = 4, ZK_OP_NEG = 5 };

/* prog: n_instr x 4 int32 (op, dst, a, b): LOAD dst <- srcs[a] column b; CONST dst <- (uint32)a;
 * ADD/SUB/MUL dst <- a op b; NEG dst <- -a. Registers 0..n_regs-1.
 * Rows k = 0..n_eval-1 are evaluated; LOAD reads source row (k + src.shift) mod n_rows.
 * acc: uint32[4][n_eval][4] (kinds x rows x extension coords), overwritten:
 *   acc[out_kinds[k]][row] += out_coeffs[k] (extension) * reg[out_regs[k]][row].
 * raw: uint32[n_raw][n_eval]: raw[k][row] = reg[raw_regs[k]][row]. */
int zk_eval_program(const zk_src *srcs, int n_srcs, const int32_t *prog, int n_instr, int n_regs,
                    const int32_t *out_regs, const int32_t *out_kinds, const uint32_t *out_coeffs, int n_out,
                    const int32_t *raw_regs, int n_raw, size_t n_rows, size_t n_eval, uint32_t *acc,
                    uint32_t *raw);

/* out[row][0..3] = sum_j m[row][j] * coeffs[j][0..3]  (m: n_rows x w with row stride `stride`). */
int zk_base_dot_ext(const uint32_t *m, size_t n_rows, size_t w, size_t stride, const uint32_t *coeffs,
                    uint32_t *out);

/* out[col][0..3] = sum_row m[row][col] * weights[row][0..3]  (m: n_rows x w row-major, weights plain). */
int zk_weighted_col_sums(const uint32_t *m, size_t n_rows, size_t w, const uint32_t *weights, uint32_t *out);

/* Smallest nonce with SHA256(prefix || le64(nonce)) having `bits` leading zero bits; -1 if none < max_iter. */
int zk_grind(const uint8_t *prefix, size_t prefix_len, int bits, uint64_t max_iter, uint64_t *out);

/* out[i] = a[i] op s for extension arrays a, out (uint32[n][4]) and one extension scalar s:
 * op 0: a*s, 1: a+s, 2: a-s, 3: s-a. out may alias a. */
int zk_ext_scalar_op(uint32_t *out, const uint32_t *a, const uint32_t s[4], size_t n, int op);

/* Adds the LogUp constraints of a table (logup.py: one per group, then the running sum's first / transition /
 * last) times their combination coefficients lam[n_groups + 3][4] into acc (layout of zk_eval_program).
 * raw[n_raw][n_eval]: tuple values then multiplicity of each interaction, as the VM returns them.
 * its[n_its][4]: (raw offset, tuple length, sign +1/-1, bus id), grouped by group_sizes (1 or 2 each).
 * aux: the aux LDE (row stride aux_stride, n_rows rows); row k reads (k + shift_cur) and (k + shift_next)
 * mod n_rows. betas[n_betas][4] = beta^0..; alpha, fin: extension scalars. */
int zk_logup_quotient(const uint32_t *raw, int n_raw, size_t n_eval, const int32_t *its, int n_its,
                      const int32_t *group_sizes, int n_groups, const uint32_t *aux, size_t aux_stride,
                      size_t n_rows, size_t shift_cur, size_t shift_next, const uint32_t *alpha,
                      const uint32_t *betas, int n_betas, const uint32_t *fin, const uint32_t *lam,
                      uint32_t *acc);

/* The LogUp h columns on the trace rows (layout as zk_logup_quotient; raw[n_raw][n] from the VM run on the
 * trace): out[n][4·n_groups], h_g = sum sign·m/d over the group. Returns -3 (and *bad_it = the interaction)
 * when a denominator vanishes. */
int zk_logup_aux(const uint32_t *raw, int n_raw, size_t n, const int32_t *its, int n_its, const int32_t *group_sizes,
                 int n_groups, const uint32_t *alpha, const uint32_t *betas, int n_betas, uint32_t *out,
                 int *bad_it);

/* One block of the quotient from the accumulators acc[4][b][4] (always, transition, first, last):
 * row k has x = x0·omega^k and Z_H = zh_period[(r0 + k) mod blow]; out[b][4] = (see prover._quotient).
 * Returns -3 if a denominator vanishes. */
int zk_quotient_finish(const uint32_t *acc, size_t b, size_t r0, uint32_t x0, uint32_t omega, uint32_t g_last,
                       const uint32_t *zh_period, size_t blow, uint32_t *out);

#endif
