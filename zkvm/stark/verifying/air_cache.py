"""What a verifier derives from an AIR alone - its digest and its compiled OOD tape - kept on disk between
processes, as Python keeps its bytecode: about half of a fresh `host verify` went into serialising every
constraint for the digest and recording the OOD program.

Safe by construction:
* An entry depends on the AIR only, never on a proof or a receipt; only the verifier writes entries, from what it
  computed itself.
* Its key hashes the source of every module of the ``zkvm`` package (the code that builds the AIR) with a
  structural fingerprint of the AIR object in hand (tables, column names, constraint names and degrees,
  interactions, bus ids, zk augmentation) and the number of LogUp betas. Other code or another AIR is another key.
* An entry is a numpy ``.npz`` read with ``allow_pickle=False`` (data only, no code) carrying the SHA-256 of its
  own contents; an unreadable, truncated or altered entry fails that check and is rebuilt (and rewritten), so it
  cannot change a verification result.

``ZKVM_CACHE_DIR`` chooses the folder (default: ``$XDG_CACHE_HOME/zkvm`` or ``~/.cache/zkvm``); an empty value
turns the cache off. Writing is best effort: a read-only home only costs the rebuild. The newest ``MAX_ENTRIES``
entries are kept (an edit of the package makes new keys).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from zkvm.stark.dsl.air import CompiledAir

ENV_DIR = "ZKVM_CACHE_DIR"
_VERSION = b"zkvm-air-cache-v1"
_LEVEL_FIELDS = 7  # OodTape.levels: (lin_dst, lin_a, lin_b, lin_neg_b, mul_dst, mul_a, mul_b)


def cache_dir() -> Path | None:
    value = os.environ.get(ENV_DIR)
    if value is not None:
        return Path(value) if value else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "zkvm"


@lru_cache(maxsize=1)
def code_version() -> bytes:
    """SHA-256 of the source of every module of the ``zkvm`` package (paths and contents)."""
    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256(_VERSION)
    for p in sorted(root.rglob("*.py")):
        h.update(str(p.relative_to(root)).encode() + b"\0")
        h.update(p.read_bytes())
    return h.digest()


def fingerprint(ca: CompiledAir) -> bytes:
    """A structural description of a compiled AIR (cheap: no walk of the constraint expressions)."""
    air = ca.air
    desc = [air.name, list(air.publics), sorted(ca.bus_ids.items()), ca.zk_blinded]
    for ct in ca.tables:
        t = ct.table
        desc.append([t.name, t.optional, list(t.main_names), list(t.fixed_names), ct.next_main, ct.next_fixed,
                     [(c.kind, c.name, c.expr.degree) for c in t.constraints],
                     [(it.bus, it.sign, len(it.values), it.tuple_degree, it.mult.degree) for it in t.interactions],
                     [len(g) for g in ct.groups]])
    return hashlib.sha256(json.dumps(desc, separators=(",", ":")).encode()).digest()


def _path(ca: CompiledAir, n_betas: int) -> Path | None:
    d = cache_dir()
    if d is None:
        return None
    key = hashlib.sha256(code_version() + fingerprint(ca) + n_betas.to_bytes(4, "little")).hexdigest()
    return d / f"air-{key[:40]}.npz"


def _checksum(arrays: dict[str, np.ndarray]) -> bytes:
    h = hashlib.sha256(_VERSION)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.digest()


def _pack(digest: bytes, tape) -> dict[str, np.ndarray]:
    from zkvm.stark.verifying import ood_tape  # noqa: F401  (the tape's type)

    index = [[list(k), v] for k, v in tape.input_index.items()]
    f = tape.fills
    out = {
        "digest": np.frombuffer(digest, np.uint8),
        "scalars": np.array([tape.n_inputs, tape.n_slots, tape.n_tables, len(tape.levels), f["alpha"]], np.int64),
        "const_slots": tape.const_slots, "const_values": tape.const_values, "outputs": tape.outputs,
        "pow_index": tape.pow_index, "segment": tape.segment,
        "input_index": np.frombuffer(json.dumps(index).encode(), np.uint8),
        "pub_slots": f["pub"][0], "pub_names": np.frombuffer(json.dumps(f["pub"][1]).encode(), np.uint8),
        "beta_slots": f["beta"][0], "beta_index": f["beta"][1],
    }
    for kind in ("z", "zg", "aux", "s_next", "final"):
        for j, a in enumerate(f[kind]):
            out[f"fill_{kind}_{j}"] = a
    for j in range(_LEVEL_FIELDS):  # one array per field over every level (few arrays: each costs a read)
        parts = [level[j] for level in tape.levels]
        out[f"level_{j}"] = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        out[f"level_{j}_ends"] = np.cumsum([len(x) for x in parts], dtype=np.int64)
    return out


def _unpack(a: dict[str, np.ndarray]):
    from zkvm.stark.verifying.ood_tape import OodTape

    n_inputs, n_slots, n_tables, n_levels, alpha = (int(x) for x in a["scalars"])
    fills = {kind: tuple(a[f"fill_{kind}_{j}"] for j in range(3)) for kind in ("z", "zg", "aux", "s_next", "final")}
    fills["pub"] = (a["pub_slots"], json.loads(a["pub_names"].tobytes()))
    fills["alpha"] = alpha
    fills["beta"] = (a["beta_slots"], a["beta_index"])
    index = {tuple(k): v for k, v in json.loads(a["input_index"].tobytes())}
    split = [np.split(a[f"level_{j}"], a[f"level_{j}_ends"][:-1]) for j in range(_LEVEL_FIELDS)]
    levels = [tuple(split[j][i] for j in range(_LEVEL_FIELDS)) for i in range(n_levels)]
    tape = OodTape(n_inputs, a["const_slots"], a["const_values"], index, levels, n_slots, a["outputs"],
                   a["pow_index"], a["segment"], n_tables, fills)
    return a["digest"].tobytes(), tape


def load(ca: CompiledAir, n_betas: int):
    """(digest, tape) of ``ca`` from the cache, or None (absent, unreadable or failing its checksum)."""
    path = _path(ca, n_betas)
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
        check = arrays.pop("check").tobytes()
        if check != _checksum(arrays):
            return None
        return _unpack(arrays)
    except Exception:  # any damage to a file of ours means: rebuild it (the content is checked, never trusted)
        return None


def store(ca: CompiledAir, n_betas: int, digest: bytes, tape) -> None:
    """Write the entry (atomically: a temporary file renamed), ignoring any failure to."""
    path = _path(ca, n_betas)
    if path is None:
        return
    try:
        arrays = _pack(digest, tape)
        arrays["check"] = np.frombuffer(_checksum(arrays), np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        _prune(path.parent)
    except OSError:
        pass


#: Entries kept per folder: each code version (every edit of the package) makes new keys, so old ones go.
MAX_ENTRIES = 16


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("air-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        old.unlink(missing_ok=True)
