"""Fast field maths for the prover: NTT/LDE, elementwise kernels, the constraint VM, SHA-256 Merkle leaves and the
ChaCha20 stream, in C (``native/``, ``evalvm/``, built by cffi into ``_native`` and ``_evalvm``) with numpy
fallbacks giving identical results. Never imported by the verifier.

:data:`BACKEND` is chosen once, when this package is first imported: the compiled extensions when they are built,
numpy otherwise. The environment variable ``ZKVM_BACKEND`` (``native`` or ``numpy``) overrides the choice, so a
test can prove the same statement on both and compare the bytes; ``native`` without a built extension is an error
rather than a silent fallback. Every prover module takes its handles from here (``BACKEND.native``,
``BACKEND.evalvm``; None on the numpy backend); none imports an extension itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from zkvm.errors import InputError

#: Environment variable naming the backend (tests and benchmarks).
ENV = "ZKVM_BACKEND"
NAMES = ("native", "numpy")


@dataclass(frozen=True)
class Backend:
    name: str
    native: object | None   # the cffi module ``_native`` (NTT, kernels, Merkle, ChaCha20, trace rows)
    evalvm: object | None   # the cffi module ``_evalvm`` (constraint VM, LogUp, grinding)


def select(name: str | None = None) -> Backend:
    """The backend called ``name`` (``None``/``""``: the extensions if built, else numpy)."""
    if name not in (None, "", *NAMES):
        raise InputError(f"{ENV}={name!r}: expected one of {', '.join(NAMES)}")
    if name == "numpy":
        return Backend("numpy", None, None)
    try:
        from zkvm.stark.backend import _evalvm, _native  # type: ignore[attr-defined]
    except ImportError:
        if name == "native":
            raise InputError(f"{ENV}=native but the compiled extensions are not built (run make setup)") from None
        return Backend("numpy", None, None)
    return Backend("native", _native, _evalvm)


BACKEND = select(os.environ.get(ENV))
