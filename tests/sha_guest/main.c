/* Test guest for the SDK's zkvm_sha256 (SHA256 ecall + guest-side padding).
 * Input: u32 count, u32 offset, count x u32 lengths, then the data bytes.
 * Journal: zkvm_sha256(data + offset, length) for every length, 32 bytes each. */
#include "zkvm_guest.h"

int main(void) {
    uint32_t count = zkvm_read_u32(), offset = zkvm_read_u32();
    uint32_t *lens = zkvm_alloc(4 * (size_t)count + 4);
    uint32_t max = 0;
    for (uint32_t i = 0; i < count; i++) {
        lens[i] = zkvm_read_u32();
        if (lens[i] > max) max = lens[i];
    }
    uint8_t *data = zkvm_alloc((size_t)max + offset + 8);
    if (!lens || !data) return 1;
    zkvm_read(data + offset, max);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t digest[32];
        zkvm_sha256(data + offset, lens[i], digest);
        zkvm_commit(digest, 32);
    }
    return 0;
}
