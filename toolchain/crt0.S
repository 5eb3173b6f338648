/* Guest entry point: set up the stack, zero .bss, call main(), HALT with main's return value.
 *
 * gp is not set: the compiler is invoked with linker relaxation off (the -mcpu has no +relax), so no
 * code addresses data gp-relative. */
#include "zkvm_guest.h"

    .section .text.init, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    li sp, ZKVM_STACK_TOP

    /* The loader already maps .bss as zeros; zeroing it again keeps the guest correct on any loader.
     * __bss_start/__bss_end are 16-byte aligned by link.ld, so four words per iteration. */
    la t0, __bss_start
    la t1, __bss_end
    bgeu t0, t1, 2f
1:
    sw zero, 0(t0)
    sw zero, 4(t0)
    sw zero, 8(t0)
    sw zero, 12(t0)
    addi t0, t0, 16
    bltu t0, t1, 1b
2:
    li a0, 0          /* argc */
    li a1, 0          /* argv */
    call main
    /* a0 = main's return value = exit code */
    li a7, ZKVM_ECALL_HALT
    ecall
3:
    j 3b              /* HALT never returns; never fall through into whatever follows */
    .size _start, . - _start
