"""cffi builder (API mode, out of line) for the RV32IM interpreter: ``zkvm.exec._rv32``.

Run from the repository root to compile in place: ``python zkvm/exec/build_exec.py``. `pip install -e .`
builds it through ``setup.py``'s ``cffi_modules``.

The guest ABI constants reach the C code as -D macros generated from ``zkvm/abi.py`` (loaded by path, so
this works before the package is installed); the C sources never repeat them.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
#: sha256_k.h: the SHA-256 round constants, one copy shared with the prover's native SHA-256
SHA_DIR = os.path.join(ROOT, "zkvm", "stark", "backend", "native")


def _load_abi():
    spec = importlib.util.spec_from_file_location("_zkvm_abi_for_build", os.path.join(ROOT, "zkvm", "abi.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _abi_macros() -> list[tuple[str, str]]:
    abi = _load_abi()
    names = ["MEM_START", "MEM_END", "DOT_MAX_LEN", "DOT_ZP_SHIFT", "READ_BUF_MAX_WORDS", "SHA256_MAX_BLOCKS"] + [f"ECALL_{name}" for name in abi.ECALLS]
    return [(name, f"{int(getattr(abi, name))}u") for name in names]


def _cdef_from_header() -> str:
    """The declarations between the CDEF markers of rv32.h (one copy of the interface)."""
    with open(os.path.join(HERE, "rv32.h"), encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"/\* CDEF BEGIN \*/(.*)/\* CDEF END \*/", text, re.S)
    if match is None:
        raise RuntimeError("rv32.h lost its CDEF markers")
    return match.group(1)


ffibuilder = FFI()
ffibuilder.cdef(_cdef_from_header())


def _set_source(source_path: str) -> None:
    ffibuilder.set_source(
        "zkvm.exec._rv32",
        '#include "rv32.h"',
        sources=[source_path],
        include_dirs=[HERE, SHA_DIR],
        define_macros=_abi_macros(),
        # Plain -O3, no -march=native: the interpreter gains nothing from wide vectors, and the extension
        # must run on any x86-64/arm64 machine it is built for. -fno-crossjumping keeps one indirect jump
        # per handler (GCC otherwise merges the dispatch code of the computed gotos, which defeats branch
        # prediction).
        extra_compile_args=[
            "-O3", "-fno-crossjumping", "-std=gnu11", "-fno-strict-aliasing", "-Wall", "-Wextra",
            "-Wno-unused-parameter",
        ],
        depends=[os.path.join(HERE, name) for name in ("rv32.h", "rv32_loop.h", "rv32.c")]
        + [os.path.join(SHA_DIR, "sha256_k.h")],
    )


# setup.py (cffi_modules) builds from the repository root and wants a relative source path; the script
# (build_in_place) compiles inside a scratch directory, so it needs an absolute one.
_set_source(
    os.path.join(HERE, "rv32.c") if __name__ == "__main__" else os.path.relpath(os.path.join(HERE, "rv32.c"), os.getcwd())
)


def build_in_place() -> str:
    """Compile in a scratch directory, then atomically replace zkvm/exec/_rv32*.so: processes that have the
    old extension loaded keep their (unlinked) copy instead of seeing the file rewritten under them."""
    import glob
    import shutil
    import tempfile

    os.chdir(ROOT)
    with tempfile.TemporaryDirectory(prefix="build_exec_", dir=os.path.join(ROOT, "zkvm", "exec")) as tmp:
        built = ffibuilder.compile(tmpdir=tmp, verbose=False)
        target = os.path.join(HERE, os.path.basename(built))
        staged = target + ".new"
        shutil.copy2(built, staged)
        os.replace(staged, target)
        for generated in glob.glob(os.path.join(tmp, "zkvm", "exec", "_rv32.c")):
            shutil.copy2(generated, os.path.join(HERE, "_rv32.c"))
    return target


if __name__ == "__main__":
    print(build_in_place())
