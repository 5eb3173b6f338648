"""The prover's side of zero knowledge (the construction and its argument: ``verifying/zk.py``): randomised LDEs,
the quotient split into blinded chunks, the FRI mask polynomial. Sizes come from the verifier's ``TablePlan``.
"""

from __future__ import annotations

import numpy as np

from zkvm.field.babybear import GENERATOR, Ext, P
from zkvm.stark.backend import ntt
from zkvm.stark.dsl.algebra import ext_powers, mat_dot
from zkvm.stark.proving.prng import Randomness
from zkvm.stark.verifying.zk import TablePlan


def evaluate_long(coeffs: np.ndarray, log_nc: int, lb: int) -> np.ndarray:
    """Evaluate polynomials with ``len(coeffs) <= n_c·2^lb`` coefficients (columns) on GENERATOR·H_(n_c·2^lb).

    The coefficients past ``n_c`` (the zk slack) cost only a correction per coset of ``H_(n_c)``
    (:func:`ntt.evaluate_wrapped`): about the work of an ordinary coset evaluation."""
    return ntt.evaluate_wrapped(coeffs, log_nc, lb, GENERATOR)


def randomised_lde(trace: np.ndarray, log_n: int, plan: TablePlan, lb: int,
                   rng: Randomness) -> tuple[np.ndarray, np.ndarray]:
    """LDE of ``trace + Z_H·r`` on the table's (possibly extended) coset and the randomisers ``r[k, w]``.

    One fused LDE (:func:`ntt.lde_randomised`): ``Z_H`` is constant on each coset of ``H_n`` in the LDE domain,
    so ``Z_H·r`` only corrects the first ``k`` coefficients per coset - as cheap as the LDE without zk."""
    if trace.shape[0] != 1 << log_n:
        raise ValueError(f"trace has {trace.shape[0]} rows, expected 2^{log_n}")
    r = rng.field((plan.trace_mask, trace.shape[1]))
    return ntt.lde_randomised(trace, r, lb + plan.log_ext, GENERATOR), r


def randomiser_at(r: np.ndarray, z, n: int) -> list:
    """``Z_H(z)·r(z)`` per column (extension values) - the OOD correction of a randomised column."""
    zh = z ** n - 1
    vals = mat_dot(np.ascontiguousarray(r.T), ext_powers(z, r.shape[0]))
    return [Ext(row) * zh for row in vals]


def split_quotient(coeffs: np.ndarray, plan: TablePlan, rng: Randomness | None) -> list[np.ndarray]:
    """Chunks ``c_i'`` (extension coefficients ``[m + s, 4]``) with ``sum X^(i·m) c_i' = Q`` (verifying/zk.py, 3.)."""
    m, s, c = plan.chunk_len, plan.quot_mask, plan.chunks
    coeffs = np.asarray(coeffs, dtype=np.uint32)
    chunks = []
    for i in range(c):
        ch = np.zeros((m + s, 4), dtype=np.uint32)
        part = coeffs[i * m:(i + 1) * m]
        ch[:part.shape[0]] = part
        chunks.append(ch)
    if s and rng is not None:
        # only the s blinded rows per chunk go through uint64 (values < p < 2^31: sums fit, no overflow)
        p = np.uint64(P)
        for i in range(1, c):
            b = rng.field((s, 4)).astype(np.uint64)
            chunks[i - 1][m:m + s] = (chunks[i - 1][m:m + s].astype(np.uint64) + b) % p
            chunks[i][:s] = (chunks[i][:s].astype(np.uint64) + p - b) % p
    return chunks


def mask_polynomial(log_nc: int, lb: int, options, rng: Randomness) -> np.ndarray:
    """Evaluations ``[n_c·B, 4]`` of a uniformly random extension polynomial of the FRI bound n_c(1 + 1/fd)."""
    n_c = 1 << log_nc
    fd = 1 << options.log_final_len
    coeffs = rng.field((n_c + n_c // fd, 4))
    return evaluate_long(coeffs, log_nc, lb)
