"""The prover: fixed and phase commitments (``merkle`` trees), prover randomness (``prng``), the zk masks
(``masks``) and the proving driver (``prover``). Fast field maths comes from ``zkvm.stark.backend``."""
