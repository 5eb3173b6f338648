"""ELF loader: a real guest loads to the right image; every malformed file is an ElfError with an exact
message, never a traceback from the parser."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest

from host.build import GUESTS_DIR, build_guest
from zkvm import abi
from zkvm.elf import LOAD_END, MemoryImage, load_elf
from zkvm.errors import ElfError

EHDR = struct.Struct("<16sHHIIIIIHHHHHH")
PHDR = struct.Struct("<IIIIIIII")  # type, offset, vaddr, paddr, filesz, memsz, flags, align
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
R, W, X = 4, 2, 1
ADDI_X0 = 0x00000013  # nop


def make_elf(segments, entry=abi.TEXT_START, *, e_type=2, machine=243, flags=0, ident=None) -> bytes:
    """A minimal ELF32: header, program headers, then each segment's file bytes.

    `segments`: (vaddr, data, memsz, flags[, p_type]) tuples."""
    ident = ident or b"\x7fELF\x01\x01\x01" + b"\0" * 9
    phoff = EHDR.size
    offset = phoff + PHDR.size * len(segments)
    phdrs, blobs = [], []
    for seg in segments:
        vaddr, data, memsz, pflags, *ptype = seg
        phdrs.append(PHDR.pack(ptype[0] if ptype else PT_LOAD, offset, vaddr, vaddr, len(data), memsz, pflags, 4))
        blobs.append(data)
        offset += len(data)
    header = EHDR.pack(ident, e_type, machine, 1, entry, phoff, 0, flags, EHDR.size, PHDR.size, len(segments), 40, 0, 0)
    return header + b"".join(phdrs) + b"".join(blobs)


CODE = struct.pack("<3I", ADDI_X0, ADDI_X0, 0x00000073)


def good_segments():
    return [(abi.TEXT_START, CODE, len(CODE), R | X), (0x20000, b"\x01\x02\x03\x04\x05", 16, R | W)]


@pytest.fixture(scope="module")
def hello_elf(tmp_path_factory) -> bytes:
    path = build_guest(GUESTS_DIR / "hello", tmp_path_factory.mktemp("elf") / "hello.elf")
    return path.read_bytes()


def expect_error(data: bytes, message: str) -> None:
    with pytest.raises(ElfError) as info:
        load_elf(data)
    assert str(info.value) == message


# ------------------------------------------------------------------------------------------------ good files
def test_tiny_elf_loads():
    image = load_elf(make_elf(good_segments()))
    assert image.entry == abi.TEXT_START
    assert image.exec_ranges == ((abi.TEXT_START, abi.TEXT_START + 12),)
    assert image.program() == {abi.TEXT_START: ADDI_X0, abi.TEXT_START + 4: ADDI_X0, abi.TEXT_START + 8: 0x73}
    # data 01..05 (its last word zero-padded); the bss part up to memsz 16 is not in the image (zero anyway)
    assert {a: w for a, w in image.words.items() if a >= 0x20000} == {0x20000: 0x04030201, 0x20004: 0x05}


def test_to_bytes_array_spans_all_words():
    image = load_elf(make_elf(good_segments()))
    base, data = image.to_bytes_array()
    assert base == abi.TEXT_START and data.dtype == np.uint8 and len(data) == 0x20008 - abi.TEXT_START
    assert data[:12].tobytes() == CODE and data[0x10000:0x10005].tobytes() == b"\x01\x02\x03\x04\x05"
    assert not data[12:0x10000].any()


def test_unaligned_segments_share_a_word():
    segs = [(abi.TEXT_START, CODE, 12, R | X), (0x20001, b"\xaa", 1, R | W), (0x20002, b"\xbb\xcc", 2, R | W)]
    image = load_elf(make_elf(segs))
    assert image.words[0x20000] == 0xCCBBAA00


def test_real_guest_image(hello_elf):
    image = load_elf(hello_elf)
    assert isinstance(image, MemoryImage)
    assert image.entry == abi.TEXT_START  # crt0's _start comes first in .text
    assert image.exec_ranges[0][0] == abi.TEXT_START
    assert image.words[abi.TEXT_START] == 0x01000137  # lui sp, 0x1000: sp = STACK_TOP
    assert all(a % 4 == 0 and 0 <= w < 2**32 for a, w in image.words.items())
    assert max(image.words) < LOAD_END
    program = image.program()
    assert program and set(program) <= set(image.words)
    assert all(image.is_executable(a) for a in program)
    # every instruction is 32 bits wide: the low two bits of each word are 0b11 (no compressed encodings)
    assert all(w & 3 == 3 for w in program.values())


def test_load_from_path(tmp_path, hello_elf):
    path = tmp_path / "g.elf"
    path.write_bytes(hello_elf)
    assert load_elf(path) == load_elf(str(path)) == load_elf(hello_elf)


# ------------------------------------------------------------------------------------------------ bad headers
def test_missing_file(tmp_path):
    with pytest.raises(ElfError) as info:
        load_elf(tmp_path / "nope.elf")
    assert str(info.value) == f"cannot read {tmp_path / 'nope.elf'}: No such file or directory"


@pytest.mark.parametrize("data", [b"", b"\x7fEL", b"MZ\x90\x00" + b"\0" * 100, b"#!/bin/sh\n"])
def test_not_an_elf(data):
    expect_error(data, "not an ELF file (bad magic)")


def test_truncated_header(hello_elf):
    expect_error(hello_elf[:30], "truncated ELF: 30 bytes, the header alone needs 52")


def test_64_bit(hello_elf):
    expect_error(hello_elf[:4] + b"\x02" + hello_elf[5:], "not a 32-bit ELF (64-bit); guests must be RV32")


def test_bad_class(hello_elf):
    expect_error(hello_elf[:4] + b"\x07" + hello_elf[5:], "not a 32-bit ELF (class 7); guests must be RV32")


def test_big_endian(hello_elf):
    expect_error(
        hello_elf[:5] + b"\x02" + hello_elf[6:],
        "not a little-endian ELF (big-endian); RISC-V guests are little-endian",
    )


def patch_u16(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack("<H", value) + data[offset + 2 :]


def patch_u32(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack("<I", value) + data[offset + 4 :]


def test_wrong_machine(hello_elf):
    expect_error(patch_u16(hello_elf, 18, 62), "not a RISC-V ELF (machine 62)")  # EM_X86_64


@pytest.mark.parametrize("e_type, name", [(1, "ET_REL"), (3, "ET_DYN"), (4, "ET_CORE"), (9, "9")])
def test_not_executable(hello_elf, e_type, name):
    expect_error(
        patch_u16(hello_elf, 16, e_type),
        f"not a static executable (type {name}); link the guest with the zkvm toolchain",
    )


def test_rvc_flag(hello_elf):
    expect_error(
        patch_u32(hello_elf, 36, 0x1),
        "ELF uses compressed instructions (RVC flag set); guests must be RV32IM only",
    )


def test_rve_flag():
    expect_error(make_elf(good_segments(), flags=0x8), "ELF targets RV32E (RVE flag set); guests must be RV32IM")


def test_no_program_headers(hello_elf):
    expect_error(patch_u16(hello_elf, 44, 0), "no program headers: nothing to load")


def test_bad_phentsize(hello_elf):
    expect_error(patch_u16(hello_elf, 42, 56), "bad program header entry size 56 (expected 32)")


def test_program_headers_past_end(hello_elf):
    expect_error(
        patch_u32(hello_elf, 28, len(hello_elf) - 40),
        f"truncated ELF: program headers [0x{len(hello_elf) - 40:x}, 0x{len(hello_elf) + 24:x}) past end of file "
        f"({len(hello_elf)} bytes)",
    )


# ------------------------------------------------------------------------------------------------ bad segments
def test_truncated_segment_data(hello_elf):
    cut = 0x1100  # inside .text, which starts at file offset 0x1000
    expect_error(
        hello_elf[:cut],
        f"truncated ELF: segment 0 data [0x1000, 0x{0x1000 + load_elf(hello_elf).exec_ranges[0][1] - abi.TEXT_START:x}) "
        f"past end of file ({cut} bytes)",
    )


def test_filesz_larger_than_memsz():
    segs = [(abi.TEXT_START, CODE, 8, R | X)]
    expect_error(make_elf(segs), "segment 0: file size 0xc larger than memory size 0x8")


def test_segment_larger_than_memory():
    segs = [(abi.TEXT_START, CODE, 12, R | X), (0x20000, b"", 0x0200_0000, R | W)]
    expect_error(make_elf(segs), "segment 1: memory size 0x2000000 larger than guest memory (0xeff000)")


def test_segment_below_guest_memory():
    segs = [(abi.TEXT_START, CODE, 12, R | X), (0x0, b"\0" * 4, 4, R | W)]
    expect_error(make_elf(segs), "segment 1: [0x00000000, 0x00000004) outside loadable guest memory [0x00001000, 0x00f00000)")


def test_segment_into_stack_reservation():
    segs = [(abi.TEXT_START, CODE, 12, R | X), (LOAD_END - 8, b"", 16, R | W)]
    expect_error(make_elf(segs), "segment 1: [0x00effff8, 0x00f00008) outside loadable guest memory [0x00001000, 0x00f00000)")


def test_segment_address_wraps():
    segs = [(abi.TEXT_START, CODE, 12, R | X), (0xFFFFFFF0, b"", 0x20, R | W)]
    expect_error(make_elf(segs), "segment 1: [0xfffffff0, 0x100000010) outside loadable guest memory [0x00001000, 0x00f00000)")


def test_overlapping_segments():
    segs = [(abi.TEXT_START, CODE, 12, R | X), (abi.TEXT_START + 8, b"\0" * 8, 8, R | W)]
    expect_error(make_elf(segs), "segments 0 and 1 overlap: [0x00010000, 0x0001000c) and [0x00010008, 0x00010010)")


def test_overlap_via_bss():
    segs = [(0x20000, b"", 0x100, R | W), (abi.TEXT_START, CODE, 12, R | X), (0x200F0, b"\1", 1, R | W)]
    expect_error(make_elf(segs), "segments 0 and 2 overlap: [0x00020000, 0x00020100) and [0x000200f0, 0x000200f1)")


def test_entry_in_data_segment():
    expect_error(make_elf(good_segments(), entry=0x20000), "entry point 0x00020000 is not inside an executable segment")


def test_entry_unmapped():
    expect_error(make_elf(good_segments(), entry=0x0), "entry point 0x00000000 is not inside an executable segment")


def test_entry_past_text():
    expect_error(
        make_elf(good_segments(), entry=abi.TEXT_START + 12),
        "entry point 0x0001000c is not inside an executable segment",
    )


def test_entry_misaligned():
    expect_error(make_elf(good_segments(), entry=abi.TEXT_START + 2), "entry point 0x00010002 is not 4-byte aligned")


def test_executable_segment_misaligned():
    segs = [(abi.TEXT_START + 2, CODE, 12, R | X)]
    expect_error(make_elf(segs, entry=abi.TEXT_START + 2), "entry point 0x00010002 is not 4-byte aligned")
    segs = [(abi.TEXT_START, b"\0\0", 2, R | X), (abi.TEXT_START + 6, CODE, 12, R | X)]
    expect_error(make_elf(segs), "executable segment at 0x00010006 is not 4-byte aligned")


def test_no_loadable_segment():
    expect_error(make_elf([(abi.TEXT_START, CODE, 12, R | X, 4)]), "no loadable segment")  # PT_NOTE only


@pytest.mark.parametrize("ptype", [PT_DYNAMIC, PT_INTERP])
def test_dynamic_segments_rejected(ptype):
    segs = good_segments() + [(0x30000, b"/lib/ld.so\0", 11, R, ptype)]
    expect_error(make_elf(segs), "segment 2: dynamic linking is not supported (static executables only)")


# ------------------------------------------------------------------------------------------------ robustness
def test_random_mutations_never_escape(hello_elf):
    """Random byte flips in the ELF and program headers, some with the file cut short: the loader either
    accepts or raises ElfError, never another exception (pyelftools' own errors are wrapped too)."""
    seed = 1234
    rng = random.Random(seed)
    header_end = 52 + 32 * 4
    for trial in range(150):
        data = bytearray(hello_elf)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(header_end)] = rng.randrange(256)
        if trial % 4 == 0:
            del data[rng.randrange(len(data)) :]
        try:
            load_elf(bytes(data))
        except ElfError:
            pass
        except Exception as exc:  # pragma: no cover - the failure being tested for
            pytest.fail(f"seed={seed} trial={trial}: {type(exc).__name__}: {exc}")
