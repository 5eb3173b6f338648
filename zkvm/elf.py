"""Load a static RV32IM ELF executable into a `MemoryImage`.

Everything about the file is untrusted: each way it can fail to be a static, little-endian, 32-bit RISC-V
executable without compressed instructions whose loadable segments fit guest memory is reported as an
`ElfError` with a message naming the problem. pyelftools parses the file, but only after the fixed-size
header has been checked by hand, and any exception it still raises is wrapped.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass

import numpy as np

from zkvm import abi
from zkvm.errors import ElfError

# ELF constants (System V gABI and the RISC-V psABI).
_ELF_MAGIC = b"\x7fELF"
_ELFCLASS32 = 1
_ELFDATA2LSB = 1
_ET_EXEC = 2
_EM_RISCV = 243
_EF_RISCV_RVC = 0x1
_EF_RISCV_RVE = 0x8
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_PF_X = 0x1
_EHDR32 = struct.Struct("<16sHHIIIIIHHHHHH")  # Elf32_Ehdr
_PHDR32_SIZE = 32
_ET_NAMES = {0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE"}

#: Loadable segments must lie in [LOAD_START, LOAD_END): guest memory minus the stack reservation.
LOAD_START = abi.MEM_START
LOAD_END = abi.MEM_END - abi.STACK_SIZE
#: Largest ELF file we read; real guests are far smaller (debug info included).
MAX_ELF_BYTES = 256 << 20


@dataclass(frozen=True)
class MemoryImage:
    """Initial guest memory and entry point of a loaded program."""

    entry: int
    #: word-aligned address -> 32-bit little-endian word, for every file byte of every loaded segment. Memory
    #: a segment only zero-initialises (.bss: p_memsz past p_filesz) is not listed: all memory outside the
    #: image starts as zero anyway, and listing it would make the image cost follow its size.
    words: dict[int, int]
    #: [start, end) of each executable segment, sorted
    exec_ranges: tuple[tuple[int, int], ...]

    def is_executable(self, addr: int) -> bool:
        return any(start <= addr < end for start, end in self.exec_ranges)

    def program(self) -> dict[int, int]:
        """address -> instruction word, for the words that lie in executable segments."""
        return {a: w for a, w in self.words.items() if any(s <= a < e for s, e in self.exec_ranges)}

    def to_bytes_array(self) -> tuple[int, np.ndarray]:
        """(base, uint8 array) spanning every loaded word; gaps between segments are zeros."""
        if not self.words:
            return 0, np.zeros(0, dtype=np.uint8)
        addrs = np.fromiter(self.words.keys(), dtype=np.int64, count=len(self.words))
        values = np.fromiter(self.words.values(), dtype=np.uint32, count=len(self.words))
        base = int(addrs.min())
        span = np.zeros((int(addrs.max()) - base) // 4 + 1, dtype="<u4")
        span[(addrs - base) // 4] = values
        return base, span.view(np.uint8)


def _read_input(path_or_bytes: str | os.PathLike | bytes | bytearray | memoryview) -> bytes:
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data = bytes(path_or_bytes)
        if len(data) > MAX_ELF_BYTES:
            raise ElfError(f"ELF too large: {len(data)} bytes (limit {MAX_ELF_BYTES})")
        return data
    path = os.fspath(path_or_bytes)
    try:
        size = os.stat(path).st_size
        if size > MAX_ELF_BYTES:
            raise ElfError(f"{path}: ELF too large: {size} bytes (limit {MAX_ELF_BYTES})")
        with open(path, "rb") as f:
            return f.read(MAX_ELF_BYTES + 1)
    except OSError as exc:
        raise ElfError(f"cannot read {path}: {exc.strerror or exc}") from None


def _check_header(data: bytes) -> tuple:
    """Validate the fixed-size ELF header by hand; returns the unpacked Elf32_Ehdr fields."""
    if len(data) < 4 or data[:4] != _ELF_MAGIC:
        raise ElfError("not an ELF file (bad magic)")
    if len(data) < 16:
        raise ElfError(f"truncated ELF: {len(data)} bytes, the header alone needs {_EHDR32.size}")
    if data[4] != _ELFCLASS32:
        kind = {2: "64-bit"}.get(data[4], f"class {data[4]}")
        raise ElfError(f"not a 32-bit ELF ({kind}); guests must be RV32")
    if data[5] != _ELFDATA2LSB:
        kind = {2: "big-endian"}.get(data[5], f"data encoding {data[5]}")
        raise ElfError(f"not a little-endian ELF ({kind}); RISC-V guests are little-endian")
    if len(data) < _EHDR32.size:
        raise ElfError(f"truncated ELF: {len(data)} bytes, the header alone needs {_EHDR32.size}")
    hdr = _EHDR32.unpack_from(data)
    _, e_type, e_machine, _, e_entry, e_phoff, _, e_flags, _, e_phentsize, e_phnum, _, _, _ = hdr
    if e_machine != _EM_RISCV:
        raise ElfError(f"not a RISC-V ELF (machine {e_machine})")
    if e_type != _ET_EXEC:
        kind = _ET_NAMES.get(e_type, str(e_type))
        raise ElfError(f"not a static executable (type {kind}); link the guest with the zkvm toolchain")
    if e_flags & _EF_RISCV_RVC:
        raise ElfError("ELF uses compressed instructions (RVC flag set); guests must be RV32IM only")
    if e_flags & _EF_RISCV_RVE:
        raise ElfError("ELF targets RV32E (RVE flag set); guests must be RV32IM")
    if e_phnum == 0:
        raise ElfError("no program headers: nothing to load")
    if e_phentsize != _PHDR32_SIZE:
        raise ElfError(f"bad program header entry size {e_phentsize} (expected {_PHDR32_SIZE})")
    if e_phoff + e_phnum * _PHDR32_SIZE > len(data):
        raise ElfError(
            f"truncated ELF: program headers [0x{e_phoff:x}, 0x{e_phoff + e_phnum * _PHDR32_SIZE:x}) "
            f"past end of file ({len(data)} bytes)"
        )
    return hdr


def _segments(data: bytes) -> list[dict]:
    """Program headers via pyelftools, any parser failure wrapped as ElfError."""
    from elftools.elf.elffile import ELFFile  # imported lazily: only the loader needs it

    try:
        elf = ELFFile(io.BytesIO(data))
        return [
            {k: seg.header[k] for k in ("p_type", "p_offset", "p_vaddr", "p_filesz", "p_memsz", "p_flags")}
            for seg in elf.iter_segments()
        ]
    except Exception as exc:  # pyelftools raises many types on malformed input; none may escape
        raise ElfError(f"malformed ELF: {exc}") from None


def _ptype(value) -> int:
    if isinstance(value, int):
        return value
    return {"PT_LOAD": _PT_LOAD, "PT_DYNAMIC": _PT_DYNAMIC, "PT_INTERP": _PT_INTERP}.get(value, -1)


def load_elf(path_or_bytes: str | os.PathLike | bytes | bytearray | memoryview) -> MemoryImage:
    """Parse and validate a guest ELF; raises `ElfError` saying what is wrong."""
    data = _read_input(path_or_bytes)
    hdr = _check_header(data)
    entry = hdr[4]

    loads: list[tuple[int, dict]] = []
    for index, seg in enumerate(_segments(data)):
        ptype = _ptype(seg["p_type"])
        if ptype in (_PT_DYNAMIC, _PT_INTERP):
            raise ElfError(f"segment {index}: dynamic linking is not supported (static executables only)")
        if ptype == _PT_LOAD and seg["p_memsz"] > 0:
            loads.append((index, seg))
    if not loads:
        raise ElfError("no loadable segment")

    for index, seg in loads:
        vaddr, memsz, filesz, offset = seg["p_vaddr"], seg["p_memsz"], seg["p_filesz"], seg["p_offset"]
        if filesz > memsz:
            raise ElfError(f"segment {index}: file size 0x{filesz:x} larger than memory size 0x{memsz:x}")
        if memsz > LOAD_END - LOAD_START:
            raise ElfError(
                f"segment {index}: memory size 0x{memsz:x} larger than guest memory (0x{LOAD_END - LOAD_START:x})"
            )
        if offset + filesz > len(data):
            raise ElfError(
                f"truncated ELF: segment {index} data [0x{offset:x}, 0x{offset + filesz:x}) past end of file "
                f"({len(data)} bytes)"
            )
        if vaddr < LOAD_START or vaddr + memsz > LOAD_END:
            raise ElfError(
                f"segment {index}: [0x{vaddr:08x}, 0x{vaddr + memsz:08x}) outside loadable guest memory "
                f"[0x{LOAD_START:08x}, 0x{LOAD_END:08x})"
            )

    loads.sort(key=lambda item: item[1]["p_vaddr"])
    for (i_a, a), (i_b, b) in zip(loads, loads[1:]):
        if a["p_vaddr"] + a["p_memsz"] > b["p_vaddr"]:
            raise ElfError(
                f"segments {i_a} and {i_b} overlap: [0x{a['p_vaddr']:08x}, 0x{a['p_vaddr'] + a['p_memsz']:08x}) "
                f"and [0x{b['p_vaddr']:08x}, 0x{b['p_vaddr'] + b['p_memsz']:08x})"
            )

    # bound the image before building it (abi.MAX_IMAGE_WORDS: the image id's cost follows these words)
    def file_words(s: dict) -> int:
        return 0 if s["p_filesz"] == 0 else (s["p_vaddr"] + s["p_filesz"] + 3) // 4 - s["p_vaddr"] // 4

    total = sum(file_words(s) for _, s in loads)
    text = sum(file_words(s) for _, s in loads if s["p_flags"] & _PF_X)
    if total > abi.MAX_IMAGE_WORDS:
        raise ElfError(f"image too large: {total} initialised words (limit {abi.MAX_IMAGE_WORDS}, "
                       f"{abi.MAX_IMAGE_WORDS * 4 >> 20} MiB)")
    if text > abi.MAX_PROGRAM_WORDS:
        raise ElfError(f"program too large: {text} words of executable segments (limit {abi.MAX_PROGRAM_WORDS}, "
                       f"{abi.MAX_PROGRAM_WORDS * 4 >> 10} KiB)")

    exec_ranges = tuple((s["p_vaddr"], s["p_vaddr"] + s["p_memsz"]) for _, s in loads if s["p_flags"] & _PF_X)
    if not any(start <= entry < end for start, end in exec_ranges):
        raise ElfError(f"entry point 0x{entry:08x} is not inside an executable segment")
    if entry % 4:
        raise ElfError(f"entry point 0x{entry:08x} is not 4-byte aligned")
    for start, _ in exec_ranges:
        if start % 4:
            raise ElfError(f"executable segment at 0x{start:08x} is not 4-byte aligned")

    return MemoryImage(entry=entry, words=_assemble_words(data, [s for _, s in loads]), exec_ranges=exec_ranges)


def _assemble_words(data: bytes, loads: list[dict]) -> dict[int, int]:
    """Lay the file bytes of the segments (already checked: in range, disjoint, bounded) out as little-endian
    words; zero-initialised parts (bss) are left out (see `MemoryImage.words`)."""
    loads = [s for s in loads if s["p_filesz"]]
    if not loads:
        return {}
    lo = min(s["p_vaddr"] for s in loads) & ~3
    hi = (max(s["p_vaddr"] + s["p_filesz"] for s in loads) + 3) & ~3
    memory = np.zeros(hi - lo, dtype=np.uint8)
    covered = np.zeros((hi - lo) // 4, dtype=bool)
    for s in loads:
        start = s["p_vaddr"] - lo
        memory[start : start + s["p_filesz"]] = np.frombuffer(data, np.uint8, s["p_filesz"], s["p_offset"])
        covered[start // 4 : (start + s["p_filesz"] + 3) // 4] = True
    index = np.nonzero(covered)[0]
    values = memory.view("<u4")[index]
    return dict(zip((lo + 4 * index).tolist(), values.tolist()))
