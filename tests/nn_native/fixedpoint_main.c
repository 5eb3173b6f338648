/* Native harness for the engine's fixed-point primitives: reads "x mult shift zp lo hi" from stdin, prints
 * SRDHM(x, mult), RDBPOT(x, |shift| % 32), MultiplyByQuantizedMultiplier(x, mult, shift) and the kernels'
 * requantisation nn_requantize(x, mult mod 2^31, shift, zp, lo, hi) per line. */
#include <stdio.h>

#include "nn.h"

int main(void) {
    long x, m, s, zp, lo, hi;
    while (scanf("%ld %ld %ld %ld %ld %ld", &x, &m, &s, &zp, &lo, &hi) == 6) {
        int32_t e = (int32_t)((s < 0 ? -s : s) % 32);
        printf("%d %d %d %d\n", nn_sat_rounding_doubling_high_mul((int32_t)x, (int32_t)m),
               nn_rounding_divide_by_pot((int32_t)x, e),
               nn_multiply_by_quantized_multiplier((int32_t)x, (int32_t)m, (int32_t)s),
               nn_requantize((int32_t)x, (int32_t)(m & 0x7FFFFFFF), (int32_t)s, (int32_t)zp, (int32_t)lo, (int32_t)hi));
    }
    return 0;
}
