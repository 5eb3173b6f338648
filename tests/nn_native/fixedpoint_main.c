/* Native harness for the engine's fixed-point primitives: reads "x mult shift" triples from stdin, prints
 * SRDHM(x, mult), RDBPOT(x, |shift| % 32) and MultiplyByQuantizedMultiplier(x, mult, shift) per line. */
#include <stdio.h>

#include "nn.h"

int main(void) {
    long x, m, s;
    while (scanf("%ld %ld %ld", &x, &m, &s) == 3) {
        int32_t e = (int32_t)((s < 0 ? -s : s) % 32);
        printf("%d %d %d\n", nn_sat_rounding_doubling_high_mul((int32_t)x, (int32_t)m),
               nn_rounding_divide_by_pot((int32_t)x, e),
               nn_multiply_by_quantized_multiplier((int32_t)x, (int32_t)m, (int32_t)s));
    }
    return 0;
}
