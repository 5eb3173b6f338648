"""Family tables proven for real, standalone with the range16 / bytes tables and a dummy sender: an honest
proof verifies, and a proof of a malicious trace (the checker bypassed) is rejected by the verifier.

Proving the two 2^16-row lookup tables dominates the cost, so the fast suite proves the ALU bench only, with
weak test options (security is not what is tested here); the other families run under `-m slow`."""

from __future__ import annotations

import numpy as np
import pytest

from family_harness import bench, byte_cells, get, set_row
from rv32_reference import operands
from zkvm.circuit import alu, muldiv, shift
from zkvm.circuit.opcodes import ADD, MULH, SRA, DIVU
from zkvm.errors import VerificationError
from zkvm.stark.dsl.check import check_trace
from zkvm.stark.errors import ConstraintError
from zkvm.stark.proving.prover import commit_fixed_data, prove
from zkvm.stark.verifying.options import ProofOptions
from zkvm.stark.verifying.verifier import verify

FAST = ProofOptions(log_blowup=1, num_queries=8, grinding_bits=0, log_fold_arity=2, log_final_len=1)
SEED = 11


def carry_wrap_attack() -> np.ndarray:
    """ALU trace whose ADD row claims (a + b) with 2^16·carry0 = -1 in the field (see test_carry0_boolean)."""
    ops, a, b = operands(SEED, (ADD,), 5)
    ops, a, b = ops[-5:], a[-5:], b[-5:]
    a[0], b[0] = 0x00010010, 0x00020020
    t = alu.fill(ops, a, b)
    c_lo, c_hi = 0x0010 + 0x0020 + 1, 0x0001 + 0x0002 + 30720
    return set_row(t, alu.SPEC, 0, carry0=30720, carry1=0, c_lo=c_lo, c_hi=c_hi,
                   **byte_cells("x", c_lo + (c_hi << 16)))


def prove_and_verify(name: str, honest: np.ndarray, malicious: np.ndarray) -> None:
    bn = bench(name)
    fc = commit_fixed_data(bn.air, bn.fixed)
    proof = prove(bn.air, bn.fixed, bn.main(honest), {}, [], FAST, fixed_commitment=fc)
    verify(bn.air, proof.to_bytes(), {}, [], fc.digest, min_security_bits=0)

    with pytest.raises(ConstraintError):  # the checker would have refused it ...
        check_trace(bn.air, bn.fixed, bn.main(malicious), {}, [])
    bad = prove(bn.air, bn.fixed, bn.main(malicious), {}, [], FAST, fixed_commitment=fc)  # ... so bypass it
    with pytest.raises(VerificationError):
        verify(bn.air, bad.to_bytes(), {}, [], fc.digest, min_security_bits=0)


def test_alu_proof_verifies_and_malicious_proof_is_rejected():
    ops, a, b = operands(SEED, tuple(alu.SPEC.ops.values()), 40)
    prove_and_verify("alu", alu.fill(ops[-40:], a[-40:], b[-40:]), carry_wrap_attack())


def _tampered(spec, op, a, b, column):
    t = spec.fill(np.array([op]), np.array([a]), np.array([b]))
    return set_row(t, spec, 0, **{column: get(t, spec, 0, column) ^ 1})


@pytest.mark.slow
@pytest.mark.parametrize("spec,op,a,b", [(shift.SPEC, SRA, 0x80001234, 7), (muldiv.MUL_SPEC, MULH, 0xFFFFFFF0, 3),
                                         (muldiv.DIV_SPEC, DIVU, 1000, 7)], ids=lambda v: getattr(v, "name", None))
def test_family_proofs(spec, op, a, b):
    ops, xa, xb = operands(SEED, tuple(spec.ops.values()), 20)
    prove_and_verify(spec.name, spec.fill(ops[-20:], xa[-20:], xb[-20:]), _tampered(spec, op, a, b, "c_lo"))
