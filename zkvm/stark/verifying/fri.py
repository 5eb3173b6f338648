"""FRI low-degree test: layer schedule, folding (prover arrays, verifier scalars) and the commit phase.

Domains: every table of LDE size ``N_t`` is evaluated on ``s·H_{N_t}`` (``s`` = GENERATOR). FRI layer 0 is
the DEEP quotient of the tallest tables on ``s·H_{N_max}``; folding by 2 maps index ``i`` and ``i + M/2`` (the
points ``x``, ``-x``) to index ``i`` of the domain ``s^2·H_{M/2}``:
``f'(x^2) = (f(x) + f(-x))/2 + beta·(f(x) - f(-x))/(2x)``. Folding by ``A = 2^k`` is k binary folds with
``beta, beta^2, beta^4...`` (the same as one arity-A fold with ``beta``).

Tables of smaller LDE size are *rolled in* when the layer size reaches theirs:
``f_{k+1} = fold(f_k, beta_k) + beta_k^A · sum_t D_t`` where ``D_t`` is table t's DEEP quotient evaluated at
the table's own point ``s·w^i`` for layer index i. (As a function of the layer point ``y = s^(2^j)·w^i`` that is
``D_t(s^(1-2^j)·y)``, a polynomial of the same degree, so low degree is preserved.) The layer schedule
steps by the folding arity but always lands exactly on every table's LDE size, so roll-ins happen only at
committed layers (or at the final one).

Committed layer k of size ``M`` with next size ``M'`` has ``M'`` leaves; leaf ``i`` holds the ``A = M/M'`` values
at indices ``i + j·M'`` (j = 0..A-1), i.e. exactly the coset that folds into index ``i``. Folding stops at size
``M_f = B·min(2^log_final_len, smallest trace height)``; that layer's polynomial (degree < M_f/B) is sent as
coefficients. Security (conjectured): queries·log2(B) + grinding bits, capped by the field (options.py).
"""

from __future__ import annotations

import numpy as np

from zkvm.field import babybear as bb
from zkvm.field.babybear import GENERATOR, Ext, P

INV2 = bb.inv_int(2)


def layer_sizes(lde_sizes: list[int], log_blowup: int, log_final_len: int, log_arity: int) -> list[int]:
    """``[M_0 = N_max, M_1, ..., M_K = M_f]``: committed layers are all but the last."""
    n_max = max(lde_sizes)
    final_deg = min(1 << log_final_len, min(lde_sizes) >> log_blowup)
    m_final = final_deg << log_blowup
    sizes_desc = sorted(set(lde_sizes), reverse=True)
    out = [n_max]
    while out[-1] > m_final:
        m = out[-1]
        nxt = max(m >> log_arity, m_final)
        for s in sizes_desc:
            if s < m:
                nxt = max(nxt, s)
                break
        out.append(nxt)
    return out


def layer_shift(n_max: int, m: int) -> int:
    """Coset shift of the FRI layer of size m: GENERATOR^(N_max/m)."""
    return bb.pow_int(GENERATOR, n_max // m)


# ---------------------------------------------------------------- prover side (arrays)

def fold_array(f: np.ndarray, beta: Ext, shift: int, log_arity: int, kernels=bb) -> np.ndarray:
    """Fold extension evaluations ``f[M, 4]`` on ``shift·H_M`` by ``2^log_arity`` (``kernels``: array ops)."""
    k = kernels
    for _ in range(log_arity):
        m = f.shape[0]
        half = m // 2
        omega_inv = bb.inv_int(bb.two_adic_root(m.bit_length() - 1))
        inv_2x = bb.mul(bb.powers(omega_inv, half), bb.inv_int(2 * shift))
        lo, hi = f[:half], f[half:]
        even = k.ext_mul_base(k.ext_add(lo, hi), np.uint32(INV2))
        odd = k.ext_mul_base(k.ext_sub(lo, hi), inv_2x)
        f = k.ext_add(even, k.ext_mul(odd, beta.to_array()))
        shift = shift * shift % P
        beta = beta * beta
    return f


def leaf_matrix(f: np.ndarray, next_size: int) -> np.ndarray:
    """Layer values ``[M, 4]`` -> leaf rows ``[M', 4·A]``: leaf i = values at i + j·M' (j = 0..A-1)."""
    m = f.shape[0]
    a = m // next_size
    return np.ascontiguousarray(f.reshape(a, next_size, 4).transpose(1, 0, 2).reshape(next_size, 4 * a))


# ---------------------------------------------------------------- verifier side (scalars)

def fold_leaf(values: list[Ext], leaf_index: int, m: int, shift: int, beta: Ext) -> Ext:
    """Fold one opened leaf (the coset of ``A`` values of layer size ``m``) to the value at ``leaf_index``
    of the next layer."""
    vals = list(values)
    a = len(vals)
    stride = m // a  # element j sits at index leaf_index + j·stride in every round
    mc = m
    while len(vals) > 1:
        half = len(vals) // 2
        omega = bb.two_adic_root(mc.bit_length() - 1)
        nxt = []
        for j in range(half):
            x = shift * bb.pow_int(omega, leaf_index + j * stride) % P
            inv_2x = bb.inv_int(2 * x)
            lo, hi = vals[j], vals[j + half]
            nxt.append((lo + hi) * INV2 + beta * ((lo - hi) * inv_2x))
        vals = nxt
        mc //= 2
        shift = shift * shift % P
        beta = beta * beta
    return vals[0]


def fold_rows(rows: np.ndarray, leaf: np.ndarray, m: int, shift: int, beta: Ext) -> np.ndarray:
    """Vectorised :func:`fold_leaf` over queries: ``rows[Q, A, 4]`` opened cosets, ``leaf[Q]`` leaf indices of a
    layer of size ``m`` -> folded values ``[Q, 4]`` at those indices of the next layer."""
    vals = rows
    a = rows.shape[1]
    stride = m // a  # element j sits at index leaf + j·stride in every round
    omega = bb.two_adic_root(m.bit_length() - 1)
    # x0 = shift·omega^leaf per query; each round squares shift and omega, hence x0 (and 1/x0): one base
    # inversion for all queries instead of a vectorised Fermat power per round
    x0 = [shift * pow(omega, int(i), P) % P for i in np.asarray(leaf, dtype=np.int64)]
    ix0_arr = np.asarray(bb.batch_inv_ints(x0), dtype=np.uint64)
    while vals.shape[1] > 1:
        half = vals.shape[1] // 2
        istep = bb.inv_int(pow(omega, stride, P))
        inv_2x = bb.mul(bb.mul(ix0_arr, INV2)[:, None], bb.powers(istep, half)[None, :])  # 1/(2·x0·step^j)
        lo, hi = vals[:, :half], vals[:, half:]
        even = bb.mul(bb.ext_add(lo, hi), INV2)
        odd = bb.ext_mul_base(bb.ext_sub(lo, hi), inv_2x)
        vals = bb.ext_add(even, bb.ext_mul(odd, beta.to_array()))
        omega = omega * omega % P
        ix0_arr = ix0_arr * ix0_arr % np.uint64(P)
        beta = beta * beta
    return vals[:, 0]
