"""Compiler and linker options shared by the STARK prover's cffi builders
(``stark/backend/native/build_native.py``, ``stark/backend/evalvm/build_evalvm.py``), and their build-in-place
entry point.

Portable on purpose: no ``-march``. SIMD and SHA-NI code paths carry per-function target attributes and are
chosen at run time (``__builtin_cpu_supports``), so one build runs on any x86-64. Threads are plain pthreads.
Imports nothing but the standard library: cffi runs the builders at install time, before any dependency is
importable.
"""

from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def extension_options() -> dict[str, list[str]]:
    """Keyword arguments for ``FFI.set_source`` (fresh lists on every call: setuptools may extend them)."""
    return {
        "extra_compile_args": ["-O3", "-std=gnu11", "-fno-math-errno", "-Wall"],
        "extra_link_args": ["-pthread"],
        "libraries": ["pthread"],
    }


def build_in_place(ffibuilder) -> int:
    """Compile next to the sources (``python zkvm/stark/<pkg>/build_<name>.py``); returns a process exit status.
    Sources are given relative to the repository root, so the build runs from there."""
    os.chdir(ROOT)
    return 0 if ffibuilder.compile(tmpdir=".", verbose=False) else 1
