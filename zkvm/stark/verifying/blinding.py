"""Zero knowledge for the LogUp final sums: one random blinding term per table, collected by a small hub table.

Each table with bus interactions sends its LogUp final sum ``F_t`` in the proof. Without blinding, a verifier
holding a candidate witness recomputes that table's bus sum under the proof's ``alpha, beta`` and compares
(the memory table's sum, for one, depends on private values). Under ``ProofOptions.zk`` the compiled AIR is
therefore augmented (``compiled_air``; prover and verifier both derive it from the options, nothing about it
is negotiated in the proof):

* every table with interactions gains 4 main columns ``z_0..z_3`` and one interaction
  ``send(BUS, [z_0, z_1, z_2, z_3])`` (multiplicity 1 on every row). The prover puts 4 uniform field elements
  on row 0 and zeros elsewhere, so the table's sum grows by ``(n - 1)/(alpha - id) + 1/(alpha - fp(z))``
  (``id`` the bus id, ``fp(z) = id + beta·z_0 + ... + beta^4·z_3``);
* one hub table ``HUB`` (5 main columns, no fixed ones) receives ``[z_0..z_3]`` with multiplicity ``m``:
  each table's blinding tuple with ``m = 1`` and the zero tuple with ``m = sum_t (n_t - 1)`` (padding rows
  have ``m = 0``). Its height only depends on the number of blinded tables (``hub_log_height``).

The hiding argument is in ``zk.py`` (5., "Blinded LogUp final sums"). Why the tuple has 4 coordinates: with fewer, the
blinding term would range over a proper subset of GF(p^4) that a verifier could test membership of. Why
multiplicity 1 on every row rather than a selector column: the zero rows contribute a public amount
(``(n - 1)/(alpha - id)``, matched by the hub), and one main column per table is saved. The blinding interaction
is placed right after a single-interaction LogUp group it can share (``air._pair_ok``) when there is one, so
most tables pay no extra aux column.

**Soundness.** The blinding columns and the hub are main columns: they are committed (in the main roots) before
``alpha`` and ``beta`` are drawn. ``BUS`` has its own bus id, so every term on it is ``m/(alpha - fp(z))`` with a
fingerprint ``fp(z)``, a polynomial in ``beta`` whose constant term (the id) differs from that of every other
bus's fingerprints (the zero tuple's too): as rational functions of ``(alpha, beta)`` its poles are distinct
from the poles of any other bus's terms, and two fingerprints of distinct buses agree for at most
``max_tuple_len`` values of ``beta``. The
LogUp check ``sum_t F_t + public = 0`` at random ``alpha, beta`` therefore forces (up to the usual
Schwartz-Zippel error of LogUp) the ``BUS`` multiset to balance on its own and every other bus to balance on
its own: a blinding term cannot absorb an imbalance of another bus, whatever the prover writes into the
blinding columns or the hub's multiplicities. Hence no constraint on the blinding columns is needed: they
carry no statement, only a bus that must cancel out.

The base AIR's digest is kept (the transcript binds it together with the options, which determine the
augmentation) and the hub has no fixed columns, so ``commit_fixed`` and image ids do not depend on zk.
Without zk, or for an AIR without buses, ``compiled_air`` is exactly ``air.compile()``.
"""

from __future__ import annotations

import weakref
from typing import MutableMapping

import numpy as np

from zkvm.field.babybear import P
from zkvm.stark.dsl.air import Air, CompiledAir, CompiledTable, Interaction, Table, _pair_ok
from zkvm.stark.dsl.traces import ABSENT
from zkvm.stark.errors import AirError, MalformedProof

#: Bus and hub table of the blinding terms (reserved names under zk).
BUS = "zk_blind"
HUB = "zk_blind"
#: Blinding columns appended to every table with interactions (and the hub's tuple columns).
COLUMNS = tuple(f"zk_blind_{i}" for i in range(4))
#: The hub's multiplicity column.
HUB_MULT = "zk_blind_mult"
#: Row of each table that carries the random tuple (all other rows hold zeros).
BLIND_ROW = 0

# base Air -> (its CompiledAir when augmented, the augmented CompiledAir); recomputed if the base recompiles
_CACHE: "weakref.WeakKeyDictionary[Air, tuple[CompiledAir, CompiledAir]]" = weakref.WeakKeyDictionary()


def compiled_air(air: Air, zk: bool) -> CompiledAir:
    """The AIR that proofs with these options are about: ``air.compile()``, plus the blinding gadget under zk."""
    base = air.compile()
    if not zk or not base.bus_ids:
        return base
    cached = _CACHE.get(air)
    if cached is not None and cached[0] is base:
        return cached[1]
    out = _augment(air, base)
    _CACHE[air] = (base, out)
    return out


def is_augmented(ca: CompiledAir) -> bool:
    return ca.zk_blinded


def blinded_tables(ca: CompiledAir, log_heights=None) -> list[CompiledTable]:
    """Tables that send a blinding term (every table with interactions except the hub), in AIR order; with
    ``log_heights``, only those present in the proof (an absent table, height 0, sends nothing: no term)."""
    if not is_augmented(ca):
        return []
    return [ct for t, ct in enumerate(ca.tables[:-1])
            if ct.has_bus and (log_heights is None or log_heights[t] != ABSENT)]


def hub_log_height(n_blinded: int) -> int:
    """The hub holds the zero tuple and one tuple per blinded table: ``n_blinded + 1`` rows, rounded up to a
    power of two (>= 2)."""
    return max(1, n_blinded.bit_length())


def _augment(air: Air, base: CompiledAir) -> CompiledAir:
    names = {ct.name for ct in base.tables}
    if HUB in names or BUS in base.bus_ids:
        raise AirError(f"AIR {air.name!r}: the name {HUB!r} is reserved for the zero-knowledge blinding")
    tables = []
    for ct in base.tables:
        t = ct.table.copy()
        if ct.has_bus:
            if set(COLUMNS) & set(t.main_names + t.fixed_names):
                raise AirError(f"table {t.name!r}: column names {COLUMNS} are reserved for the zk blinding")
            z = [t.main(name) for name in COLUMNS]
            t.send(BUS, z)
            blind = t.interactions.pop()
            t.interactions.insert(_blind_position(ct, blind), blind)
        tables.append(t)
    hub = Table(HUB)
    z = [hub.main(name) for name in COLUMNS]
    hub.receive(BUS, z, mult=hub.main(HUB_MULT))
    out = Air(air.name, tables + [hub], air.publics, code_defined=air.code_defined).compile()
    # Keep the base buses' ids (so public terms encode the same with and without zk); the blinding bus comes last.
    out.bus_ids = {**base.bus_ids, BUS: max(base.bus_ids.values()) + 1}
    out.digest_of = base
    out.zk_blinded = True
    return out


def _blind_position(ct: CompiledTable, blind: Interaction) -> int:
    """Where to insert the blinding interaction: right after the first interaction that forms a LogUp group of
    its own and can pair with it (the greedy grouping of ``air`` then pairs them and leaves every other group
    as it was), else at the end (a group of its own: one more aux column)."""
    pos = 0
    for group in ct.groups:
        pos += len(group)
        if len(group) == 1 and _pair_ok(group[0], blind):
            return pos
    return pos


# ---------------------------------------------------------------- prover side

def blind_values(count: int, rng) -> np.ndarray:
    """The blinding tuples ``uint32[count, 4]``: uniform field elements from the prover's ``prng.Randomness``."""
    return rng.field((count, len(COLUMNS)))


def blind_traces(air: Air, zk: bool, main: MutableMapping[str, np.ndarray], log_heights: list[int],
                 rng) -> tuple[CompiledAir, list[int]]:
    """Prover: the compiled AIR of the proof and its table heights; under zk, widens ``main`` (in place) by the
    blinding columns of every table with interactions and adds the hub's trace."""
    ca = compiled_air(air, zk)
    if not is_augmented(ca):
        return ca, list(log_heights)
    tables = blinded_tables(ca, log_heights)
    if rng is None:
        raise ValueError("the zk blinding needs the prover's randomness")
    values = blind_values(len(tables), rng)
    heights = dict(zip((ct.name for ct in ca.tables), log_heights))
    zero_rows = 0
    for ct, v in zip(tables, values):
        n = 1 << heights[ct.name]
        cols = np.zeros((n, len(COLUMNS)), dtype=np.uint32)
        cols[BLIND_ROW] = v
        old = main.get(ct.name)
        main[ct.name] = cols if old is None else np.concatenate([old, cols], axis=1)
        zero_rows += n - 1
    lh = hub_log_height(len(tables))
    main[HUB] = hub_trace(values, zero_rows, lh)
    return ca, list(log_heights) + [lh]


def hub_trace(values: np.ndarray, zero_rows: int, log_height: int) -> np.ndarray:
    """The hub's main trace ``[2^log_height, 5]``: row 0 receives the zero tuple ``zero_rows`` times, row
    ``1 + t`` receives table t's blinding tuple once, padding rows receive nothing."""
    out = np.zeros((1 << log_height, len(COLUMNS) + 1), dtype=np.uint32)
    out[0, -1] = zero_rows % P
    out[1:1 + len(values), :-1] = values
    out[1:1 + len(values), -1] = 1
    return out


# ---------------------------------------------------------------- verifier side

def check_heights(ca: CompiledAir, log_heights: list[int]) -> None:
    """MalformedProof unless the hub has the height an honest prover gives it (a canonical shape: any height
    would be as sound, the hub's bus must balance whatever its size)."""
    if not is_augmented(ca):
        return
    want = hub_log_height(len(blinded_tables(ca, log_heights)))
    if log_heights[-1] != want:
        raise MalformedProof(f"table {HUB!r}: height 2^{log_heights[-1]}, expected 2^{want}")
