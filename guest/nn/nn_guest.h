/* The program shared by every ML guest: read the request from private input, run the model, commit the
 * journal. Input stream and journal layouts are documented in guest/nn/README.md and decoded by
 * host/ml/guest_io.py. */
#ifndef NN_GUEST_H
#define NN_GUEST_H
#include "nn_platform.h"

/* Request flags (first u32 of the private input). */
#define NN_REQ_PUBLISH_INPUT 1u        /* commit the input tensor bytes */
#define NN_REQ_PUBLISH_INPUT_DIGEST 2u /* commit SHA-256 of the input tensor bytes instead */

/* Journal flags (byte 5 of the journal): which optional sections follow the header. */
#define NN_J_INPUT_BYTES 1u
#define NN_J_INPUT_DIGEST 2u
#define NN_J_MODEL_COMMITMENT 4u
#define NN_JOURNAL_VERSION 2u

/* Model commitment = SHA-256(NN_COMMIT_TAG || salt || blob), the tag and the salt 32 bytes each: together
 * one SHA-256 block, so the blob is hashed in whole blocks straight from its buffer. host/ml/commitment.py
 * computes the same value. */
#define NN_COMMIT_TAG "ZKML-MODEL-COMMITMENT-V1"
#define NN_COMMIT_TAG_BYTES 32u /* the tag's ASCII, zero-padded */
#define NN_COMMIT_SALT_BYTES 32u

/* linked_blob == NULL: private model. The salt and the blob come from the private input and the commitment
 * above goes to the journal. Otherwise: public model, linked into the guest image and bound by the image id
 * (the journal has no model section). */
__attribute__((noreturn)) void nn_guest_main(const uint8_t *linked_blob, uint32_t linked_len);
#endif
