"""The RISC-V AIR: one module per table (columns, trace fill, constraints together) and the buses linking them."""
