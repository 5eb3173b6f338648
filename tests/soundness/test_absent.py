"""Absent tables: an optional table a run never uses is left out of the proof (height 0, stark/verifying/shape.py).

Why that is sound: every optional table admits a padding-only trace (checked here, table by table, against its
own constraints: nothing sent or received), so an absent table is exactly such a trace; a prover that leaves out
a table the run *does* use loses that table's bus terms and the buses no longer balance (BusImbalance); a header
that marks a required table absent, or moves a height between 0 and non-zero, no longer has the proof's shape
(MalformedProof, before anything else is read).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import rv32asm as A  # noqa: E402

from zkvm import abi  # noqa: E402
from zkvm.circuit import dot, riscv_air, statement  # noqa: E402
from zkvm.circuit import sha256 as sha  # noqa: E402
from zkvm.circuit.families import fill_families  # noqa: E402
from zkvm.circuit.lookups import LookupSends  # noqa: E402
from zkvm.exec import Executor  # noqa: E402
from zkvm.stark.dsl.air import Air, Table  # noqa: E402
from zkvm.stark.dsl.check import check_trace  # noqa: E402
from zkvm.stark.verifying import blinding  # noqa: E402
from zkvm.stark.errors import (AirError, BusImbalance, MalformedProof, PublicInputMismatch,  # noqa: E402
                               TraceShapeError)
from zkvm.stark.dsl.traces import silent  # noqa: E402
from zkvm.stark.proving.prover import commit_fixed_data, prove  # noqa: E402
from zkvm.stark.verifying.options import ProofOptions  # noqa: E402
from zkvm.stark.verifying.proof import Proof  # noqa: E402
from zkvm.stark.verifying.verifier import verify  # noqa: E402

NO_ZK = ProofOptions(log_blowup=1, num_queries=24, grinding_bits=0, zk=False)
ZK = ProofOptions(grinding_bits=0)  # the defaults' zk plans (fixed tables are padded for them), no grinding
STATE = abi.TEXT_START + 0x2000
BLOCK = abi.TEXT_START + 0x2100
DA, DB = abi.TEXT_START + 0x2200, abi.TEXT_START + 0x2300
IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
SHA_TABLES = (sha.ROUND_NAME, sha.BLOCK_NAME, sha.K_NAME)
#: Header offset of the first table height: magic, version, options, the heights' u32 count.
HEIGHTS_AT = 8 + 2 + 7 + 4


def _image(use_sha: bool, use_dot: bool):
    code = []
    if use_sha:
        code += A.li("a0", STATE) + A.li("a1", BLOCK) + A.li("a2", 1) + A.li("a7", abi.ECALL_SHA256) + [A.ECALL]
    if use_dot:
        code += (A.li("a0", DA) + A.li("a1", DB) + A.li("a2", 16 | 128 << abi.DOT_ZP_SHIFT)
                 + A.li("a7", abi.ECALL_DOT_I8) + [A.ECALL])
    code += A.li("a0", 0) + A.halt()
    rng = np.random.default_rng(7)
    data = {STATE + 4 * i: v for i, v in enumerate(IV)}
    data.update({BLOCK + 4 * i: int(v) for i, v in enumerate(rng.integers(0, 1 << 32, 16, dtype=np.uint64))})
    data.update({base + 4 * i: int(v) for base in (DA, DB)
                 for i, v in enumerate(rng.integers(0, 1 << 32, 4, dtype=np.uint64))})
    return A.image(code, data)


_RUNS: dict = {}


def _run(use_sha: bool, use_dot: bool):
    """(setup, witness, fixed commitment) of the run (cached: tests tamper with copies)."""
    key = (use_sha, use_dot)
    if key not in _RUNS:
        image = _image(use_sha, use_dot)
        _, record = Executor(image, b"").record()
        s = riscv_air.setup(image)
        w = riscv_air.generate(s, record)
        _RUNS[key] = (s, w, commit_fixed_data(riscv_air.circuit().air, s.fixed))
    s, w, fc = _RUNS[key]
    return s, {k: v.copy() for k, v in w.main.items()}, w, fc


def _prove(use_sha: bool, use_dot: bool, options: ProofOptions, main=None):
    s, main0, w, fc = _run(use_sha, use_dot)
    air = riscv_air.circuit().air
    proof = prove(air, s.fixed, main0 if main is None else main, s.publics,
                  statement.public_terms(w.journal, w.exit_code), options, fixed_commitment=fc)
    return proof, s, w, fc


def _verify(proof, s, w, fc) -> None:
    verify(riscv_air.circuit().air, proof if isinstance(proof, Proof) else bytes(proof), s.publics,
           statement.public_terms(w.journal, w.exit_code), fc.digest, min_security_bits=0)


def _names() -> list[str]:
    return [t.name for t in riscv_air.circuit().air.tables]


# ---------------------------------------------------------------------------------------------- the AIR's side

def test_every_optional_table_has_a_valid_silent_padding_trace() -> None:
    """The soundness condition of ``Table.optional``: a trace of padding rows only satisfies the table's own
    constraints and sends/receives nothing. Padding traces come from the circuit's own fills with no work."""
    air = riscv_air.circuit().air
    s, main, w, _ = _run(False, False)
    pads = dict(main)
    pads.update(fill_families(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), LookupSends()))
    from zkvm.circuit import bytes as bytes_table
    from zkvm.circuit import range as range_table
    pads[range_table.NAME] = range_table.multiplicities(LookupSends())
    pads[bytes_table.NAME] = bytes_table.multiplicities(LookupSends())
    optional = [t for t in air.tables if t.optional]
    assert {t.name for t in optional} >= {dot.NAME, *SHA_TABLES, "alu", "shift", "mul", "div", "zinit",
                                          range_table.NAME, bytes_table.NAME}
    checked = set()
    for t in optional:
        trace = pads[t.name]
        fixed = s.fixed.get(t.name)
        ct = next(c for c in air.compile().tables if c.name == t.name)
        if not silent(ct, trace, fixed, s.publics):
            continue  # used even by this run; covered below only if a padding fill exists
        one = Air(f"pad-{t.name}", [t], publics=air.publics)  # its constraints alone, and only its bus terms
        check_trace(one, {t.name: fixed} if fixed is not None else {}, {t.name: trace}, s.publics)
        checked.add(t.name)
    missing = {t.name for t in optional} - checked
    assert not missing, f"no padding-only trace checked for {sorted(missing)}"


def test_optional_table_boundary_constraint_on_a_public_is_refused() -> None:
    t = Table("acc", optional=True)
    x = t.main("x")
    air = Air("a", [t], publics=["start"])
    t.first("x_start", x - air.public("start"))
    with pytest.raises(AirError, match="optional"):
        air.compile()


def test_required_table_with_zero_rows_is_refused_by_the_prover() -> None:
    s, main, w, fc = _run(False, False)
    main["cpu"] = main["cpu"][:0]
    with pytest.raises(TraceShapeError, match="not optional"):
        _prove(False, False, NO_ZK, main)


# ---------------------------------------------------------------------------------------------- honest proofs

@pytest.mark.parametrize("options", [NO_ZK, ZK], ids=["no-zk", "zk"])
@pytest.mark.parametrize("use_sha, use_dot", [(False, False), (True, False), (False, True), (True, True)],
                         ids=["none", "sha", "dot", "both"])
def test_proofs_leave_out_exactly_the_unused_tables(use_sha: bool, use_dot: bool, options) -> None:
    proof, s, w, fc = _prove(use_sha, use_dot, options)
    heights = dict(zip(_names(), proof.log_heights))
    for name in SHA_TABLES:
        assert (heights[name] == 0) == (not use_sha), name
    assert (heights[dot.NAME] == 0) == (not use_dot)
    assert heights["cpu"] and heights["program"] and heights["mul"] == 0  # no multiply in these programs
    if options.zk:  # the hub holds one tuple per present blinded table (+ the zero tuple)
        ca = blinding.compiled_air(riscv_air.circuit().air, True)
        assert proof.log_heights[-1] == blinding.hub_log_height(len(blinding.blinded_tables(ca, proof.log_heights)))
    _verify(proof.to_bytes(), s, w, fc)
    _verify(proof, s, w, fc)


# ---------------------------------------------------------------------------------------------- dishonest ones

@pytest.mark.parametrize("options", [NO_ZK, ZK], ids=["no-zk", "zk"])
@pytest.mark.parametrize("table", [dot.NAME, sha.ROUND_NAME, sha.BLOCK_NAME, sha.K_NAME, "alu"])
def test_used_table_left_out_unbalances_the_buses(table: str, options) -> None:
    """A prover that drops a table the run uses (a consistent proof of the rest) loses its bus terms."""
    s, main, w, fc = _run(True, True)
    main[table] = main[table][:0]
    proof, *_ = _prove(True, True, options, main)
    assert dict(zip(_names(), proof.log_heights))[table] == 0
    with pytest.raises(BusImbalance):
        _verify(proof.to_bytes(), s, w, fc)


@pytest.fixture(scope="module")
def sparse():
    """A no-zk proof of the run without accelerators (dot and SHA tables absent), as bytes."""
    proof, s, w, fc = _prove(False, False, NO_ZK)
    return proof.to_bytes(), s, w, fc


def _set_height(data: bytes, table: str, log_h: int) -> bytes:
    i = HEIGHTS_AT + _names().index(table)
    return data[:i] + bytes([log_h]) + data[i + 1:]


@pytest.mark.parametrize("table", ["cpu", "program", "regs", "image"])
def test_header_marking_a_required_table_absent_is_refused(sparse, table: str) -> None:
    data, s, w, fc = sparse
    with pytest.raises(MalformedProof, match=f"{table!r} may not be absent"):
        _verify(_set_height(data, table, 0), s, w, fc)


@pytest.mark.parametrize("table, log_h", [(dot.NAME, 2), (sha.ROUND_NAME, 2), (sha.K_NAME, 6), ("alu", 0),
                                          ("range16", 0)])
def test_height_moved_between_absent_and_present_is_refused(sparse, table: str, log_h: int) -> None:
    data, s, w, fc = sparse
    assert (Proof.read_header(data)[1][_names().index(table)] == 0) != (log_h == 0)
    with pytest.raises(MalformedProof):
        _verify(_set_height(data, table, log_h), s, w, fc)


def test_proof_object_with_a_height_moved_to_zero_is_refused(sparse) -> None:
    data, s, w, fc = sparse
    proof = Proof.from_bytes(data, riscv_air.circuit().air)
    proof.log_heights[_names().index("alu")] = 0
    with pytest.raises(MalformedProof):
        _verify(proof, s, w, fc)


def _fixed_heights_at(data: bytes) -> int:
    return HEIGHTS_AT + len(Proof.read_header(data)[1]) + 4


def test_fixed_height_of_a_present_table_must_match_its_height(sparse) -> None:
    data, s, w, fc = sparse
    i = _fixed_heights_at(data)  # the first table with fixed columns: program (present)
    bad = data[:i] + bytes([data[i] + 1]) + data[i + 1:]
    with pytest.raises(MalformedProof, match="its fixed columns"):
        _verify(bad, s, w, fc)


def test_fixed_height_of_an_absent_table_is_bound_by_the_fixed_digest(sparse) -> None:
    data, s, w, fc = sparse
    proof = Proof.from_bytes(data, riscv_air.circuit().air)
    fixed_names = [t.name for t in riscv_air.circuit().air.tables if t.fixed_names]
    k = fixed_names.index(sha.K_NAME)
    assert proof.log_heights[_names().index(sha.K_NAME)] == 0
    i = _fixed_heights_at(data) + k
    bad = data[:i] + bytes([data[i] + 1]) + data[i + 1:]
    with pytest.raises(PublicInputMismatch, match="fixed commitment"):
        _verify(bad, s, w, fc)
    assert struct.unpack_from("<I", data, _fixed_heights_at(data) - 4)[0] == len(fixed_names)


# ---------------------------------------------------------------------------------------------- options per proof

def test_smallest_options_keep_security_and_are_no_larger() -> None:
    """The receipt prover picks the FRI arity and final length per proof (shape.smallest_options): never fewer
    conjectured bits than the defaults, never a larger expected proof, and the heights it plans for are the
    ones the proof gets."""
    from zkvm.stark.proving.prover import proof_log_heights
    from zkvm.stark.verifying.options import default_options
    from zkvm.stark.verifying.shape import expected_proof_bytes, smallest_options

    air = riscv_air.circuit().air
    s, main, w, fc = _run(True, False)
    base = default_options(True)
    heights = proof_log_heights(air, s.fixed, main, s.publics, True)
    best = smallest_options(air, base, heights)
    assert best.security_bits >= base.security_bits
    assert (best.log_blowup, best.num_queries, best.grinding_bits, best.zk) == (
        base.log_blowup, base.num_queries, base.grinding_bits, base.zk)
    assert expected_proof_bytes(air, best, heights) <= expected_proof_bytes(air, base, heights)
    proof, *_ = _prove(True, False, best, main)
    assert proof.log_heights == heights
    _verify(proof.to_bytes(), s, w, fc)
