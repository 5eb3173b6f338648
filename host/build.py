"""Cross-compile a guest folder to a static RV32IM ELF with the `ziglang` package's clang.

A guest folder holds `main.c` (and any other `*.c`/`*.S`); the toolchain's `crt0.S` and `runtime.c` are
linked into every guest, `toolchain/` is on the include path (for `zkvm_guest.h`). A guest that needs a
library (the ML guests use `guest/nn/`) lists its directories, relative to the guest folder, one per line in
`sources.txt` (`#` starts a comment); every `*.c` there is compiled in and the directory is put on the
include path.
"""

from __future__ import annotations

from typing import Sequence

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from zkvm.errors import ZkvmError

REPO_ROOT = Path(__file__).resolve().parents[1]
TOOLCHAIN_DIR = REPO_ROOT / "toolchain"
GUESTS_DIR = REPO_ROOT / "guest"
DEFAULT_OUT_DIR = REPO_ROOT / "build" / "guests"
#: Folders of `guest/` that are libraries, not programs.
LIBRARY_DIRS = {"nn"}

COMPILER = [sys.executable, "-m", "ziglang", "cc"]
# RV32IM only: the CPU model carries no C/A/F/D and no linker relaxation; static, no PIC, no libc.
TARGET_FLAGS = ["-target", "riscv32-freestanding-none", "-mcpu=generic_rv32+m", "-mabi=ilp32"]
CFLAGS = [
    "-O2",
    "-ffreestanding",  # also implies -fno-builtin: runtime.c's mem* loops stay loops
    "-nostdlib",
    "-static",
    "-fno-pic",
    "-fno-pie",
    "-fno-stack-protector",
    "-fomit-frame-pointer",
    "-fno-sanitize=all",  # zig cc would otherwise add UBSan runtime calls in some modes
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-ffunction-sections",
    "-fdata-sections",
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
]
LDFLAGS = ["-Wl,--gc-sections", "-Wl,-z,norelro", "-Wl,--build-id=none"]
#: 64-bit division and the like come from compiler-rt, which zig builds for the same target.
LIBS = ["-lcompiler_rt"]
COMPILE_TIMEOUT_S = 300


class BuildError(ZkvmError):
    """A guest could not be built (missing folder, compiler error...)."""


@dataclass(frozen=True)
class GuestSources:
    name: str
    sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...]


def find_guests(guests_dir: Path = GUESTS_DIR) -> list[Path]:
    """Every folder of `guests_dir` with a `main.c`, sorted by name (libraries like `nn/` have none)."""
    if not guests_dir.is_dir():
        return []
    return sorted(p for p in guests_dir.iterdir() if p.is_dir() and (p / "main.c").is_file())


def _c_and_asm_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".c", ".S"))


def collect_sources(guest_dir: Path) -> GuestSources:
    guest_dir = Path(guest_dir)
    if not guest_dir.is_dir():
        raise BuildError(f"guest folder not found: {guest_dir}")
    if not (guest_dir / "main.c").is_file():
        raise BuildError(f"{guest_dir} has no main.c")
    sources = _c_and_asm_files(guest_dir)
    include_dirs = [guest_dir]
    listing = guest_dir / "sources.txt"
    if listing.is_file():
        for lineno, raw in enumerate(listing.read_text().splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            extra = (guest_dir / line).resolve()
            if not extra.is_dir():
                raise BuildError(f"{listing}:{lineno}: source directory not found: {line}")
            sources += [p for p in _c_and_asm_files(extra) if p.name != "main.c"]
            include_dirs.append(extra)
    runtime = [TOOLCHAIN_DIR / "crt0.S", TOOLCHAIN_DIR / "runtime.c"]
    return GuestSources(guest_dir.resolve().name, tuple(runtime + sources), tuple(include_dirs + [TOOLCHAIN_DIR]))


def compiler_command(sources: GuestSources, out: Path, defines: Sequence[str] = ()) -> list[str]:
    includes = [f"-I{d}" for d in sources.include_dirs]
    return [
        *COMPILER,
        *TARGET_FLAGS,
        *CFLAGS,
        *(f"-D{d}" for d in defines),
        *includes,
        f"-T{TOOLCHAIN_DIR / 'link.ld'}",
        *LDFLAGS,
        *(str(s) for s in sources.sources),
        *LIBS,
        "-o",
        str(out),
    ]


def build_guest(guest_dir: Path | str, out: Path | str | None = None, defines: Sequence[str] = ()) -> Path:
    """Compile and link one guest folder; returns the ELF path (default `build/guests/NAME.elf`). `defines`:
    extra preprocessor macros (e.g. NN_NO_DOT_ECALL: guest/nn without the dot-product accelerator)."""
    sources = collect_sources(Path(guest_dir))
    out_path = Path(out) if out is not None else DEFAULT_OUT_DIR / f"{sources.name}.elf"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # Link to a temporary name and rename, so a failed or concurrent build never leaves a half-written ELF.
    tmp_path = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    cmd = compiler_command(sources, tmp_path, defines)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except FileNotFoundError as exc:  # pragma: no cover - python itself missing
        raise BuildError(f"cannot run the compiler: {exc}") from None
    except subprocess.TimeoutExpired:
        tmp_path.unlink(missing_ok=True)
        raise BuildError(f"compiling {sources.name} timed out after {COMPILE_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        tmp_path.unlink(missing_ok=True)
        detail = (proc.stderr or proc.stdout).strip()
        if "No module named ziglang" in detail:
            detail = "the ziglang package is not installed (run `make setup`)"
        raise BuildError(f"compiling guest {sources.name} failed:\n{detail}")
    tmp_path.replace(out_path)
    return out_path
