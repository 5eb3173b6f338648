"""The RISC-V AIR: one module per table (columns, trace fill, constraints together) and the buses linking them.

Tables (``riscv_air.circuit()`` assembles them):

==========  =========================================  =============================================
table       rows                                       module
==========  =========================================  =============================================
cpu         one per executed instruction (+ padding)   cpu.py
program     one per decodable instruction (fixed)      program.py
regs        32 registers (fixed initial values)        memory.py
image       non-zero image words + gaps (fixed)        memory.py
zinit       zero-initialised words the run touches     memory.py
alu, shift, mul, div   one per operation of the family  alu.py, shift.py, muldiv.py (families.py)
dot         one per word pair of a DOT_I8 call (>= 1)  dot.py (the int8 dot-product accelerator)
read_buf    one per word a READ_BUF call writes (>= 1) read_buf.py (bulk private input)
range16     2^16 values, 8 a row (fixed)               range.py
bytes       2^16 byte pairs, 8 a row (fixed)           bytes.py
sha256_block   one per block a SHA256 call compresses  sha256.py (state chained row to row)
sha256_round   33 per block (two rounds a row)         sha256.py
sha256_k    32 rows of round constants (fixed)         sha256.py
==========  =========================================  =============================================

Buses (LogUp; every bus balances over all tables plus the verifier's public terms):

* ``program`` (valid, pc, decoded fields...): cpu sends, program receives -> execution follows the image;
* ``alu`` (op, a_lo, a_hi, b_lo, b_hi, c_lo, c_hi): cpu sends, the family tables receive and prove c;
* ``mem`` (space, addr, lo, hi, ts): offline memory checking of registers and memory (memory.py);
* ``gap`` (gap_lo, gap_hi): zinit rows claim a gap of the sparse image table (memory.py);
* ``range16`` (x,) and ``bytes`` (op, x, y, z): lookups into the fixed tables;
* ``dot`` (4·clk, a0 limbs, a1 limbs, result limbs): cpu sends on DOT_I8, the dot table receives each call once;
* ``read_buf`` (4·clk, a0 limbs, a1 limbs, bytes written): cpu sends on READ_BUF, read_buf receives each call once;
* ``journal`` (position, byte): cpu sends on COMMIT_WORD, the verifier receives the public journal;
* ``exit`` (lo, hi): cpu sends on HALT, the verifier receives the claimed exit code;
* ``ecall_sha256`` (clk, a0, a1): cpu sends on SHA256, sha256_block's start row receives (it reads a2, the
  block count, itself); ``sha256_init`` / ``sha256_final`` / ``sha256_k`` / ``sha256_w`` link the SHA-256 tables
  (sha256.py).

Public inputs: entry_pc, image_lo, image_hi, text_lo, text_hi — bound to the image id with the fixed-column digest.

Every table declares its columns once, as a ``columns.Columns`` class (expressions for the
constraints, named arrays for the fill, the column order that fixes the proof bytes), and reports its range /
byte lookups by evaluating its own send declarations (``lookups.report_lookups``). The CPU is a set of gadgets,
each with its constraints and its fill side by side (cpu.py). ``statement.py`` owns what a proof states: the
public terms, the seal header, the image id and the table heights a verifier accepts.
"""
