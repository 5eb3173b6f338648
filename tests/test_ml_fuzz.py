"""Model-blob fuzzing: truncated, bit-flipped and field-mutated blobs fed to the private-model guest (the blob
comes in its input). The guest must exit with exactly the code the host-side strict parser predicts (a
documented EXIT_NN_* code, or 0 and a journal equal to the reference when the mutation still makes a valid
model) and must never trap or read out of bounds: on the interpreter any out-of-range access is a GuestError, natively the engine runs under
AddressSanitizer + UBSan."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from host.ml import guest_io
from host.ml.blob import BlobError
from host.ml.blob_decode import decode_blob as decode
from host.ml.float_model import (FAct, FAdd, FConv, FDense, FFlatten, FGlobalAvgPool, FloatModel, FPool, FRelu,
                                 FSave)
from host.ml.quantize import quantize
from ml_support import PRIVATE_GUEST, TEST_SALT, InterpreterRunner, NativeRunner, expected, interpreter_available, model
from zkvm import abi

SEED = 20261125
INTERESTING = [0, 1, 2, 3, 4, 5, 7, 8, 16, 17, 127, 128, 255, 4095, 4096, 4097, 1 << 16, 1 << 18, (1 << 18) + 1,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFF80, 0xFFFFFFE1, 31, 30, 0xFFFFFFE0]


def synthetic_model():
    """A small network using every layer kind: padded strided conv, standalone relu, max and average pool
    with padding, flatten, dense."""
    rng = np.random.default_rng(SEED)
    fm = FloatModel((2, 9, 9), [
        FConv(rng.normal(0, 0.4, (3, 2, 3, 3)), rng.normal(0, 0.1, 3), (2, 1), (1, 2, 0, 1)),
        FRelu(),
        FPool(True, (2, 3), (1, 2), (1, 0, 1, 2)),
        FPool(False, (3, 2), (2, 1), (2, 1, 1, 0)),
        FFlatten(),
        FDense(rng.normal(0, 0.3, (7, 3 * 3 * 5)), rng.normal(0, 0.1, 7)),
    ], input_range=(-1.0, 1.0))
    calib = rng.uniform(-1, 1, (64, 2 * 9 * 9))
    qm = quantize(fm, calib)
    return qm, rng.uniform(-1, 1, (40, 2 * 9 * 9))


def synthetic_v2_model():
    """The layer kinds of blob version 2 as well: a residual block (SAVE / ADD), LUTs (leaky relu, sigmoid, tanh,
    a standalone clip), global average pooling."""
    rng = np.random.default_rng([SEED, 2])
    fm = FloatModel((2, 7, 7), [
        FConv(rng.normal(0, .4, (4, 2, 3, 3)), rng.normal(0, .1, 4), (1, 1), (1, 1, 1, 1)), FRelu(), FSave(),
        FConv(rng.normal(0, .4, (4, 4, 3, 3)), rng.normal(0, .1, 4), (1, 1), (1, 1, 1, 1)), FAct("leakyrelu", 0.1),
        FAdd(), FRelu(), FAct("sigmoid"), FGlobalAvgPool(), FFlatten(),
        FDense(rng.normal(0, .5, (6, 4)), rng.normal(0, .1, 6)), FAct("tanh"), FSave(),
        FAct("clip", lo=-0.3, hi=0.5), FAdd()], input_range=(-1.0, 1.0))
    qm = quantize(fm, rng.uniform(-1, 1, (64, 98)))
    return qm, rng.uniform(-1, 1, (40, 98))


def mutations(blob: bytes, rng: np.random.Generator, count: int):
    n = len(blob)
    cuts = sorted(set(list(range(0, min(n, 80))) + rng.integers(0, n, 20).tolist()))
    for cut in cuts:
        yield f"truncate@{cut}", blob[:cut]
    yield "trailing", blob + b"\x00"
    yield "magic", b"ZKNX" + blob[4:]
    for version in (0, 1, 3):  # 1: the old format, which has no layer kinds above FLATTEN
        yield f"version {version}", blob[:4] + struct.pack("<I", version) + blob[8:]
    for _ in range(count):
        b = bytearray(blob)
        kind = rng.integers(0, 3)
        if kind == 0:  # structural field: header or the first words of a layer record
            off = int(rng.choice(_field_offsets(blob)))
            struct.pack_into("<I", b, off, int(rng.choice(INTERESTING)))
            yield f"field@{off}", bytes(b)
        elif kind == 1:
            off = int(rng.integers(0, n))
            b[off] ^= 1 << int(rng.integers(0, 8))
            yield f"bitflip@{off}", bytes(b)
        else:
            off = int(rng.integers(0, n - 4))
            struct.pack_into("<I", b, off, int(rng.choice(INTERESTING)))
            yield f"word@{off}", bytes(b)


def _field_offsets(blob: bytes) -> list[int]:
    """Offsets of the header words and of each layer's type, length and first 14 body words."""
    offs = list(range(4, 32, 4))
    pos, n_layers = 32, struct.unpack_from("<I", blob, 8)[0]
    for _ in range(n_layers):
        _, body_len = struct.unpack_from("<II", blob, pos)
        offs += [pos, pos + 4] + [pos + 8 + 4 * k for k in range(min(14, body_len // 4))]
        pos += 8 + body_len
    return offs


def _check(run, qm_ok, blob: bytes, x: np.ndarray, label: str) -> None:
    try:
        mutated_model = decode(blob)
        want_code = 0
    except BlobError as exc:
        mutated_model, want_code = None, exc.code
    n_in = int(np.prod(qm_ok.input_shape))
    if mutated_model is not None and int(np.prod(mutated_model.input_shape)) != n_in:
        want_code = abi.EXIT_NN_BAD_INPUT  # the request's input no longer fits the model
    code, journal = run(guest_io.encode_request(x, blob, False, salt=TEST_SALT))
    assert code == want_code, f"seed {SEED} {label}: guest exit {code}, expected {want_code}"
    assert code == 0 or code in abi.EXIT_CODES.values(), f"seed {SEED} {label}: undocumented code {code}"
    if code == 0:
        assert journal == expected(mutated_model, blob, x, False), f"seed {SEED} {label}: journal mismatch"


def _runner(backend: str):
    guest = PRIVATE_GUEST
    if backend == "interpreter":
        if not interpreter_available():
            pytest.skip("interpreter (zkvm.exec) not built")
        return InterpreterRunner(guest)
    return NativeRunner(guest / "main.c", sanitize=True)


def _fuzz_blobs(which: str, backend: str, count: int) -> None:
    rng = np.random.default_rng([SEED, ord(which[0]), len(which)])
    if which.startswith("synthetic"):
        qm, xs = synthetic_model() if which == "synthetic" else synthetic_v2_model()
        x = qm.quantize_input(xs[0])
    else:
        _, qm, _, xte, _ = model(which)
        x = qm.quantize_input(xte[0])
    run = _runner(backend.split("-")[0])
    codes = set()
    for label, blob in mutations(qm.to_bytes(), rng, count):
        _check(run, qm, blob, x, f"{which} {label}")
        try:
            decode(blob)
        except BlobError as exc:
            codes.add(exc.code)
    # The mutations must actually reach the checks, not just one of them.
    assert {abi.EXIT_NN_TRUNCATED, abi.EXIT_NN_BAD_MAGIC, abi.EXIT_NN_BAD_LAYER} <= codes, codes


@pytest.mark.parametrize("backend", ["native-asan", "interpreter"])
@pytest.mark.parametrize("which", ["a", "c", "synthetic", "synthetic_v2"])
def test_mutated_blobs_give_documented_exit_codes(which: str, backend: str) -> None:
    """4 models x ~260 mutated blobs (>= 1,000), each on both backends."""
    _fuzz_blobs(which, backend, 150)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["native-asan", "interpreter"])
@pytest.mark.parametrize("which", ["a", "c", "synthetic", "synthetic_v2"])
def test_mutated_blobs_long(which: str, backend: str) -> None:
    """4 models x 2,600 mutated blobs (>= 10^4) on each backend."""
    _fuzz_blobs(which, backend, 2500)


@pytest.mark.parametrize("which", ["v1", "v2"])
@pytest.mark.parametrize("backend", ["native", "interpreter"])
def test_every_layer_kind_is_bit_exact(backend: str, which: str) -> None:
    """Padded strided conv, relu, max/avg pool with padding, flatten, dense; and version 2's residual save/add,
    lookup tables and global average pool: guest == reference."""
    qm, xs = synthetic_model() if which == "v1" else synthetic_v2_model()
    blob = qm.to_bytes()
    run = _runner(backend) if backend == "interpreter" else NativeRunner(PRIVATE_GUEST / "main.c")
    for i, x in enumerate(qm.quantize_input(xs)):
        code, journal = run(guest_io.encode_request(x, blob, True, salt=TEST_SALT))
        assert code == 0, f"input {i}: exit {code}"
        assert journal == expected(qm, blob, x, True), f"seed {SEED} input {i}"


def test_bad_requests_are_rejected() -> None:
    _, qm, blob, xte, _ = model("a")
    run = NativeRunner(PRIVATE_GUEST / "main.c", sanitize=True)
    x = qm.quantize_input(xte[0])
    good = guest_io.encode_request(x, blob, False, salt=TEST_SALT)
    assert run(good)[0] == 0
    assert run(good + b"\x00")[0] == abi.EXIT_NN_BAD_INPUT  # trailing input
    assert run(good[:-1])[0] == abi.EXIT_NN_BAD_INPUT  # short input tensor
    assert run(struct.pack("<I", 4) + good[4:])[0] == abi.EXIT_NN_BAD_INPUT  # unknown flag
    assert run(struct.pack("<I", 3) + good[4:])[0] == abi.EXIT_NN_BAD_INPUT  # both publish modes
    assert run(b"")[0] == abi.EXIT_NN_BAD_INPUT
    head = good[: 4 + len(TEST_SALT)]  # flags, salt
    assert run(good[:4] + TEST_SALT[:10])[0] == abi.EXIT_NN_TRUNCATED  # short salt
    assert run(head)[0] == abi.EXIT_NN_TRUNCATED  # no blob length
    assert run(head + struct.pack("<I", abi.MAX_INPUT_BYTES))[0] == abi.EXIT_NN_TOO_LARGE
    assert run(head + struct.pack("<I", len(blob) + 10) + blob)[0] == abi.EXIT_NN_TRUNCATED


def _requant_param_offsets(blob: bytes) -> list[tuple[int, int, int]]:
    """(offset of mult[0], offset of shift[0], channels) of every DENSE and CONV2D layer of a blob."""
    out, pos = [], 32
    for _ in range(struct.unpack_from("<I", blob, 8)[0]):
        kind, body_len = struct.unpack_from("<II", blob, pos)
        body = pos + 8
        if kind == 1:  # DENSE: in_n, out_n, out_zp, act_min, act_max, scale, w[out][in], bias, mult, shift
            in_n, n = struct.unpack_from("<II", blob, body)
            weights, head = in_n * n, 6
        elif kind == 2:  # CONV2D: in_c, out_c, kh, kw, 6 more window words, 4 quant words, w, bias, mult, shift
            in_c, n, kh, kw = struct.unpack_from("<IIII", blob, body)
            weights, head = n * in_c * kh * kw, 14
        else:
            pos = body + body_len
            continue
        mult = body + 4 * head + weights + 4 * n
        out.append((mult, mult + 4 * n, n))
        pos = body + body_len
    return out


@pytest.mark.parametrize("backend", ["native-asan", "interpreter"])
@pytest.mark.parametrize("which", ["a", "synthetic"])
def test_requant_params_out_of_range_are_rejected(which: str, backend: str) -> None:
    """Every DENSE/CONV2D channel's multiplier must lie in [0, 2^31) and its shift in [-31, 30]: values just
    outside are refused with BAD_LAYER by the guest's scan, on word-aligned parameter arrays (model A) and
    unaligned ones (the synthetic model), for the first and the last channel; the bounds themselves pass."""
    if which == "synthetic":
        qm, xs = synthetic_model()
        x = qm.quantize_input(xs[0])
    else:
        _, qm, _, xte, _ = model(which)
        x = qm.quantize_input(xte[0])
    blob = qm.to_bytes()
    run = _runner(backend.split("-")[0])
    layers = _requant_param_offsets(blob)
    aligned = [m % 4 == 0 and sh % 4 == 0 for m, sh, _ in layers]
    assert all(aligned) if which == "a" else not all(aligned), aligned  # both paths of the scan
    cases = [(0, 0x80000000, False), (0, 0xFFFFFFFF, False), (0, 0x7FFFFFFF, True), (0, 0, True),
             (1, 0xFFFFFFE0, False), (1, 31, False), (1, 0xFFFFFFE1, True), (1, 30, True)]  # (0 mult / 1 shift)
    for mult, shift, n in layers:
        for channel in (0, n - 1):
            for field, value, ok in cases:
                b = bytearray(blob)
                struct.pack_into("<I", b, (mult, shift)[field] + 4 * channel, value)
                label = f"{which} {('mult', 'shift')[field]}[{channel}]@{mult} = {value:#x}"
                code, journal = run(guest_io.encode_request(x, bytes(b), False, salt=TEST_SALT))
                if ok:
                    assert code == 0 and journal == expected(decode(bytes(b)), bytes(b), x, False), label
                else:
                    assert code == abi.EXIT_NN_BAD_LAYER, f"{label}: exit {code}"
                    with pytest.raises(BlobError) as err:  # the host's parser agrees
                        decode(bytes(b))
                    assert err.value.code == abi.EXIT_NN_BAD_LAYER, label
