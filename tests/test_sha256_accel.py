"""The SHA256 ecall (zkvm/abi.py ECALL_SHA256, n blocks a call) in the interpreter and the SDK's zkvm_sha256:
digests equal hashlib (random lengths 0..10 KiB, aligned data hashed by multi-block calls and unaligned data a
block at a time, the FIPS 180-2 example vectors, a multi-block call through registers), run and record modes
agree and the record logs every block of every call, and every bad pointer or count traps with its named cause."""

from __future__ import annotations

import hashlib
import random
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rv32asm as A  # noqa: E402

from zkvm import abi  # noqa: E402
from zkvm.errors import GuestError  # noqa: E402
from zkvm.exec import Executor  # noqa: E402

SEED = 20261202
GUEST = Path(__file__).resolve().parent / "sha_guest"
IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
#: FIPS 180-2 appendix B examples (message, digest), checked against hashlib too.
NIST = [
    (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    (b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    (b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrst"
     b"nopqrstu", "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    (b"a" * 1_000_000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
]


@pytest.fixture(scope="module")
def sdk_image():
    import tempfile

    from host.build import build_guest
    from zkvm.elf import load_elf

    out = Path(tempfile.mkdtemp(prefix="sha_guest_")) / "sha_guest.elf"
    return load_elf(build_guest(GUEST, out))


def _request(lengths: list[int], data: bytes, offset: int = 0) -> bytes:
    return struct.pack(f"<II{len(lengths)}I", len(lengths), offset, *lengths) + data


@pytest.mark.parametrize("offset", [0, 1, 3])
def test_sdk_sha256_random_lengths_equal_hashlib(sdk_image, offset: int) -> None:
    rng = random.Random(SEED + offset)
    data = rng.randbytes(10 * 1024)
    lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 10 * 1024] + [rng.randrange(10 * 1024 + 1) for _ in range(40)]
    r = Executor(sdk_image, _request(lengths, data, offset)).run()
    assert r.exit_code == 0
    want = b"".join(hashlib.sha256(data[:n]).digest() for n in lengths)
    bad = [lengths[i // 32] for i in range(0, len(want), 32) if r.journal[i:i + 32] != want[i:i + 32]]
    assert len(r.journal) == len(want) and not bad, f"seed {SEED + offset}, offset {offset}: lengths {bad[:5]}"


def test_sdk_sha256_nist_vectors(sdk_image) -> None:
    for msg, hexdigest in NIST:
        assert hashlib.sha256(msg).hexdigest() == hexdigest  # the oracle agrees with the standard
        r = Executor(sdk_image, _request([len(msg)], msg)).run()
        assert (r.exit_code, r.journal.hex()) == (0, hexdigest), f"NIST vector of {len(msg)} bytes"


@pytest.mark.parametrize("offset, n_calls", [(2, 1 + 4 + 5), (0, 1 + 2 + 2)])
def test_record_mode_equals_run_mode_and_logs_each_block(sdk_image, offset: int, n_calls: int) -> None:
    """Unaligned data is copied and hashed a block a call; aligned data is one call for its whole blocks and
    one for the padded tail. Either way the log holds every block, and a call's blocks share its cycle."""
    rng = random.Random(SEED)
    data = rng.randbytes(300)
    req = _request([0, 200, 300], data, offset)
    run = Executor(sdk_image, req).run()
    res, rec = Executor(sdk_image, req).record()
    assert (res.journal, res.exit_code, res.cycles) == (run.journal, run.exit_code, run.cycles)
    assert res.journal == b"".join(hashlib.sha256(data[:n]).digest() for n in (0, 200, 300))
    calls = rec.sha_calls
    assert calls.shape == (1 + 4 + 5, 33)  # blocks with padding: 1, 4, 5
    assert len(np.unique(calls[:, 0])) == n_calls
    rows = np.asarray(rec.rows)
    t = calls[:, 0].astype(np.int64)
    assert (rows[t, 1] == 0x73).all() and (np.asarray(rec.a7_val)[t] == abi.ECALL_SHA256).all()
    # the first call of the empty message: state in = IV, state out = the digest's words
    assert tuple(int(v) for v in calls[0, 1:9]) == IV
    assert struct.pack(">8I", *(int(v) for v in calls[0, 25:33])) == hashlib.sha256(b"").digest()
    # each block of one message continues from the previous block's output
    assert (calls[2:5, 1:9] == calls[1:4, 25:33]).all()


# ---------------------------------------------------------------------------------------------- traps

STATE = abi.TEXT_START + 0x2000  # image data (see _image)
BLOCK = abi.TEXT_START + 0x2100


def _image(a0: int, a1: int, n: int = 1):
    return A.image(img_code(a0, a1, n), {STATE + 4 * i: v for i, v in enumerate(IV)})


def test_one_block_through_registers() -> None:
    """compress(IV, padded "abc") = SHA-256("abc"): state and block in image data, registers unchanged."""
    block = b"abc" + b"\x80" + bytes(52) + struct.pack(">Q", 24)
    words = struct.unpack("<16I", block)
    img = A.image(img_code(STATE, BLOCK), {**{STATE + 4 * k: v for k, v in enumerate(IV)},
                                           **{BLOCK + 4 * k: v for k, v in enumerate(words)}})
    m = Executor(img).machine()
    m.raise_for_status(m.run())
    out = struct.unpack("<8I", m.read(STATE, 32))
    assert struct.pack(">8I", *out) == hashlib.sha256(b"abc").digest()
    assert m.read(BLOCK, 64) == block
    assert (int(m.regs[10]), int(m.regs[11])) == (0, BLOCK)


def img_code(a0: int, a1: int, n: int = 1) -> list[int]:
    return (A.li("a0", a0) + A.li("a1", a1) + A.li("a2", n) + A.li("a7", abi.ECALL_SHA256) + [A.ECALL]
            + A.li("a0", 0) + A.halt())


@pytest.mark.parametrize("mode", ["run", "record"])
def test_several_blocks_in_one_call(mode: str) -> None:
    """One call over the 3 padded blocks of a 150-byte message = SHA-256 of it; registers unchanged."""
    rng = random.Random(SEED)
    msg = rng.randbytes(150)
    padded = msg + b"\x80" + bytes(192 - 150 - 9) + struct.pack(">Q", 8 * len(msg))
    words = struct.unpack("<48I", padded)
    img = A.image(img_code(STATE, BLOCK, 3), {**{STATE + 4 * k: v for k, v in enumerate(IV)},
                                              **{BLOCK + 4 * k: v for k, v in enumerate(words)}})
    m = Executor(img).machine()
    m.raise_for_status(m.run() if mode == "run" else m.record())
    assert struct.pack(">8I", *struct.unpack("<8I", m.read(STATE, 32))) == hashlib.sha256(msg).digest()
    assert (int(m.regs[10]), int(m.regs[11]), int(m.regs[12])) == (0, BLOCK, 3)


@pytest.mark.parametrize("a0, a1, n, cause", [
    (STATE + 2, BLOCK, 1, "sha_misaligned"),
    (STATE, BLOCK + 1, 1, "sha_misaligned"),
    (abi.MEM_START - 4, BLOCK, 1, "sha_out_of_range"),
    (abi.MEM_END - 28, BLOCK, 1, "sha_out_of_range"),
    (STATE, abi.MEM_END - 60, 1, "sha_out_of_range"),
    (STATE, abi.MEM_END - 64, 2, "sha_out_of_range"),  # the second block leaves memory
    (STATE, abi.MEM_END + 64 - 64 * abi.SHA256_MAX_BLOCKS, abi.SHA256_MAX_BLOCKS, "sha_out_of_range"),
    (STATE, 0, 1, "sha_out_of_range"),
    (abi.TEXT_START, BLOCK, 1, "sha_state_in_text"),
    (abi.TEXT_START - 16, BLOCK, 1, "sha_state_in_text"),
    (STATE, STATE + 28, 1, "sha_overlap"),
    (BLOCK + 60, BLOCK, 1, "sha_overlap"),
    (BLOCK + 64, BLOCK, 2, "sha_overlap"),  # the state in the second block
    (STATE, BLOCK, 0, "bad_ecall_arg"),
    (STATE, BLOCK, abi.SHA256_MAX_BLOCKS + 1, "bad_ecall_arg"),
    (STATE, BLOCK, 1 << 16 | 1, "bad_ecall_arg"),  # the count is all of a2
])
@pytest.mark.parametrize("mode", ["run", "record"])
def test_bad_pointers_or_count_trap_with_named_cause(a0: int, a1: int, n: int, cause: str, mode: str) -> None:
    ex = Executor(_image(a0, a1, n))
    with pytest.raises(GuestError) as info:
        ex.run() if mode == "run" else ex.record()
    assert info.value.cause == cause, str(info.value)


def test_edges_that_are_allowed() -> None:
    """State ending exactly at the text start, blocks ending at MEM_END, state right after the blocks."""
    for a0, a1, n in ((abi.TEXT_START - 32, BLOCK, 1), (STATE, abi.MEM_END - 64, 1), (STATE, abi.MEM_END - 192, 3),
                      (BLOCK + 64, BLOCK, 1), (BLOCK + 128, BLOCK, 2)):
        r = Executor(_image(a0, a1, n)).run()
        assert r.exit_code == 0
