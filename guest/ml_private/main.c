/* ML guest for private models, one image id for every model: the model blob and the owner's secret salt arrive
 * in the private input and the guest commits SHA-256(tag || salt || blob), the model owner's published
 * commitment. Nothing about the model is in the image (the fixed columns), so the STARK's zero knowledge
 * covers the weights. Request and journal layouts: guest/nn/README.md. */
#include "nn_guest.h"

int main(void) { nn_guest_main(NULL, 0); }
