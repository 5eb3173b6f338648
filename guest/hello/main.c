/* hello: greets the prover's private input.
 *
 * Input:   a name, raw bytes (at most 200; longer input is truncated to 200 bytes).
 * Journal: the ASCII bytes "Hello, " + NAME + "!".
 * Exit:    0. */
#include "zkvm_guest.h"

#define MAX_NAME 200

int main(void) {
    static char greeting[7 + MAX_NAME + 1] = "Hello, ";
    size_t n = zkvm_read(greeting + 7, MAX_NAME);
    greeting[7 + n] = '!';
    zkvm_commit(greeting, 7 + n + 1);
    return 0;
}
