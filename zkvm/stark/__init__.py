"""STARK prover and verifier over BabyBear; knows nothing of RISC-V."""
