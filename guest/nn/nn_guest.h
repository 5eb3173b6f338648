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
#define NN_J_MODEL_DIGEST 4u
#define NN_JOURNAL_VERSION 1u

/* linked_blob == NULL: the model blob comes from the private input and its SHA-256 is committed (public
 * model). Otherwise the blob is part of the guest image and bound by the image id (private model). */
__attribute__((noreturn)) void nn_guest_main(const uint8_t *linked_blob, uint32_t linked_len);
#endif
