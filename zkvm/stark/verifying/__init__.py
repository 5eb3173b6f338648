"""Everything the verifier runs: proof options, the proof format and its shape, the transcript and the
Fiat-Shamir schedule both sides follow (``schedule``), the statement and layouts both sides compute
(``protocol``), LogUp, FRI, Merkle paths, the zk plan, the blinding gadget and the verifier itself.
Pure Python + numpy + hashlib: nothing here imports ``zkvm.stark.proving``, ``zkvm.stark.backend`` or any
compiled extension (tests/soundness: a fresh process that verifies loads none)."""
