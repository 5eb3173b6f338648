"""The sparse image table (memory.py): only the image's non-zero words have rows, zero-initialised words
(zinit) must lie in one of the gaps the image table commits. A cheater who wants to read something else than
an image word's committed value, or to give an image word a second (zero) initialisation, is stopped."""

from __future__ import annotations

import numpy as np
import pytest

import harness as H
from zkvm.errors import VerificationError
from zkvm.stark.errors import BusError


@pytest.fixture(scope="module")
def honest():
    return H.honest_run()


@pytest.fixture
def run(honest):
    return H.fresh_copy(honest)


def _zero_load_of_image_word(run):
    """Make the `lw_image` load read 0 through a zinit chain of the image word; returns (word, image row)."""
    t = run.cycle_of("lw_image")
    w = H.get_cpu(run, t, "maddr")
    H.set_cpu(run, t, m_lo=0, m_hi=0, n_lo=0, n_hi=0, mb0=0, mb1=0, mb2=0, mb3=0, sel_byte=0, res_lo=0,
              res_hi=0, wv_lo=0, wv_hi=0)
    H.set_reg_final(run, 12, 0)  # a2 is never touched again
    row = int(np.searchsorted(run.setup.image_w, w))
    assert run.setup.image_w[row] == w
    image = run.witness.main["image"]
    image[row, :3] = [run.setup.words[row] & 0xFFFF, run.setup.words[row] >> 16, 0]  # the image word: untouched
    ts = 4 * H.get_cpu(run, t, "clk") + 2
    return w, row, sorted(H.zinit_cells(run) + [(w, 0, ts)])


def test_image_word_zero_initialised_through_a_forged_gap(run):
    """The zinit row of an image word claims the gap (w, w), which no image row has: the ranges hold, the
    gap bus does not balance."""
    w, _, cells = _zero_load_of_image_word(run)
    run.witness.main["zinit"] = H.zinit_trace(run, cells, {w: (w, w)})
    H.rebalance_lookups(run)
    H.expect_rejected(run, BusError, "gap")


def test_image_word_zero_initialised_through_the_gap_below_it(run):
    """... or claims the real gap just below the word (its gap_hi is w - 1): gap_hi - w = -1 fails the range
    check."""
    w, row, cells = _zero_load_of_image_word(run)
    below = row - 1 if row > 0 else len(run.setup.image_w)  # the gap ending at w - 1
    assert int(run.setup.fixed["image"][below, 5]) == w - 1
    run.witness.main["zinit"] = H.zinit_trace(run, cells, {w: below})
    H.rebalance_lookups(run)
    with pytest.raises(BusError) as info:
        H.check(run)
    assert info.value.bus in ("range16", "bytes"), info.value
    with pytest.raises(VerificationError):
        H.prove_and_verify(run)


def test_forged_image_init_value(run):
    """The load of the image word reads a value other than the committed one (the image table's final value
    agrees with the load): the image table's init send carries the committed value, so "mem" does not balance."""
    t = run.cycle_of("lw_image")
    m_lo = H.get_cpu(run, t, "m_lo")
    wrong = m_lo ^ 1
    mb0 = H.get_cpu(run, t, "mb0") ^ 1
    H.set_cpu(run, t, m_lo=wrong, n_lo=wrong, res_lo=wrong, wv_lo=wrong, mb0=mb0, sel_byte=mb0)
    H.set_reg_final(run, 12, wrong | (H.get_cpu(run, t, "res_hi") << 16))
    w = H.get_cpu(run, t, "maddr")
    row = int(np.searchsorted(run.setup.image_w, w))
    run.witness.main["image"][row, 0] = wrong
    H.rebalance_lookups(run)
    H.expect_rejected(run, BusError, "mem")
