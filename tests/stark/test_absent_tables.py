"""Absent tables on a small AIR: an optional lookup table nobody uses is left out; the prover and the parser
refuse a proof with no table at all."""

from __future__ import annotations

import numpy as np
import pytest

from .airs import FAST, FAST_ZK
from zkvm.errors import InputError
from zkvm.stark import Air, Table, prove, verify
from zkvm.stark.errors import MalformedProof
from zkvm.stark.proving.prover import commit_fixed
from zkvm.stark.verifying.shape import proof_shape


def _air(vals_optional: bool = False) -> Air:
    rt = Table("range", optional=True)
    rt.receive("range4", [rt.fixed("value")], mult=rt.main("mult"))
    vt = Table("vals", optional=vals_optional)
    x, s = vt.main("x"), vt.main("s")
    vt.always("s_bool", s * (1 - s))
    vt.send("range4", [x], mult=s)
    return Air("absent-toy", [rt, vt])


def _traces(used: bool):
    x = np.arange(8, dtype=np.uint32) % 16
    s = np.full(8, int(used), dtype=np.uint32)
    counts = np.bincount(x[s == 1], minlength=16).astype(np.uint32)
    fixed = {"range": np.arange(16, dtype=np.uint32)[:, None]}
    return fixed, {"range": counts[:, None], "vals": np.stack([x, s], axis=1)}


@pytest.mark.parametrize("options", [FAST, FAST_ZK], ids=["no-zk", "zk"])
@pytest.mark.parametrize("used", [False, True])
def test_unused_lookup_table_is_absent_and_the_proof_verifies(used: bool, options) -> None:
    air = _air()
    fixed, main = _traces(used)
    proof = prove(air, fixed, main, {}, options=options)
    assert (proof.log_heights[0] == 0) == (not used) and proof.log_heights[1] == 3
    verify(air, proof.to_bytes(), {}, fixed_digest=commit_fixed(air, fixed), min_security_bits=0)


def test_no_table_present_is_refused() -> None:
    air = _air(vals_optional=True)
    fixed, main = _traces(False)
    with pytest.raises(InputError, match="every table is absent"):
        prove(air, fixed, main, {}, options=FAST)
    with pytest.raises(MalformedProof, match="every table is absent"):
        proof_shape(air, FAST, [0, 0])
