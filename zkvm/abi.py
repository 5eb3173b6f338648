"""The guest ABI: the single source of truth for the memory map, ecall numbers and exit codes.

Everything else imports this module (the interpreter's C code receives these values through its cffi
builder, the guest SDK header ``toolchain/zkvm_guest.h`` is generated from it, the circuit reads it).

Design note (deviation from DESIGN.md, on purpose): at the *machine* level every ecall touches registers
only, never memory. READ and COMMIT move one word per ecall; the SDK's ``zkvm_read(buf, len)`` and
``zkvm_commit(buf, len)`` loop over them in guest code. This keeps exactly one memory access per cycle,
so the CPU table of the circuit has a fixed width and no ecall needs a variable number of memory rows.
LOG is the only such ecall that reads a buffer; it is host debug output, is not proven, and the prover
treats it as a no-op. Accelerator ecalls (DOT_I8, SHA256, READ_BUF) are the exception that touches memory:
their CPU row is still O(1) (it sends the call on the accelerator's bus), and the accelerator's own table does
the reads and writes on the same memory argument. READ_BUF is READ_WORD's bulk form: the SDK's ``zkvm_read``
uses it for whole words into an aligned buffer.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------- memory map
#: Lowest guest address that may be mapped. Page 0 stays unmapped so null dereferences trap.
MEM_START = 0x0000_1000
#: Where the linker script places .text.
TEXT_START = 0x0001_0000
#: One past the highest guest address. The stack grows down from here; the heap grows up from the end of .bss.
MEM_END = 0x0100_0000  # 16 MiB of guest memory
STACK_TOP = MEM_END
#: Bytes reserved for the stack (the linker script checks that the image leaves room for it).
STACK_SIZE = 0x0010_0000  # 1 MiB
#: Addresses are < 2^24, so an address always fits in one BabyBear element and in two 16-bit limbs.
WORD_BYTES = 4

# ---------------------------------------------------------------------------------------------- ecalls (a7)
ECALL_HALT = 0  # a0 = exit code. Ends execution.
ECALL_READ_WORD = 1  # a0 <- next <=4 bytes of private input (little-endian, zero padded); a1 <- how many (0..4)
ECALL_COMMIT_WORD = 2  # append the low a1 bytes (1..4) of a0, little-endian, to the public journal
ECALL_LOG = 3  # a0 = buf, a1 = len: host debug output, not proven; never traps (bad buffer: nothing logged)
ECALL_CYCLES = 4  # a0 <- cycles executed so far (low 32 bits)
# a0 <- sum_{i<n} (a[i] - za) * b[i] as int32 (a, b int8): see "int8 dot product" below.
ECALL_DOT_I8 = 5
# SHA-256 compression accelerator (ecall + tables, see zkvm/circuit/sha256.py and "SHA-256" below): compresses
# a2 consecutive 64-byte blocks at a1 into the state at a0.
ECALL_SHA256 = 6
# Bulk private input (ecall + table, see zkvm/circuit/read_buf.py and "bulk input" below).
ECALL_READ_BUF = 7

ECALLS = {
    "HALT": ECALL_HALT,
    "READ_WORD": ECALL_READ_WORD,
    "COMMIT_WORD": ECALL_COMMIT_WORD,
    "LOG": ECALL_LOG,
    "CYCLES": ECALL_CYCLES,
    "DOT_I8": ECALL_DOT_I8,
    "SHA256": ECALL_SHA256,
    "READ_BUF": ECALL_READ_BUF,
}

# ---------------------------------------------------------------------------------------------- int8 dot product
# Register contract of ECALL_DOT_I8 (the ML accelerator, proven by zkvm/circuit/dot.py):
#   a0 = pointer to a (int8[n]), a1 = pointer to b (int8[n]),
#   a2 = n | (za + 128) << 16  with 0 <= n <= DOT_MAX_LEN and za in [-128, 127] (the zero point of a),
#   -> a0 = sum_{i<n} (a[i] - za) * b[i], exact (|sum| < 2^30, so it never wraps); a1, a2 unchanged.
# The pointers may have any byte alignment but the same one (a0 = a1 mod 4): each table row then reads one
# aligned word of each operand and pairs byte k with byte k. A caller with differently aligned operands
# copies the smaller one (the engine copies the activations, never the weights).
# Traps (the circuit cannot prove them either): n > DOT_MAX_LEN or the za byte out of range -> bad_ecall_arg;
# a0 != a1 mod 4 -> load_misaligned (value a1); a pointer >= MEM_END, or for n > 0 a byte of [p, p + n)
# outside guest memory -> load_out_of_range (value: that pointer).
#
# Why one dot product per call and not a whole matrix-vector product: the CPU row of the call is O(1) either
# way, but the table must read its operands through the memory argument at timestamps of its own inside the
# call, and the CPU gives each cycle 4 timestamps (4*clk + slot). One dot product reads every word once per
# operand (a at 4*clk, b at 4*clk + 1, a2 at 4*clk), so it fits; a matrix-vector product reads the vector once
# per matrix row, i.e. the same cells at unboundedly many timestamps, which would need a second timestamp
# space for accelerators (or the vector committed once per call in the table, a second argument). The price
# of a call per output is a few guest instructions per dot product (setting a0..a2), <1% of its n/4 rows.
# The zero point of a is part of the call because the engine's activations are centred (x - zp), which does
# not fit int8; sum (a - za) * b keeps the operands bytes and costs the table nothing extra per row.
DOT_MAX_LEN = (1 << 15) - 1
DOT_ZP_SHIFT = 16

# ---------------------------------------------------------------------------------------------- SHA-256
# Register contract of ECALL_SHA256 (proven by zkvm/circuit/sha256.py):
#   a0 = state pointer (8 u32 words, H0..H7 as numbers, updated in place), a1 = pointer to the first block,
#   a2 = n, the number of consecutive 64-byte blocks [a1, a1 + 64n) to compress, 1 <= n <= SHA256_MAX_BLOCKS
#   -> state = compress(...compress(compress(state, block 0), block 1)..., block n - 1); registers unchanged.
# Traps (checked before anything is written; the circuit cannot prove them either): n = 0 or n >
# SHA256_MAX_BLOCKS -> bad_ecall_arg (value a2); a pointer not 4-aligned -> sha_misaligned; the state
# [a0, a0 + 32) or the blocks [a1, a1 + 64n) not inside guest memory -> sha_out_of_range; the state in the
# program text -> sha_state_in_text; the state overlapping the blocks -> sha_overlap.
# Why several blocks per call: with one block per call the guest's loop around the ecall costs ~5-8 CPU cycles
# a block, which for a private model's ~1,600-block blob pushed the CPU table of model B past a power of two.
# Now a whole buffer is one CPU row. The chaining (state out of block i = state in of block i + 1) is a
# constraint between consecutive rows of the sha256_block table, so only the first block's state is read and
# only the last block's is written through the memory argument; every block word is read once, all at the
# ecall's timestamp 4·clk + 2 (distinct cells, so one timestamp serves them all). The count is a register the
# table reads itself (at the same timestamp; the CPU row of an ecall touches only a7, a0 and a1), so the CPU
# row stays as it was. Why the bound: n is a2's low 16-bit limb (the table pins the high limb to zero), which
# is 4 MiB a call; the SDK loops over larger buffers.
SHA256_MAX_BLOCKS = (1 << 16) - 1

# ---------------------------------------------------------------------------------------------- bulk input
# Register contract of ECALL_READ_BUF (proven by zkvm/circuit/read_buf.py):
#   a0 = destination pointer (4-aligned), a1 = n words, 0 <= n <= READ_BUF_MAX_WORDS
#   -> words dst[0..n) = the next min(4n, left) private-input bytes, little-endian, zero filled after them
#      (every one of the n words is written, also past the end of the input); a0 <- bytes copied; a1 unchanged.
# Exactly what n READ_WORD calls, each followed by a store of a0 to the next word, leave in memory: a short
# call (a0 < 4n) reached the end of the input, and every later READ_WORD / READ_BUF returns 0 bytes.
# Traps (checked before any byte is written; the circuit cannot prove them either): n > READ_BUF_MAX_WORDS ->
# bad_ecall_arg (value n); a0 not 4-aligned -> store_misaligned; a0 >= MEM_END, or for n > 0 a word of
# [a0, a0 + 4n) outside guest memory -> store_out_of_range; for n > 0 a word in the program text ->
# store_to_text (value: a0).
# Why: a private model's blob is ~100 KB; READ_WORD plus the guest's store costs ~4.5 CPU cycles a word,
# which was most of a private run. Here the call is one CPU row and the table one narrow row per word.
# Why the bound: 4n bytes must fit the 16-bit limb the CPU writes to a0 (one range check, as for READ_WORD);
# larger reads are a loop of calls (a few cycles per 64 KiB).
READ_BUF_MAX_WORDS = (1 << 14) - 1

# ---------------------------------------------------------------------------------------------- exit codes
EXIT_OK = 0
#: Exit codes of the integer inference engine (guest/nn) when the model blob or input is malformed.
EXIT_NN_BAD_MAGIC = 101
EXIT_NN_BAD_VERSION = 102
EXIT_NN_TRUNCATED = 103
EXIT_NN_BAD_LAYER = 104
EXIT_NN_BAD_SHAPE = 105
EXIT_NN_TOO_LARGE = 106
EXIT_NN_BAD_INPUT = 107
EXIT_NN_TRAILING = 108  # bytes left over after the last layer of a model blob
EXIT_NN_NO_MEMORY = 109  # the guest heap cannot hold the model's activations

EXIT_CODES = {
    "OK": EXIT_OK,
    "NN_BAD_MAGIC": EXIT_NN_BAD_MAGIC,
    "NN_BAD_VERSION": EXIT_NN_BAD_VERSION,
    "NN_TRUNCATED": EXIT_NN_TRUNCATED,
    "NN_BAD_LAYER": EXIT_NN_BAD_LAYER,
    "NN_BAD_SHAPE": EXIT_NN_BAD_SHAPE,
    "NN_TOO_LARGE": EXIT_NN_TOO_LARGE,
    "NN_BAD_INPUT": EXIT_NN_BAD_INPUT,
    "NN_TRAILING": EXIT_NN_TRAILING,
    "NN_NO_MEMORY": EXIT_NN_NO_MEMORY,
}

# ---------------------------------------------------------------------------------------------- limits
#: Default cycle limit for `host run` (overridable with --max-cycles).
DEFAULT_MAX_CYCLES = 1 << 31
#: Longest run one proof covers: the CPU table has at most 2^22 rows, one cycle short of full, so that memory
#: timestamps 4·clk + slot stay below the 2^24 range check (zkvm/circuit/cpu.py, memory.py). `run --prove`
#: stops recording here (a longer run would be recorded at ~44 B/cycle and then refused).
MAX_PROVE_CYCLES = (1 << 22) - 1
#: Longer runs are proven in segments of 2^k cycles (continuations, zkvm/circuit/segments.py): k defaults to
#: DEFAULT_SEGMENT_PO2 (one segment proves within ~2.5 GB with zk), and a run may take at most this many
#: cycles (global memory timestamps stay below 2^29).
DEFAULT_SEGMENT_PO2 = 18
MAX_SEGMENTED_PROVE_CYCLES = 1 << 26
#: Largest image: initialised words (the file bytes of all loadable segments, in words; zero-initialised
#: memory such as .bss is not part of the image and costs nothing) ...
MAX_IMAGE_WORDS = 1 << 19  # 2 MiB
#: ... of which at most this many lie in executable segments. The image id commits the image and the decoded
#: program as fixed columns (extended 16x): these bounds keep `image-id` / `verify --elf` of the largest
#: image near 1 GB (a 128-byte ELF with a 14 MiB .bss: ~90 MB).
MAX_PROGRAM_WORDS = 1 << 16  # 256 KiB of text (real guests: ~20 KiB)
#: Largest private input the host accepts.
MAX_INPUT_BYTES = 1 << 26
