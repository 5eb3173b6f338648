"""zkvm: a zero-knowledge RV32IM virtual machine for proving machine-learning inference."""
