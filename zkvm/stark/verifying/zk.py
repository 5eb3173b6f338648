"""Zero knowledge for the STARK: what is randomised, how much, and why that hides the witness.

``ProofOptions.zk`` (on by default) turns on five measures. Prover and verifier derive every size below from
the proof options and the table heights alone (:func:`table_plans`, :func:`final_poly_len`; the AIR with its
blinding gadget from ``blinding.compiled_air``), so nothing about the construction is negotiated in the proof.

1. **Hiding commitments.** Every leaf of a *private* tree (the main, aux and quotient phase trees) is ``SHA256(rows || salt)`` with a fresh 16-byte salt from ``os.urandom``; a salt is sent only
   with an opened leaf. An unopened leaf's hash (seen as a sibling in an authentication path) is then
   independent of its rows. The rows of the shorter matrices of a phase tree, injected at inner nodes, are
   hidden by the salted leaves below those nodes (``merkle_verify``, mixed-height trees: every node sent as a
   sibling has only unopened leaves below it). Fixed (preprocessed) trees stay unsalted: they are public and
   define the image id. The FRI layer trees are unsalted too: every FRI leaf is a function of the masked
   polynomial ``F`` alone (4.), which is uniform whatever the witness, so a whole FRI tree - roots, siblings,
   opened leaves - is simulatable from ``F`` (saves 17 bytes per opened FRI leaf and the salt hashing).

2. **Randomised traces.** A committed column ``f`` (main or aux, each base coordinate of an extension column
   separately) is replaced by ``f'(X) = f(X) + Z_H(X)·r(X)`` with ``Z_H = X^n - 1`` and ``r`` uniformly random
   of degree ``< k``. ``f' = f`` on the trace domain ``H`` (so every constraint still holds there), and for any
   ``k`` points outside ``H`` the values ``f'(x_i)`` are uniform and independent: ``Z_H(x_i) != 0`` and
   evaluation of a degree ``< k`` polynomial at ``k`` distinct points is a bijection. The verifier learns
   ``f'`` at: every query row of the table (at most ``q`` distinct points), the next-row point ``g·x`` of
   every query (only *implicitly*, through the opened quotient value, which depends on the constraints'
   next-row terms), and the out-of-domain points ``zeta`` and ``zeta·g``. Hence ``k = 2q + 2``.
   The DEEP/FRI values reveal nothing more because of 4.

3. **Randomised quotient chunks.** The quotient ``Q`` of degree ``< 2n + 3k`` (constraints have degree <= 3)
   is cut into ``C`` chunks of ``m`` coefficients, ``Q = sum_i X^(i·m) c_i``, and blinded telescopically:
   ``c_i' = c_i + X^m·b_(i+1) - b_i`` (``b_0 = b_C = 0``, ``b_i`` random of degree ``< s``) so that
   ``sum_i X^(i·m) c_i' = Q`` still. Each ``c_i'`` is opened at the ``q`` query rows and at ``zeta``:
   ``s = q + 1`` makes the opened chunk values uniform subject to their combination being ``Q(x)`` - and
   ``Q(x)`` is a function of the values in 2, which are already uniform.

4. **Masked FRI batch.** Before the DEEP challenge ``gamma`` the prover commits a uniformly random extension
   polynomial ``R`` of the full FRI degree bound; FRI runs on ``F = DEEP + gamma^M·R`` (``M`` = number of DEEP
   terms). ``F`` is then a uniform polynomial of that degree whatever the witness is, so every FRI layer and
   the final polynomial are simulatable; the verifier only sees ``R`` at the query points, where it equals
   ``(F - DEEP)/gamma^M`` and ``DEEP`` is a function of the (uniform) openings in 2 and 3. ``R``'s evaluations
   (a matrix of the largest LDE height) are the last matrix of the quotient-phase commitment, so ``R`` is
   fixed before ``zeta`` and a fortiori before ``gamma``: the batch stays sound (a mask chosen after
   ``gamma`` could cancel a bad DEEP term), and ``R`` is independent of the trace, so committing it with the
   quotient chunks changes nothing in the hiding argument.

5. **Blinded LogUp final sums** (``blinding.py``: the gadget and its soundness argument). Each table's final
   sum ``F_t`` is sent in clear, so every table with bus interactions gets 4 main columns ``z`` holding 4
   uniform field elements on one row (zeros elsewhere) and sends ``z`` on a bus of its own; a hub table
   receives every table's ``z``. ``F_t`` grows by the blinding term ``1/(alpha - id - beta·z_0 - beta^2·z_1 -
   beta^3·z_2 - beta^4·z_3)`` (plus the public ``(n_t - 1)/(alpha - id)`` of the zero rows). The denominator
   is uniform over GF(p^4): ``(beta, beta^2, beta^3, beta^4)`` are linearly independent over F_p unless
   ``beta`` lies in a proper subfield (probability ~p^-2), so ``z -> sum beta^(j+1)·z_j`` is a bijection
   F_p^4 -> GF(p^4). The terms of distinct tables are independent (independent ``z``), so the blinded sums
   are uniform and independent, except the hub's, which is minus the sum of the blinding terms: the final
   sums reveal only their total, which the verifier knows anyway (``-public``). The blinding columns are
   main columns, hidden by 2 like the rest of the trace.

**Degree bookkeeping.** Randomised columns have degree ``n + k > n``, which no longer fits the FRI degree bound
``n`` of a table. Two knobs absorb it without doubling the work:

* the FRI final polynomial gets one extra coefficient, ``L = fd + 1`` (``fd = 2^log_final_len``); as FRI folds
  the degree bound by two per round, that raises the bound of a table of committed height ``n_c`` to
  ``D = n_c·L/fd = n_c(1 + 1/fd)``. The code rate grows by ``L/fd`` and the conjectured security per query
  drops from ``log2 B`` to ``log2(B·fd/L)`` (``options.py`` accounts for it: with ``fd = 128``, 41 queries and 19
  grinding bits give 100 bits, as 41 queries and 18 bits would without zk);
* a table too short for ``n + k <= D`` (or for the quotient to fit) is committed at a *virtual* height
  ``n_c = 2^j·n``: its columns are low-degree extended on a coset ``2^j`` times larger (as if its blowup were
  ``B·2^j``), so ``f'`` has room for ``r`` while the code rate stays ``D/(B·n_c)``. Constraints are still
  checked on the ``n`` rows of ``H`` (the next row is ``2^(j+lb)`` LDE points ahead). Tables with fixed
  columns can go up to ``2^(FIXED_LOG_BLOWUP - lb)`` (the fixed commitment is at blowup 16); big tables keep
  ``j = 0`` and pay only for the slack in ``D``.

**Costs.** The LDE coset is a union of cosets ``z·H_n`` of the trace domain, and ``X^n`` is the constant
``a = z^n`` on each. So on ``z·H_n`` a randomised column ``f + (X^n - 1)·r`` agrees with the ``n``-coefficient
polynomial ``f + (a - 1)·(r mod (X^n - a))``: the fused LDE kernel evaluates it with a per-coset correction of
the first ``min(k, n)`` coefficients (``ntt.lde_randomised``), at the cost of a plain LDE. Quotient chunks and
the mask (``n_c·(1 + 1/fd)`` coefficients) are evaluated the same way on cosets of ``H_(n_c)``: one
evaluation of ``n_c`` coefficients plus a correction of the ``n_c/fd + s`` rows past them
(``ntt.evaluate_wrapped``).
Proofs grow by the salts (17 bytes per opened salted leaf), one query, the mask row, the extra quotient
chunks of short tables and the deeper authentication paths of extended tables (``bench/zk.py`` measures it).
The sum blinding (5.) adds 4 main columns per table with buses, one aux column where the blinding interaction
finds no LogUp column to share, and the hub table (``bench/blinding.py``).

**What is not hidden.** Table heights (the trace length, padded to powers of two), and of the LogUp final
sums only their total (fixed by the public terms). The blinding terms are uniform only up to the statistical
distance of ``Randomness.field`` (< 2^-32 per element) and the ~p^-2 chance of a ``beta`` in a subfield.

**Randomness.** One 256-bit key per proof from ``os.urandom``, expanded with ChaCha20 (:mod:`zkvm.stark.proving.prng`)
into every salt, randomiser, blinder and mask (a 2^18-row proof draws ~150 MB; the OS delivers ~250 MB/s).
The arguments above take that randomness as uniform; with the keystream they hold against any efficient
distinguisher as long as ChaCha20 is a PRF - the assumption ``os.urandom`` itself rests on (Linux expands its
entropy pool with ChaCha20), and the salted leaves already rest on SHA-256. Counter mode also lets the
prover regenerate any range of a tree's salts instead of storing them (:class:`zkvm.stark.proving.prng.SaltStream`).
Tests may pass a seeded :class:`zkvm.stark.proving.prng.Randomness` explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkvm.field.babybear import P
from zkvm.stark.verifying.protocol import QUOTIENT_CHUNKS

SALT_BYTES = 16
#: Constraint degree bound of the DSL (air.MAX_DEGREE); the quotient has degree < (D-1)·n + D·k.
_CONSTRAINT_DEGREE = 3
#: Largest LDE the field supports (two-adicity of BabyBear).
_MAX_LOG_LDE = 27
#: How many more doublings of its coset a short zk table may take to keep the quotient chunks of a table
#: without zk (protocol.QUOTIENT_CHUNKS; table_plan).
_MAX_EXTRA_EXTENSION = 2
#: ... and only while its extended height stays below this (beyond, the LDE work outweighs 4 values a query).
_MAX_EXTRA_EXTENDED_HEIGHT = 1 << 11


@dataclass(frozen=True)
class TablePlan:
    """How one table is committed. Without zk: ``log_ext = 0``, no masks, two chunks of ``n`` coefficients."""

    log_ext: int        # j: columns extended on a coset 2^j times larger than n·B
    trace_mask: int     # k: coefficients of each column's randomiser r
    quot_mask: int      # s: coefficients of each chunk blinder b_i
    chunk_len: int      # m: quotient coefficients per chunk (the OOD recombination uses zeta^m)
    chunks: int         # C

    @property
    def quot_width(self) -> int:
        return 4 * self.chunks


def final_poly_len(options, final_deg: int) -> int:
    """Coefficients of the FRI final polynomial: one more than the folded degree bound under zk."""
    return final_deg + 1 if options.zk else final_deg


def table_plan(options, log_height: int, has_fixed: bool, fixed_log_blowup: int) -> TablePlan:
    """The plan of a table of height ``2^log_height``; ValueError if zk cannot hide it at these options."""
    n = 1 << log_height
    if not options.zk:
        return TablePlan(0, 0, 0, n, 2)
    lb = options.log_blowup
    q = options.num_queries
    k, s = 2 * q + 2, q + 1
    fd = 1 << options.log_final_len
    dq = (_CONSTRAINT_DEGREE - 1) * n + _CONSTRAINT_DEGREE * k
    max_j = fixed_log_blowup - lb if has_fixed else _MAX_LOG_LDE - lb - log_height
    first = None
    for j in range(0, max_j + 1):
        n_c = n << j
        if n_c < fd:
            continue
        bound = n_c + n_c // fd          # D = n_c·(fd + 1)/fd
        m = bound - s
        if n + k > bound or dq > (n_c << lb) or m <= 0:
            continue
        plan = TablePlan(j, k, s, m, -(-dq // m))
        first = first or plan
        # A third quotient chunk costs 4 opened values per query; a short table is cheaper extended once or
        # twice more (its LDE stays small) until the quotient fits the two chunks it has without zk.
        if (plan.chunks <= QUOTIENT_CHUNKS or j >= first.log_ext + _MAX_EXTRA_EXTENSION
                or n_c >= _MAX_EXTRA_EXTENDED_HEIGHT):
            return plan
    if first is not None:
        return first
    raise ValueError(f"a table of height 2^{log_height} is too small to be hidden with {q} queries at blowup "
                     f"2^{lb}" + (" (its fixed columns cap the extension)" if has_fixed else ""))


def table_plans(ca, log_heights, options, fixed_log_blowup: int) -> list[TablePlan | None]:
    """Every table's plan; None for an absent table (height 0: nothing of it is committed)."""
    return [None if lh == 0 else table_plan(options, lh, bool(ct.n_fixed), fixed_log_blowup)
            for ct, lh in zip(ca.tables, log_heights)]
