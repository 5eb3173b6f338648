/* NTT / inverse NTT / coset LDE over the columns of row-major uint32[n][w] matrices (see zkvm/stark/backend/ntt.py
 * for the conventions). All return 0 on success, -1 on bad arguments, -2 when out of memory. */
#ifndef ZKVM_NTT_H
#define ZKVM_NTT_H

#include <stddef.h>
#include <stdint.h>

int zk_interpolate(const uint32_t *in, uint32_t *out, size_t n, size_t w, uint32_t shift);
int zk_evaluate(const uint32_t *coeffs, uint32_t *out, size_t n, size_t w, int log_blowup, uint32_t shift);
int zk_lde(const uint32_t *in, uint32_t *out, size_t n, size_t w, int log_blowup, uint32_t shift);
/* Polynomials with len >= n coefficients (rows) evaluated on shift * H_{n * 2^log_blowup}: one coset evaluation of
 * the first n rows plus a correction per coset block for the rest (see ntt.c). */
int zk_evaluate_wrapped(const uint32_t *coeffs, size_t len, uint32_t *out, size_t n, size_t w, int log_blowup,
                        uint32_t shift);
/* LDE of the columns of `in` (evaluations on H_n) plus (X^n - 1) * r (r: k coefficient rows of w columns). */
int zk_lde_randomised(const uint32_t *in, uint32_t *out, size_t n, size_t w, int log_blowup, uint32_t shift,
                      const uint32_t *r, size_t k);

size_t zk_ntt_set_stream_threshold(size_t bytes);
/* Free the scratch buffer kept between calls (see ntt.c). */
void zk_ntt_release_cache(void);

#endif
