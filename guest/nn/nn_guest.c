#include "nn_guest.h"

#include "nn.h"
#include "sha256.h"

/* Exact read of a little-endian u32; exits with `code` if the input ends first. */
static uint32_t read_u32_or_exit(int code) {
    uint8_t b[4];
    if (zkvm_read(b, 4) != 4) zkvm_exit(code);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void *alloc_or_exit(uint32_t size) {
    void *p = zkvm_alloc(size);
    if (p == NULL) zkvm_exit(NN_ERR_NO_MEMORY);
    return p;
}

static void commit_u32(uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    zkvm_commit(b, 4);
}

void nn_guest_main(const uint8_t *linked_blob, uint32_t linked_len) {
    uint32_t flags = read_u32_or_exit(NN_ERR_BAD_INPUT);
    if ((flags & ~(NN_REQ_PUBLISH_INPUT | NN_REQ_PUBLISH_INPUT_DIGEST)) != 0u ||
        flags == (NN_REQ_PUBLISH_INPUT | NN_REQ_PUBLISH_INPUT_DIGEST))
        zkvm_exit(NN_ERR_BAD_INPUT);

    const uint8_t *blob = linked_blob;
    uint32_t blob_len = linked_len;
    /* First SHA-256 block of the model commitment: the domain tag, then the owner's salt. */
    uint8_t commit_head[NN_COMMIT_TAG_BYTES + NN_COMMIT_SALT_BYTES] __attribute__((aligned(4))) = NN_COMMIT_TAG;
    if (blob == NULL) {
        if (zkvm_read(commit_head + NN_COMMIT_TAG_BYTES, NN_COMMIT_SALT_BYTES) != NN_COMMIT_SALT_BYTES)
            zkvm_exit(NN_ERR_TRUNCATED);
        blob_len = read_u32_or_exit(NN_ERR_TRUNCATED);
        if (blob_len > NN_MAX_BLOB) zkvm_exit(NN_ERR_TOO_LARGE);
        uint8_t *buf = (uint8_t *)alloc_or_exit(blob_len);
        if (zkvm_read(buf, blob_len) != blob_len) zkvm_exit(NN_ERR_TRUNCATED);
        blob = buf;
    }
    nn_model model;
    int err = nn_validate(blob, blob_len, &model);
    if (err != NN_OK) zkvm_exit(err);

    uint32_t in_len = read_u32_or_exit(NN_ERR_BAD_INPUT);
    if (in_len != nn_shape_size(model.input)) zkvm_exit(NN_ERR_BAD_INPUT);
    int8_t *input = (int8_t *)alloc_or_exit(in_len);
    if (zkvm_read(input, in_len) != in_len) zkvm_exit(NN_ERR_BAD_INPUT);
    uint8_t extra;
    if (zkvm_read(&extra, 1) != 0) zkvm_exit(NN_ERR_BAD_INPUT); /* nothing may follow the input */

    uint32_t n_out = nn_shape_size(model.output);
    int8_t *logits = (int8_t *)alloc_or_exit(n_out);
    uint8_t *arena = (uint8_t *)alloc_or_exit(model.arena_bytes);
    err = nn_infer(&model, input, logits, arena, model.arena_bytes);
    if (err != NN_OK) zkvm_exit(err);
    uint32_t predicted = nn_argmax(logits, n_out);

    uint8_t jflags = 0;
    if (linked_blob == NULL) jflags |= NN_J_MODEL_COMMITMENT;
    if (flags & NN_REQ_PUBLISH_INPUT) jflags |= NN_J_INPUT_BYTES;
    if (flags & NN_REQ_PUBLISH_INPUT_DIGEST) jflags |= NN_J_INPUT_DIGEST;
    uint8_t header[8] = {'Z', 'K', 'M', 'L', NN_JOURNAL_VERSION, jflags, (uint8_t)n_out, (uint8_t)(n_out >> 8)};
    zkvm_commit(header, sizeof header);
    uint8_t digest[32];
    if (jflags & NN_J_MODEL_COMMITMENT) { /* hashed last: a malformed blob exits before paying for it */
        sha256_ctx ctx;
        sha256_init(&ctx);
        sha256_update(&ctx, commit_head, sizeof commit_head);
        sha256_update(&ctx, blob, blob_len);
        sha256_final(&ctx, digest);
        zkvm_commit(digest, 32);
    }
    if (jflags & NN_J_INPUT_BYTES) {
        commit_u32(in_len);
        zkvm_commit(input, in_len);
    }
    if (jflags & NN_J_INPUT_DIGEST) {
        sha256((const uint8_t *)input, in_len, digest);
        zkvm_commit(digest, 32);
    }
    commit_u32(predicted);
    zkvm_commit(logits, n_out);
    zkvm_exit(ZKVM_EXIT_OK);
}
