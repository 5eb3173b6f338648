"""The Fiat-Shamir schedule, written once: every label the transcript absorbs and every challenge it draws, in
the order the prover (``proving/prover.py``) and the verifier (``verifier.py``) both follow:

    statement -> main root -> LogUp alpha, beta -> aux root, final sums -> lambda -> quotient root -> zeta
    -> OOD values -> gamma -> per FRI layer: root, then its folding challenge -> final polynomial
    -> proof-of-work nonce -> query positions

Each step is one function taking what the prover has just committed (the verifier: what the proof says it
committed) and returning the challenge drawn after it, so the two sides cannot absorb in different orders.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from zkvm.field.babybear import Ext
from zkvm.stark.dsl.air import CompiledAir
from zkvm.stark.verifying import logup
from zkvm.stark.verifying.logup import TermBlock
from zkvm.stark.verifying.options import ProofOptions
from zkvm.stark.verifying.protocol import absorb_statement, challenge_bytes, max_tuple_len
from zkvm.stark.verifying.transcript import Transcript

_EXT = struct.Struct("<4I").pack


@dataclass(frozen=True)
class LogupChallenges:
    alpha: Ext
    beta: Ext
    betas: list  # beta^0 .. beta^(longest tuple - 1): a tuple's fingerprint weights


def statement(ca: CompiledAir, options: ProofOptions, log_heights: Sequence[int], publics: Sequence[int],
              public_terms: Sequence[TermBlock], fixed_digest: bytes) -> Transcript:
    """A transcript that has absorbed the statement (``protocol.absorb_statement``)."""
    tr = Transcript()
    absorb_statement(tr, ca, options, log_heights, publics, public_terms, fixed_digest)
    return tr


def main_committed(tr: Transcript, ca: CompiledAir, main_roots: Sequence[bytes],
                   given: tuple[Ext, Ext] | None = None) -> LogupChallenges:
    """After the main commitment: the LogUp challenges, drawn here or ``given`` (shared by the segments of a run
    and drawn after all their main commitments; then they are absorbed instead)."""
    for root in main_roots:
        tr.absorb("main_root", root)
    if given is None:
        alpha = tr.challenge_ext("alpha")
        beta = tr.challenge_ext("beta")
    else:
        alpha, beta = given
        tr.absorb("logup_challenges", challenge_bytes(alpha, beta))
    return LogupChallenges(alpha, beta, logup.beta_powers(beta, max_tuple_len(ca)))


def aux_committed(tr: Transcript, aux_roots: Sequence[bytes], final_sums: Sequence[Sequence[int]]) -> Ext:
    """After the aux commitment and each bus table's final LogUp sum: lambda, which combines the constraints."""
    for root in aux_roots:
        tr.absorb("aux_root", root)
    for fs in final_sums:
        tr.absorb("final_sum", np.asarray(fs, dtype="<u4").tobytes())
    return tr.challenge_ext("lambda")


def quotient_committed(tr: Transcript, quotient_roots: Sequence[bytes]) -> Ext:
    """After the quotient commitment: the out-of-domain point zeta, outside the base field (hence outside every
    trace domain and LDE coset)."""
    for root in quotient_roots:
        tr.absorb("quotient_root", root)
    while True:
        zeta = tr.challenge_ext("zeta")
        if any(zeta.c[1:]):
            return zeta


def ood_sent(tr: Transcript, ood_z: Sequence[Sequence], ood_zg: Sequence[Sequence]) -> Ext:
    """After the values at zeta and zeta·g (per table: those at zeta, then those at zeta·g): gamma, which
    combines the DEEP quotients."""
    tr.absorb_each("ood", [_EXT(*v) for z, zg in zip(ood_z, ood_zg) for vs in (z, zg) for v in vs])
    return tr.challenge_ext("gamma")


def fri_layer_committed(tr: Transcript, root: bytes) -> Ext:
    """After one FRI layer's commitment: the challenge that folds it."""
    tr.absorb("fri_root", root)
    return tr.challenge_ext("fri_beta")


def final_poly_sent(tr: Transcript, final_poly) -> None:
    tr.absorb("final_poly", np.asarray(final_poly, dtype="<u4").reshape(-1).tobytes())


def query_positions(tr: Transcript, pow_nonce: int, options: ProofOptions, n_max: int) -> list[int]:
    """After the proof-of-work nonce (found by the prover with ``tr.grind``, checked by the verifier with
    ``tr.check_pow`` before this): the query positions on the largest LDE domain."""
    tr.absorb("pow", pow_nonce.to_bytes(8, "little"))
    return tr.query_indices("queries", options.num_queries, n_max)
