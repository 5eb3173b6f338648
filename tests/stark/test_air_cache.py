"""The verifier's disk cache of what it derives from a code-defined AIR (zkvm/stark/verifying/air_cache.py): a
fresh process reuses it, and a damaged, truncated or foreign entry never changes a verification result - it is
rebuilt. The cache is used only for AIRs that are a function of the code alone (the RISC-V circuit)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from host.build import GUESTS_DIR, build_guest
from zkvm import receipt as R
from zkvm.elf import load_elf
from zkvm.stark import prove, verify
from zkvm.stark.verifying import air_cache

from .airs import FAST, FAST_BITS, fibonacci_air, fibonacci_trace

ROOT = Path(__file__).resolve().parents[2]

#: Verify a receipt in a fresh process; print the journal (hex) and how often the OOD tape was built there.
_VERIFY = """
import sys
from zkvm.stark.verifying import ood_tape
builds = []
_build = ood_tape._build
ood_tape._build = lambda *a: builds.append(1) or _build(*a)
from zkvm import receipt as R
rc = R.Receipt.from_bytes(open(sys.argv[1], "rb").read())
try:
    print(R.verify(rc, bytes.fromhex(sys.argv[2])).hex(), len(builds))
except Exception as exc:
    print(type(exc).__name__, len(builds))
"""


@pytest.fixture(scope="module")
def fib_receipt(tmp_path_factory):
    out = tmp_path_factory.mktemp("air_cache")
    elf = load_elf(build_guest(Path(GUESTS_DIR) / "fib", out / "fib.elf"))
    result, receipt = R.prove(elf, (30).to_bytes(4, "little"))
    path = out / "fib.rcpt"
    path.write_bytes(receipt.to_bytes())
    return path, R.image_id(elf).hex(), result.journal.hex()


def _fresh_verify(path: Path, image_id: str, cache: Path | str) -> tuple[str, int]:
    env = {**os.environ, air_cache.ENV_DIR: str(cache)}
    out = subprocess.run([sys.executable, "-c", _VERIFY, str(path), image_id], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    what, builds = out.stdout.split()
    return what, int(builds)


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("air-*.npz")) if cache.is_dir() else []


def test_fresh_process_reuses_the_entry(fib_receipt, tmp_path):
    path, image_id, journal = fib_receipt
    assert _fresh_verify(path, image_id, tmp_path) == (journal, 1)  # built, then stored
    assert len(_entries(tmp_path)) == 1
    assert _fresh_verify(path, image_id, tmp_path) == (journal, 0)  # loaded


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "empty"])
def test_damaged_entry_is_rebuilt_and_changes_nothing(fib_receipt, tmp_path, damage):
    path, image_id, journal = fib_receipt
    _fresh_verify(path, image_id, tmp_path)
    (entry,) = _entries(tmp_path)
    data = bytearray(entry.read_bytes())
    if damage == "flip":  # inside the stored arrays: the zip still reads, the checksum does not match
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        data = data[: len(data) // 3]
    elif damage == "garbage":
        data = bytearray(os.urandom(len(data)))
    else:
        data = bytearray()
    entry.write_bytes(bytes(data))
    assert _fresh_verify(path, image_id, tmp_path) == (journal, 1)
    assert _fresh_verify(path, image_id, tmp_path) == (journal, 0)  # rewritten whole


def test_altered_array_with_valid_zip_fails_the_checksum(fib_receipt, tmp_path):
    """An entry rewritten as a well-formed .npz with one constant changed is refused (its checksum)."""
    path, image_id, journal = fib_receipt
    _fresh_verify(path, image_id, tmp_path)
    (entry,) = _entries(tmp_path)
    with np.load(entry) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["const_values"] = arrays["const_values"].copy()
    arrays["const_values"][-1, 0] ^= 1
    with open(entry, "wb") as fh:
        np.savez(fh, **arrays)
    assert _fresh_verify(path, image_id, tmp_path) == (journal, 1)


def test_tampered_receipt_rejected_alike_with_a_warm_cache(fib_receipt, tmp_path):
    path, image_id, _ = fib_receipt
    data = bytearray(path.read_bytes())
    data[-200] ^= 0x10  # inside the proof's query openings
    bad = tmp_path / "bad.rcpt"
    bad.write_bytes(bytes(data))
    cold, _ = _fresh_verify(bad, image_id, "")
    _fresh_verify(path, image_id, tmp_path / "c")  # warm the cache with the honest receipt
    warm, builds = _fresh_verify(bad, image_id, tmp_path / "c")
    assert cold == warm == "MerkleError" and builds == 0, (cold, warm)


def test_empty_setting_turns_the_cache_off(fib_receipt, tmp_path, monkeypatch):
    path, image_id, journal = fib_receipt
    monkeypatch.chdir(tmp_path)
    assert _fresh_verify(path, image_id, "") == (journal, 1)
    assert _fresh_verify(path, image_id, "") == (journal, 1)
    assert not list(tmp_path.rglob("*.npz"))


def test_an_air_built_at_run_time_is_never_cached(tmp_path, monkeypatch):
    """An AIR whose constraints a caller builds (here with run-time constants) is not code-defined: no entry."""
    monkeypatch.setenv(air_cache.ENV_DIR, str(tmp_path))
    air = fibonacci_air()
    assert not air.code_defined
    trace, pubs = fibonacci_trace(16)
    proof = prove(air, {}, {"fib": trace}, pubs, (), FAST)
    verify(air, proof, pubs, (), proof_fixed_digest(air), FAST_BITS)
    assert not _entries(tmp_path)


def proof_fixed_digest(air):
    from zkvm.stark import commit_fixed

    return commit_fixed(air, {})


def test_old_entries_are_pruned(fib_receipt, tmp_path):
    path, image_id, journal = fib_receipt
    for i in range(air_cache.MAX_ENTRIES + 3):
        old = tmp_path / f"air-{i:040x}.npz"
        old.write_bytes(b"stale")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    assert _fresh_verify(path, image_id, tmp_path) == (journal, 1)
    kept = _entries(tmp_path)
    assert len(kept) == air_cache.MAX_ENTRIES
    assert not (tmp_path / f"air-{0:040x}.npz").exists()  # the oldest went first
    assert _fresh_verify(path, image_id, tmp_path) == (journal, 0)  # the new entry was kept
