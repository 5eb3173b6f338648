"""Bit-exactness: the guest's journal (prediction + logits + digests) equals, byte for byte, what the numpy
reference of the integer network predicts, on >= 200 test inputs per model, for the public-model guest
(model linked in) and the private-model guest (model and salt in the input, commitment in the journal). Runs the real RV32IM guest on the
interpreter and the same C natively."""

from __future__ import annotations

import numpy as np
import pytest

from host.ml import guest_io
from ml_support import (PRIVATE_GUEST, REPO, TEST_SALT, InterpreterRunner, NativeRunner, expected, interpreter_available,
                        model, public_guest_dir)

N_INPUTS = 200
BACKENDS = ["native", "interpreter"]


def _runner(backend: str, guest_dir):
    if backend == "interpreter":
        if not interpreter_available():
            pytest.skip("interpreter (zkvm.exec) not built")
        return InterpreterRunner(guest_dir)
    return NativeRunner(guest_dir / "main.c")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_public_model_guest_matches_reference(name: str, backend: str) -> None:
    _, qm, _, xte, _ = model(name)
    run = _runner(backend, public_guest_dir(name))
    xq = qm.quantize_input(xte[:N_INPUTS])
    assert len(xq) >= 200
    for i, x in enumerate(xq):
        publish = i % 3 == 0  # also cover the public-input journal layouts
        digest = i % 6 == 0
        code, journal = run(guest_io.encode_request(x, None, publish, digest))
        assert code == 0, f"model {name} input {i}: exit {code}"
        assert journal == expected(qm, None, x, publish, digest), f"model {name} input {i} ({backend})"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_private_model_guest_matches_reference(name: str, backend: str) -> None:
    """The generic guest hashes salt and blob for the commitment; model B's 100 KB blob makes this the slow
    part, so the private-model guest runs on fewer inputs (the inference code is the same as above)."""
    _, qm, blob, xte, _ = model(name)
    run = _runner(backend, PRIVATE_GUEST)
    count = 20 if name == "b" else 60
    for i, x in enumerate(qm.quantize_input(xte[:count])):
        code, journal = run(guest_io.encode_request(x, blob, i % 2 == 0, salt=TEST_SALT))
        assert code == 0, f"model {name} input {i}: exit {code}"
        assert journal == expected(qm, blob, x, i % 2 == 0), f"model {name} input {i} ({backend})"


@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_guest_without_accelerator_matches_reference(name: str) -> None:
    """The same guest built with NN_NO_DOT_ECALL (plain RV32IM inner loops) is bit-exact too, and makes no
    DOT_I8 call; the accelerated build makes them (so the two builds above really differ)."""
    from host.ml.models import NO_ACCEL_DEFINE
    from zkvm import abi
    from zkvm.exec import Executor

    if not interpreter_available():
        pytest.skip("interpreter (zkvm.exec) not built")
    _, qm, _, xte, _ = model(name)
    plain = InterpreterRunner(public_guest_dir(name), (NO_ACCEL_DEFINE,))
    accel = InterpreterRunner(public_guest_dir(name))
    for i, x in enumerate(qm.quantize_input(xte[:20])):
        code, journal = plain(guest_io.encode_request(x, None, False))
        assert code == 0 and journal == expected(qm, None, x, False), f"model {name} input {i}"
    request = guest_io.encode_request(qm.quantize_input(xte[:1])[0], None, False)
    calls = []
    for runner in (plain, accel):
        _, rec = Executor(runner.image, request).record()
        calls.append(int(np.sum((np.asarray(rec.a7_val) == abi.ECALL_DOT_I8) & (np.asarray(rec.insn) == 0x73))))
    assert calls[0] == 0 and calls[1] > 0, calls


def test_fixed_point_primitives_match_reference() -> None:
    """C fixed-point primitives and the kernels' requantisation (nn_requantize) vs the numpy reference on edge
    cases and random values (seed printed); requantisation with every (zp, act_min, act_max) kind: a fused
    ReLU, full range, a narrow band, a single value, and with small multipliers (unclamped results, so the
    rounding of negative ties and the saturation of the left pre-shift show)."""
    from host.ml import reference
    from host.ml.blob import Requant
    from ml_support import native

    seed = 1234
    rng = np.random.default_rng(seed)
    edge_x = [0, 1, -1, 2**31 - 1, -(2**31), 12345, -12345, 2**30, -(2**30) - 1]
    edge_m = [0, 1, 2**30, 2**31 - 1, -(2**31), 1518500250]
    rows = [(x, m, s) for x in edge_x for m in edge_m for s in (-31, -5, -1, 0, 1, 7, 30)]
    rx = rng.integers(-(2**31), 2**31, 3000)
    rm = rng.integers(0, 2**31, 3000)
    rs = rng.integers(-31, 31, 3000)
    rows += list(zip(rx.tolist(), rm.tolist(), rs.tolist()))
    # small accumulators and log-uniform multipliers: results inside the int8 range, pre-shifts near saturation
    n = 6000
    rx = np.round(rng.choice([-1, 1], n) * 2.0 ** rng.uniform(0, 31, n)).clip(-(2**31), 2**31 - 1).astype(np.int64)
    rm = (2.0 ** rng.uniform(0, 31, n)).clip(0, 2**31 - 1).astype(np.int64)
    rows += list(zip(rx.tolist(), rm.tolist(), rng.integers(-31, 31, n).tolist()))
    clamps = [(0, -128, 127), (-128, -128, 127), (127, -128, 127), (5, 5, 127), (-3, -128, 40), (10, -20, -20),
              (-100, -100, 127), (0, 0, 0)]
    rows = [(x, m, s, *clamps[i % len(clamps)]) for i, (x, m, s) in enumerate(rows)]
    binary = native.build_native(REPO / "tests" / "nn_native" / "fixedpoint_main.c", name="fixedpoint")
    text = "".join(" ".join(map(str, r)) + "\n" for r in rows).encode()
    code, out, err = native.run_native(binary, text)
    assert code == 0, err
    got = np.array([list(map(int, line.split())) for line in out.decode().splitlines()], dtype=np.int64)
    x, m, s, zp, lo, hi = (np.array(c, dtype=np.int64) for c in zip(*rows))
    requant = np.zeros(len(rows), np.int64)
    for k, (z, a, b) in enumerate(clamps):  # the reference's requantize, one (zp, min, max) at a time
        sel = np.arange(len(rows)) % len(clamps) == k
        q = Requant(np.zeros(sel.sum(), np.int32), m[sel] & 0x7FFFFFFF, s[sel], z, a, b, 1.0)
        requant[sel] = reference.requantize(x[sel], q, 0)
    want = np.stack([
        reference.sat_rounding_doubling_high_mul(x, m),
        reference.rounding_divide_by_pot(x, np.abs(s) % 32),
        reference.multiply_by_quantized_multiplier(x, m, s),
        requant,
    ], axis=1)
    bad = np.nonzero((got != want).any(axis=1))[0]
    assert len(bad) == 0, f"seed {seed}: first mismatch {rows[bad[0]]}: C {got[bad[0]]} vs numpy {want[bad[0]]}"


def test_fixed_point_known_values() -> None:
    """Hand-computed TFLite values, so the reference itself is pinned."""
    from host.ml import reference as r

    assert r.sat_rounding_doubling_high_mul(-(2**31), -(2**31)) == 2**31 - 1
    assert r.sat_rounding_doubling_high_mul(2**30, 2**30) == 2**29  # 0.5 * 0.5 = 0.25 in Q31
    assert r.sat_rounding_doubling_high_mul(3, 2**30) == 2  # 1.5 rounds away from zero
    assert r.sat_rounding_doubling_high_mul(-3, 2**30) == -1  # TFLite nudge: negative halves go toward zero
    assert r.sat_rounding_doubling_high_mul(-5, 2**30) == -2
    assert r.rounding_divide_by_pot(5, 1) == 3 and r.rounding_divide_by_pot(-5, 1) == -3
    assert r.rounding_divide_by_pot(4, 1) == 2 and r.rounding_divide_by_pot(7, 2) == 2
    assert r.multiply_by_quantized_multiplier(1000, 2**30, -1) == 250
    assert r.multiply_by_quantized_multiplier(1000, 2**30, 2) == 2000


def _conv_model(seed: int, in_shape, out_c: int, kernel, stride, pads):
    """One CONV2D (+ relu, flatten, a small dense) with random weights, quantised on random calibration data."""
    from host.ml.float_model import FConv, FDense, FFlatten, FloatModel, FRelu
    from host.ml.quantize import quantize

    rng = np.random.default_rng([20261202, seed])
    c, h, w = in_shape
    oh = (h + pads[0] + pads[2] - kernel[0]) // stride[0] + 1
    ow = (w + pads[1] + pads[3] - kernel[1]) // stride[1] + 1
    fm = FloatModel(in_shape, [
        FConv(rng.normal(0, 0.3, (out_c, c, *kernel)), rng.normal(0, 0.1, out_c), stride, pads), FRelu(), FFlatten(),
        FDense(rng.normal(0, 0.2, (5, out_c * oh * ow)), rng.normal(0, 0.1, 5)),
    ], input_range=(-1.0, 1.0))
    n = c * h * w
    return quantize(fm, rng.uniform(-1, 1, (64, n))), rng.uniform(-1, 1, (12, n))


#: Shapes that drive each path of the accelerated CONV2D (guest/nn/nn.c conv2d_dot): word gathers from shifted
#: copies of every residue mixed with byte gathers of padded windows, two input channels (kernel rows of 1, 2
#: and 3 words); copies that stop fitting the scratch (those windows take the byte path) with patch batches
#: smaller than the output, the last one partial; weights too large for the scratch (the plain loop).
CONV_CASES = {
    "residues_and_padding": ((2, 12, 12), 3, (3, 3), (1, 1), (1, 1, 1, 1)),
    "wide_kernel": ((1, 8, 16), 2, (2, 9), (1, 2), (0, 0, 0, 0)),
    "narrow_kernel_bottom_pad": ((3, 8, 8), 4, (3, 4), (2, 1), (0, 0, 1, 0)),
    "scratch_full": ((4, 16, 16), 16, (5, 5), (3, 3), (0, 0, 0, 0)),
    "weights_too_large": ((1, 4, 4), 64, (4, 4), (1, 1), (0, 0, 0, 0)),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_accelerated_conv_paths_match_reference(case: str) -> None:
    """The accelerated guest (and the plain build) equal the reference on convolutions that exercise every
    gather path of the accelerated CONV2D."""
    from host.ml.models import NO_ACCEL_DEFINE

    if not interpreter_available():
        pytest.skip("interpreter (zkvm.exec) not built")
    qm, xs = _conv_model(sorted(CONV_CASES).index(case), *CONV_CASES[case])
    blob = qm.to_bytes()
    for runner in (InterpreterRunner(PRIVATE_GUEST), InterpreterRunner(PRIVATE_GUEST, (NO_ACCEL_DEFINE,))):
        for i, x in enumerate(qm.quantize_input(xs)):
            code, journal = runner(guest_io.encode_request(x, blob, True, salt=TEST_SALT))
            assert code == 0, f"{case} input {i}: exit {code}"
            assert journal == expected(qm, blob, x, True), f"{case} input {i}"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("which", ["a", "c", "synthetic"])
def test_requantisation_across_the_shift_range(which: str, backend: str) -> None:
    """Every DENSE/CONV2D channel gets a shift drawn from [-31, 30] -- left shifts (real multiplier >= 1,
    saturating pre-shift) as well as right ones -- and a random multiplier: guest == reference, on word-aligned
    parameter arrays (A, C: the accelerated kernels' word loads) and unaligned ones (synthetic)."""
    import copy

    from test_ml_fuzz import synthetic_model

    rng = np.random.default_rng([20261202, 7])
    if which == "synthetic":
        qm, xs = synthetic_model()
    else:
        _, qm, _, xs, _ = model(which)
    qm = copy.deepcopy(qm)
    for layer in qm.layers:
        if hasattr(layer, "q"):
            n = len(layer.q.shift)
            layer.q.shift = rng.integers(-31, 31, n).astype(np.int32)
            # log-uniform: small multipliers keep large (and saturated) pre-shifts off the clamp bounds
            layer.q.mult = np.minimum(2.0 ** rng.uniform(0, 31, n), 2**31 - 1).astype(np.int64).astype(np.int32)
    blob = qm.to_bytes()
    run = _runner(backend, PRIVATE_GUEST)
    for i, x in enumerate(qm.quantize_input(xs[:20])):
        code, journal = run(guest_io.encode_request(x, blob, True, salt=TEST_SALT))
        assert code == 0 and journal == expected(qm, blob, x, True), f"{which} input {i}"


def test_accelerated_guests_stay_in_their_table_heights() -> None:
    """Proving cost follows padded power-of-two table heights, so the engine keeps these (deterministic cycle
    and code counts, not timings): the ML guests' code under 4,096 instruction words (program table 2^12), and
    the public-model inference of B under 2^14 cycles, C under 2^16 (CPU tables; see guest/nn/README.md)."""
    from zkvm.exec import Executor

    if not interpreter_available():
        pytest.skip("interpreter (zkvm.exec) not built")
    words = {"private": len(InterpreterRunner(PRIVATE_GUEST).image.program())}
    for name, budget in (("a", 1 << 13), ("b", 1 << 14), ("c", 1 << 16)):
        _, qm, _, xte, _ = model(name)
        runner = InterpreterRunner(public_guest_dir(name))
        words[name] = len(runner.image.program())
        for i, x in enumerate(qm.quantize_input(xte[:3])):
            cycles = Executor(runner.image, guest_io.encode_request(x, None, False)).run().cycles
            assert cycles < budget, f"model {name} input {i}: {cycles} cycles, over 2^{budget.bit_length() - 1}"
    assert max(words.values()) < 4096, words
