/* Picks the platform layer: the guest SDK header on the zkvm, a tiny stdio shim for native unit tests. */
#ifndef NN_PLATFORM_H
#define NN_PLATFORM_H
#ifdef NN_NATIVE
#include "nn_native.h"
#else
#include "zkvm_guest.h"
#endif
#endif
