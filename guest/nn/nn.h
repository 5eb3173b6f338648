/* Integer-only neural-network inference engine shared by the ML guests.
 *
 * Conventions (the TFLite integer scheme): int8 activations with a per-tensor zero point, int8 weights
 * (symmetric, per output channel), int32 bias and accumulators, requantisation by a fixed-point int32
 * multiplier and a power-of-two shift with round-to-nearest. Activations are stored channel-major (C, H, W),
 * the ONNX NCHW layout without the batch dimension, so FLATTEN moves no data.
 *
 * The model is a byte blob (format in guest/nn/README.md, writer in host/ml/blob.py). nn_validate() parses
 * all of it with bounds checks before any inference work; nn_infer() only runs a validated model. Every
 * failure is one of the NN_ERR_* codes below (equal to the EXIT_NN_* exit codes of zkvm/abi.py), never an
 * out-of-bounds access.
 *
 * Freestanding: no libc. Built for the guest it includes only zkvm_guest.h; built natively (-DNN_NATIVE,
 * for unit tests and fuzzing) it includes nn_native.h instead. */
#ifndef NN_H
#define NN_H

#include "nn_platform.h"

#define NN_MAGIC0 'Z'
#define NN_MAGIC1 'K'
#define NN_MAGIC2 'N'
#define NN_MAGIC3 'N'
#define NN_VERSION 2u      /* what the host writes */
#define NN_VERSION_MIN 1u  /* oldest blob still read (version 1 has no layer kinds above FLATTEN) */

/* Layer type tags in the blob. */
#define NN_LAYER_DENSE 1u
#define NN_LAYER_CONV2D 2u
#define NN_LAYER_RELU 3u
#define NN_LAYER_MAXPOOL 4u
#define NN_LAYER_AVGPOOL 5u
#define NN_LAYER_FLATTEN 6u
/* Version 2. */
#define NN_LAYER_LUT 7u             /* elementwise int8 -> int8 lookup table (sigmoid, tanh, leaky relu, clip) */
#define NN_LAYER_GLOBAL_AVGPOOL 8u  /* mean over H x W per channel -> (C, 1, 1) */
#define NN_LAYER_SAVE 9u            /* copy the current tensor to the stash (the skip branch of a residual) */
#define NN_LAYER_ADD 10u            /* current tensor + stash, each rescaled, requantised (residual add) */

/* Limits: they keep every size product far below 2^31 and bound the guest's memory use. */
#define NN_MAX_LAYERS 64u
#define NN_MAX_DIM 4096u        /* any single dimension (channels, height, width, features) */
#define NN_MAX_ACT (1u << 18)   /* elements of any activation tensor */
#define NN_MAX_KERNEL 16u       /* kernel height/width, stride, padding */
#define NN_MAX_OUTPUTS 1024u    /* elements of the final tensor (committed as logits) */
#define NN_MAX_BLOB (8u << 20)  /* bytes */

/* Error codes = guest exit codes (zkvm/abi.py EXIT_NN_*). */
#define NN_OK 0
#define NN_ERR_BAD_MAGIC ZKVM_EXIT_NN_BAD_MAGIC
#define NN_ERR_BAD_VERSION ZKVM_EXIT_NN_BAD_VERSION
#define NN_ERR_TRUNCATED ZKVM_EXIT_NN_TRUNCATED
#define NN_ERR_BAD_LAYER ZKVM_EXIT_NN_BAD_LAYER
#define NN_ERR_BAD_SHAPE ZKVM_EXIT_NN_BAD_SHAPE
#define NN_ERR_TOO_LARGE ZKVM_EXIT_NN_TOO_LARGE
#define NN_ERR_BAD_INPUT ZKVM_EXIT_NN_BAD_INPUT
#define NN_ERR_TRAILING ZKVM_EXIT_NN_TRAILING
#define NN_ERR_NO_MEMORY ZKVM_EXIT_NN_NO_MEMORY

typedef struct {
    uint32_t c, h, w;
} nn_shape;

/* What nn_validate() learns about a blob; everything nn_infer() and the caller need. */
typedef struct {
    const uint8_t *blob;
    uint32_t blob_len;
    uint32_t n_layers;
    nn_shape input;         /* shape of the input tensor */
    int32_t input_zp;       /* zero point of the input tensor */
    nn_shape output;        /* shape of the final tensor */
    uint32_t max_act;       /* largest activation tensor, in elements (input included) */
    uint32_t arena_bytes;   /* scratch memory nn_infer() needs */
    uint32_t version;       /* blob format version */
    uint32_t stash_max;     /* largest tensor a SAVE layer stashes, in elements (0: no SAVE) */
} nn_model;

/* Parse and check the whole blob. Returns NN_OK or an NN_ERR_* code; reads nothing outside [blob, blob+len). */
int nn_validate(const uint8_t *blob, uint32_t len, nn_model *model);

/* Size in elements of a shape. */
static inline uint32_t nn_shape_size(nn_shape s) { return s.c * s.h * s.w; }

/* Run a validated model on `input` (nn_shape_size(model->input) int8 values). `arena` must hold
 * model->arena_bytes bytes and be 4-byte aligned. The final tensor (nn_shape_size(model->output) values) is
 * copied to `output`. Returns NN_OK or an NN_ERR_* code. */
int nn_infer(const nn_model *model, const int8_t *input, int8_t *output, uint8_t *arena, uint32_t arena_len);

/* Index of the first maximum of `values[0..n)` (n >= 1). */
uint32_t nn_argmax(const int8_t *values, uint32_t n);

/* ---- the TFLite fixed-point primitives (exposed for unit tests) */
int32_t nn_sat_rounding_doubling_high_mul(int32_t a, int32_t b);
int32_t nn_rounding_divide_by_pot(int32_t x, int32_t exponent);
int32_t nn_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift);
/* The kernels' requantisation of an int32 accumulator: MultiplyByQuantizedMultiplier, + zp, clamped to
 * [act_min, act_max] (as the blob allows: mult in [0, 2^31), shift in [-31, 30], int8 zp and bounds, min <= max). */
int8_t nn_requantize(int32_t acc, int32_t mult, int32_t shift, int32_t zp, int32_t act_min, int32_t act_max);

#endif /* NN_H */
