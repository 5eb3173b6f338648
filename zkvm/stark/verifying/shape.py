"""The shape of a valid proof: every count and width, derived from the AIR, the options and the table heights.

Nothing here reads a count from the proof: the parser (``Proof.from_bytes(data, air)``) reads the options and
heights, derives the shape, checks that the bytes left are exactly what it needs, then reads exactly that; the
verifier checks a ``Proof`` object against the same shape. Hostile counts therefore cannot make either
allocate more than the shape, and the shape is bounded by the options' and heights' own limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkvm.stark.dsl.air import Air, CompiledAir, CompiledTable
from zkvm.stark.dsl.traces import ABSENT
from zkvm.stark.errors import MalformedProof
from zkvm.stark.verifying import blinding, fri, zk
from zkvm.stark.verifying.merkle import mixed_position, multiproof_count
from zkvm.stark.verifying.options import FIXED_LOG_BLOWUP, ProofOptions
from zkvm.stark.verifying.protocol import FRI_MASK, MAX_LOG_HEIGHT, fixed_leaf, ood_layout, phase_layouts

DIGEST = 32


#: (options, heights, query positions) -> (compiled AIR, trees, path lengths) of the last proof asked about:
#: derived data only (a pure function of the key and the AIR), so a hit can never change a result.
_LAST_TREES: dict = {}


@dataclass(frozen=True)
class ProofShape:
    ca: CompiledAir                              # the AIR as proven (zk: with the blinding hub)
    options: ProofOptions
    log_heights: tuple[int, ...]
    plans: tuple[zk.TablePlan | None, ...]       # None for an absent table
    log_blowups: tuple[int, ...]                 # per table: lb + its zk extension (0 if absent)
    lde_sizes: tuple[int, ...]                   # per table (0 if absent)
    fri_sizes: tuple[int, ...]                   # FRI layer sizes, M_0 = N_max .. M_K
    phases: dict                                 # name -> [(table index or FRI_MASK, log2 LDE height, width)]
    fixed_tables: tuple[tuple[int, CompiledTable], ...]  # present tables with fixed columns: opened per query
    committed_fixed: tuple[tuple[int, CompiledTable], ...]  # every table with fixed columns: a root and height each
    ood: tuple[tuple[int, int], ...]             # per table: values at zeta, at zeta·g ((0, 0) if absent)
    n_final_sums: int
    final_poly_len: int
    salt_len: int                                # of a phase tree's leaf (fixed and FRI leaves are unsalted)

    @property
    def tables(self) -> list[CompiledTable]:
        return self.ca.tables

    @property
    def n_max(self) -> int:
        return self.fri_sizes[0]

    @property
    def fri_widths(self) -> list[int]:
        """Felts of one FRI leaf per committed layer (the arity's worth of extension values)."""
        s = self.fri_sizes
        return [4 * (s[k] // s[k + 1]) for k in range(len(s) - 1)]

    def trees(self, query_indices) -> list[tuple[str, int, list[int]]]:
        """Every committed tree in proof order (fixed trees, phase trees, FRI layers): its name, depth and the
        leaf positions the queries open (indices must already be < ``n_max``)."""
        return self._entry(query_indices)[1]

    def _entry(self, query_indices) -> list:
        """``[compiled AIR, trees, path lengths or None]`` for these positions: the parser and the verifier ask
        for the same proof's. Entries are replaced, never mutated but for filling in the lengths once, so
        concurrent callers at worst recompute."""
        qs = tuple(query_indices)
        key = (self.options, self.log_heights, qs)
        hit = _LAST_TREES.get(key)
        if hit is None or hit[0] is not self.ca:
            hit = [self.ca, self._trees(qs), None]
            _LAST_TREES.clear()
            _LAST_TREES[key] = hit
        return hit

    def _trees(self, qs: tuple[int, ...]) -> list[tuple[str, int, list[int]]]:
        hs, lbs, sizes = self.log_heights, self.log_blowups, self.fri_sizes
        return ([(f"fixed tree of {ct.name!r}", hs[t] + FIXED_LOG_BLOWUP,
                  [fixed_leaf((q % ((1 << hs[t]) << lbs[t])) << (FIXED_LOG_BLOWUP - lbs[t]), hs[t] + FIXED_LOG_BLOWUP)
                   for q in qs])
                 for t, ct in self.fixed_tables]
                + [(f"{name} tree", max(lh for _, lh, _ in mats),
                    [mixed_position(q, [lh for _, lh, _ in mats]) for q in qs]) for name, mats in self.phases.items()]
                + [(f"FRI layer {k}", sizes[k + 1].bit_length() - 1, [(q % sizes[k]) % sizes[k + 1] for q in qs])
                   for k in range(len(sizes) - 1)])

    def path_lengths(self, query_indices) -> list[int]:
        """Siblings each tree's merged authentication path has for these queries."""
        entry = self._entry(query_indices)
        if entry[2] is None:
            entry[2] = [multiproof_count(pos, depth) for _, depth, pos in entry[1]]
        return list(entry[2])

    # ---- encoded sizes (proof.py's layout), for the parser's length checks
    def head_bytes(self) -> int:
        """Bytes from ``fixed_log_heights`` through ``query_indices`` (every vector with its u32 count)."""
        n_roots = len(self.committed_fixed) + len(self.phases) + len(self.fri_sizes) - 1
        ood = sum(4 + 16 * (z + zg) for z, zg in self.ood)
        fixed_heights = 4 + len(self.committed_fixed)
        return (fixed_heights + 4 * 6 + DIGEST * n_roots + 4 + 16 * self.n_final_sums + 4 + ood + 4
                + 16 * self.final_poly_len + 8 + 4 + 4 * self.options.num_queries)

    def query_bytes(self) -> int:
        """Bytes of one query's openings."""
        salt = 1 if self.options.zk else 0  # every salt has its u8 length under zk
        fixed = sum(4 + 4 * ct.n_fixed + salt for _, ct in self.fixed_tables)
        phases = sum(4 + sum(4 + 4 * w for _, _, w in mats) + salt + (self.salt_len if salt else 0)
                     for mats in self.phases.values())
        fri_ = sum(4 + 4 * w + salt for w in self.fri_widths)
        return 12 + fixed + phases + fri_

    def paths_bytes(self, path_lengths) -> int:
        return 4 + sum(4 + DIGEST * n for n in path_lengths)

    def max_paths_bytes(self) -> int:
        """Upper bound of ``paths_bytes`` over all query positions (no sibling shared)."""
        q = self.options.num_queries
        return 4 + sum(4 + DIGEST * min(q * depth, (1 << depth) - 1) for _, depth, _ in self.trees([0] * q))


def proof_shape(air: Air, options: ProofOptions, log_heights) -> ProofShape:
    """The shape of any valid proof of ``air`` with these options and heights; MalformedProof if the heights
    are impossible for this AIR (count, range, an absent table the AIR does not allow to be absent, the zk
    hub's canonical height, tables too small to hide).

    Height 0 (``ABSENT``) marks an absent table: it has no main/aux/quotient matrices, openings, OOD values or
    final sum, and its LDE takes no part in FRI. Only an optional table (``air.Table.optional``) may be absent:
    the presence of every other table - the CPU with its boundary constraints on public inputs, the tables
    it always talks to, the zk hub - is what the AIR requires, checked here before anything else is derived."""
    ca = blinding.compiled_air(air, options.zk)  # zk: with the LogUp blinding columns and hub (blinding.py)
    tables = ca.tables
    heights = [int(h) for h in log_heights]
    if len(heights) != len(tables):
        raise MalformedProof(f"{len(heights)} table heights for {len(tables)} tables")
    for ct, lh in zip(tables, heights):
        if lh == ABSENT and not ct.optional:
            raise MalformedProof(f"table {ct.name!r} may not be absent (the AIR requires it in every proof)")
        if lh != ABSENT and not 1 <= lh <= MAX_LOG_HEIGHT:
            raise MalformedProof(f"table {ct.name!r}: height 2^{lh} out of range")
    if all(lh == ABSENT for lh in heights):
        raise MalformedProof("every table is absent: a proof needs at least one")
    blinding.check_heights(ca, heights)
    try:  # zk.py: each table's LDE blowup (lb + log_ext) and quotient chunks follow from heights and options
        plans = zk.table_plans(ca, heights, options, FIXED_LOG_BLOWUP)
    except ValueError as e:  # zk.table_plan's documented refusal of a table too small to hide
        raise MalformedProof(f"zero knowledge: {e}") from None
    lb = options.log_blowup
    lbs = [0 if plan is None else lb + plan.log_ext for plan in plans]
    lde_sizes = [0 if lh == ABSENT else (1 << lh) << lbt for lh, lbt in zip(heights, lbs)]
    sizes = fri.layer_sizes([n for n in lde_sizes if n], lb, options.log_final_len, options.log_fold_arity)
    return ProofShape(
        ca=ca, options=options, log_heights=tuple(heights), plans=tuple(plans), log_blowups=tuple(lbs),
        lde_sizes=tuple(lde_sizes), fri_sizes=tuple(sizes),
        phases=phase_layouts(tables, heights, lbs, [0 if p is None else p.quot_width for p in plans], options.zk),
        fixed_tables=tuple((t, ct) for t, ct in enumerate(tables) if ct.n_fixed and heights[t] != ABSENT),
        committed_fixed=tuple((t, ct) for t, ct in enumerate(tables) if ct.n_fixed),
        ood=tuple((0, 0) if plan is None else ood_layout(ct, plan.quot_width) for ct, plan in zip(tables, plans)),
        n_final_sums=sum(1 for ct, lh in zip(tables, heights) if ct.has_bus and lh != ABSENT),
        final_poly_len=zk.final_poly_len(options, sizes[-1] >> lb),
        salt_len=zk.SALT_BYTES if options.zk else 0,
    )


def expected_proof_bytes(air: Air, options: ProofOptions, log_heights, samples: int = 4, seed: int = 0) -> float:
    """Mean size of a proof of these heights (after its header) over ``samples`` seeded draws of uniform query
    positions - the transcript's distribution; each draw's size is exact (the parser's own accounting).
    MalformedProof if no proof has these heights at these options."""
    import random

    shape = proof_shape(air, options, log_heights)
    rng = random.Random(seed)
    total = 0
    for _ in range(samples):
        qs = [rng.randrange(shape.n_max) for _ in range(options.num_queries)]
        total += shape.head_bytes() + options.num_queries * shape.query_bytes() + shape.paths_bytes(
            shape.path_lengths(qs))
    return total / samples


def smallest_options(air: Air, options: ProofOptions, log_heights) -> ProofOptions:
    """``options`` with the FRI arity and final-polynomial length that make a proof of these heights smallest,
    at no less conjectured security: blowup, queries, grinding and zk are kept. Which is best depends on the
    heights (under zk the final length also sets the degree slack that decides which tables need an extended
    coset: zk.table_plan), so the prover picks it per proof; the options travel in the proof and the verifier
    checks whatever they are. Candidates no proof can have at these heights (a table too small to hide) are
    skipped; ``options`` itself is the fallback."""
    from dataclasses import replace

    from zkvm.stark.verifying.options import MAX_LOG_FINAL_LEN

    best, best_size = options, None
    for arity in (2, 3):
        for lf in range(2, MAX_LOG_FINAL_LEN + 1):
            o = replace(options, log_fold_arity=arity, log_final_len=lf)
            if o.security_bits < options.security_bits:
                continue
            try:
                size = expected_proof_bytes(air, o, log_heights)
            except MalformedProof:
                continue
            if best_size is None or size < best_size:
                best, best_size = o, size
    return best


__all__ = ["ABSENT", "FRI_MASK", "ProofShape", "expected_proof_bytes", "proof_shape", "smallest_options"]
