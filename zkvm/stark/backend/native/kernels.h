/* Elementwise field kernels for the prover (base field uint32[n], extension uint32[n][4]), threaded.
 * Inputs are canonical; out may alias an input. Inversions return 0, or -1 if some input was zero
 * (the output is then unspecified). */
#ifndef ZKVM_KERNELS_H
#define ZKVM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

int zk_field_selftest(void);
void zk_vec_add(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
void zk_vec_sub(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
void zk_vec_mul(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
int zk_vec_inv(uint32_t *out, const uint32_t *a, size_t n);
void zk_ext_add(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
void zk_ext_sub(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
void zk_ext_mul(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
/* out[i] = a[i] (extension) * b[i] (base) */
void zk_ext_mul_base(uint32_t *out, const uint32_t *a, const uint32_t *b, size_t n);
int zk_ext_inv(uint32_t *out, const uint32_t *a, size_t n);
/* out[col] = sum_j coeffs[j][col] * z^j in the extension, for a row-major uint32[n][w] coefficient matrix;
 * out is uint32[w][4]. */
void zk_poly_eval_ext(const uint32_t *coeffs, size_t n, size_t w, const uint32_t z[4], uint32_t *out);

/* acc[i][c] += a[i][c] * factors[i % period] (row-major uint32[rows][w]); 0, -1 bad period, -2 no memory. */
int zk_rows_fma_periodic(uint32_t *acc, const uint32_t *a, size_t rows, size_t w, const uint32_t *factors,
                         size_t period);

#endif
