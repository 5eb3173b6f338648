"""The guest toolchain: generated files up to date, the build command and its errors, the runtime library."""

from __future__ import annotations

import importlib.util
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from unicorn_oracle import run_image  # noqa: E402

from host.build import REPO_ROOT, TOOLCHAIN_DIR, BuildError, build_guest, find_guests  # noqa: E402
from host.cli import main as cli_main  # noqa: E402
from zkvm import abi  # noqa: E402
from zkvm.elf import load_elf  # noqa: E402


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_header", TOOLCHAIN_DIR / "gen_header.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------------ generated files
def test_generated_files_are_up_to_date():
    gen = load_generator()
    stale = gen.stale_files()
    assert not stale, f"regenerate with `python toolchain/gen_header.py`: {stale}"


def test_header_carries_every_abi_constant():
    header = (TOOLCHAIN_DIR / "zkvm_guest.h").read_text()
    for name, value in abi.ECALLS.items():
        assert f"#define ZKVM_ECALL_{name} {value}\n" in header
    for name, value in abi.EXIT_CODES.items():
        assert f"#define ZKVM_EXIT_{name} {value}\n" in header
    for name in ["MEM_START", "TEXT_START", "MEM_END", "STACK_TOP", "STACK_SIZE"]:
        assert f"#define ZKVM_{name} ZKVM_U32(0x{getattr(abi, name):08x}) " in header


def test_linker_script_matches_abi():
    script = (TOOLCHAIN_DIR / "link.ld").read_text()
    assert f"ORIGIN = 0x{abi.TEXT_START:08x}" in script
    assert f"ASSERT(_end <= 0x{abi.MEM_END - abi.STACK_SIZE:08x}" in script


def test_staleness_is_detected(tmp_path, monkeypatch):
    gen = load_generator()
    monkeypatch.setattr(gen, "HEADER_PATH", tmp_path / "zkvm_guest.h")
    monkeypatch.setattr(gen, "LINKER_SCRIPT_PATH", tmp_path / "link.ld")
    assert set(gen.stale_files()) == {tmp_path / "zkvm_guest.h", tmp_path / "link.ld"}  # missing
    for path, text in gen.outputs().items():
        path.write_text(text)
    assert gen.stale_files() == []
    (tmp_path / "zkvm_guest.h").write_text(gen.render_header().replace("ZKVM_ECALL_HALT 0", "ZKVM_ECALL_HALT 9"))
    assert gen.stale_files() == [tmp_path / "zkvm_guest.h"]


def test_generator_check_mode():
    proc = subprocess.run([sys.executable, str(TOOLCHAIN_DIR / "gen_header.py"), "--check"], capture_output=True)
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------------------------------------ build command
def write_guest(root: Path, name: str, source: str, **extra: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "main.c").write_text(source)
    for filename, text in extra.items():
        (folder / filename.replace("__", ".")).write_text(text)
    return folder


def test_build_help(capsys):
    with pytest.raises(SystemExit) as info:
        cli_main(["build", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--all" in out and "sources.txt" in out and "-o OUTPUT" in out


def test_build_cli_writes_elf(tmp_path):
    out = tmp_path / "fib.elf"
    proc = subprocess.run(
        [sys.executable, "-m", "host", "build", "guest/fib", "-o", str(out)], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert load_elf(out).entry == abi.TEXT_START


def test_syntax_error_is_a_clear_build_error(tmp_path):
    guest = write_guest(tmp_path, "broken", '#include "zkvm_guest.h"\nint main(void) { return 0 }\n')
    with pytest.raises(BuildError) as info:
        build_guest(guest, tmp_path / "broken.elf")
    message = str(info.value)
    assert message.startswith("compiling guest broken failed:\n")
    assert "main.c:2:" in message and "expected ';'" in message  # the compiler's own diagnostic
    assert not (tmp_path / "broken.elf").exists()


def test_syntax_error_via_cli(tmp_path):
    guest = write_guest(tmp_path, "broken", "int main(void) { return x; }\n")
    proc = subprocess.run([sys.executable, "-m", "host", "build", str(guest)], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: compiling guest broken failed:\n")
    assert "use of undeclared identifier 'x'" in proc.stderr and "Traceback" not in proc.stderr


def test_undefined_symbol_is_a_build_error(tmp_path):
    guest = write_guest(tmp_path, "nolink", "int missing(void);\nint main(void) { return missing(); }\n")
    with pytest.raises(BuildError, match="undefined symbol: missing"):
        build_guest(guest, tmp_path / "nolink.elf")


def test_image_too_large_for_memory(tmp_path):
    source = "static volatile char big[15 << 20];\nint main(void) { big[0] = 1; return big[1000]; }\n"
    guest = write_guest(tmp_path, "huge", source)
    with pytest.raises(BuildError, match="guest image overlaps the stack reserved below MEM_END"):
        build_guest(guest, tmp_path / "huge.elf")


def test_missing_folder_and_main(tmp_path):
    with pytest.raises(BuildError) as info:
        build_guest(tmp_path / "nothing")
    assert str(info.value) == f"guest folder not found: {tmp_path / 'nothing'}"
    (tmp_path / "empty").mkdir()
    with pytest.raises(BuildError) as info:
        build_guest(tmp_path / "empty")
    assert str(info.value) == f"{tmp_path / 'empty'} has no main.c"


def test_sources_txt_adds_library_dirs(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "twice.h").write_text("unsigned twice(unsigned x);\n")
    (lib / "twice.c").write_text('#include "twice.h"\nunsigned twice(unsigned x) { return 2 * x; }\n')
    source = '#include "zkvm_guest.h"\n#include "twice.h"\nint main(void) { zkvm_commit_u32(twice(zkvm_read_u32())); return 0; }\n'
    guest = write_guest(tmp_path / "guests", "uses_lib", source, sources__txt="# the shared library\n../../lib\n")
    image = load_elf(build_guest(guest, tmp_path / "uses_lib.elf"))
    assert run_image(image, struct.pack("<I", 21)).journal == struct.pack("<I", 42)


def test_sources_txt_missing_dir(tmp_path):
    guest = write_guest(tmp_path, "badlist", "int main(void) { return 0; }\n", sources__txt="\nnot_there\n")
    with pytest.raises(BuildError) as info:
        build_guest(guest)
    assert str(info.value) == f"{guest / 'sources.txt'}:2: source directory not found: not_there"


def test_find_guests_skips_libraries(tmp_path):
    write_guest(tmp_path, "b", "int main(void){return 0;}")
    write_guest(tmp_path, "a", "int main(void){return 0;}")
    (tmp_path / "nn").mkdir()
    (tmp_path / "nn" / "nn.c").write_text("")
    assert [p.name for p in find_guests(tmp_path)] == ["a", "b"]


def test_main_return_value_is_exit_code(tmp_path):
    guest = write_guest(tmp_path, "ret", "int main(void) { return 42; }\n")
    result = run_image(load_elf(build_guest(guest, tmp_path / "ret.elf")), b"")
    assert (result.exit_code, result.journal) == (42, b"")
    assert result.regs[2] == abi.STACK_TOP  # sp back at the top after main returned


# ------------------------------------------------------------------------------------------------ runtime library
RUNTIME_PROBE = r"""
#include "zkvm_guest.h"
static int bss_words[64];
static unsigned char buf[4096];

int main(void) {
    /* .bss is zero */
    int nonzero = 0;
    for (int i = 0; i < 64; i++) nonzero |= bss_words[i];
    zkvm_commit_u32(nonzero);

    /* zkvm_read with odd sizes and odd destinations: the journal must reproduce the input exactly */
    static const unsigned sizes[] = {1, 2, 3, 5, 7, 4, 8, 13, 0, 31, 64, 1};
    size_t total = 0, k = 0;
    for (;;) {
        size_t want = sizes[k++ % 12];
        size_t got = zkvm_read(buf + 1 + (k % 3), want);
        zkvm_commit(buf + 1 + (k % 3), got);
        total += got;
        if (got < want) break;
    }
    zkvm_commit_u32(total);
    zkvm_commit_u32(zkvm_read(buf, 10)); /* after the end: 0 */

    /* memmove both directions, memset, memcmp */
    memset(buf, 0, sizeof buf);
    for (int i = 0; i < 64; i++) buf[i] = (unsigned char)i;
    memmove(buf + 3, buf, 40);   /* overlapping, dst after src */
    memmove(buf + 100, buf + 101, 20); /* dst before src */
    memset(buf + 200, 0xab, 11);
    zkvm_commit(buf, 128);
    zkvm_commit(buf + 196, 20);
    zkvm_commit_u32((uint32_t)memcmp(buf, buf + 3, 2));
    zkvm_commit_u32((uint32_t)memcmp("abc", "abd", 3));
    zkvm_commit_u32((uint32_t)memcmp("abc", "abc", 3));

    /* allocator: 8-byte aligned, monotone, NULL when exhausted */
    char *a = zkvm_alloc(3), *b = zkvm_alloc(8);
    size_t before = zkvm_heap_free();
    void *too_big = zkvm_alloc(before + 1);
    void *rest = zkvm_alloc(before & ~(size_t)7);
    zkvm_commit_u32((uint32_t)(uintptr_t)a % 8 + (uint32_t)(uintptr_t)b % 8);
    zkvm_commit_u32((uint32_t)(b - a));
    zkvm_commit_u32(too_big == NULL);
    zkvm_commit_u32(rest != NULL && zkvm_heap_free() < 8 && zkvm_alloc(8) == NULL);
    zkvm_commit_u32((uint32_t)((uintptr_t)rest + (before & ~(size_t)7)) <= ZKVM_HEAP_END);

    /* CYCLES increases */
    uint32_t c0 = zkvm_cycles();
    uint32_t c1 = zkvm_cycles();
    zkvm_commit_u32(c1 > c0);
    zkvm_log("runtime ok", 10);
    zkvm_exit(7);
}
"""


@pytest.fixture(scope="module")
def runtime_probe(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe")
    return load_elf(build_guest(write_guest(root, "probe", RUNTIME_PROBE), root / "probe.elf"))


def expected_probe_journal(data: bytes) -> bytes:
    buf = bytearray(4096)
    buf[:64] = bytes(range(64))
    buf[3:43] = bytes(buf[0:40])
    buf[100:120] = bytes(buf[101:121])
    buf[200:211] = b"\xab" * 11
    u32 = lambda v: struct.pack("<I", v & 0xFFFFFFFF)  # noqa: E731
    return b"".join([
        u32(0), data, u32(len(data)), u32(0), bytes(buf[:128]), bytes(buf[196:216]),
        u32(buf[0] - buf[3]), u32(ord("c") - ord("d")), u32(0),
        u32(0), u32(8), u32(1), u32(1), u32(1), u32(1),
    ])  # fmt: skip


@pytest.mark.parametrize("length", [0, 1, 3, 4, 5, 100, 139, 140, 141, 1000])
def test_runtime_probe(runtime_probe, length):
    seed = 77 + length
    data = random.Random(seed).randbytes(length)
    result = run_image(runtime_probe, data)
    assert result.exit_code == 7
    assert result.logs == b"runtime ok"
    assert result.journal == expected_probe_journal(data), f"seed={seed}"


def test_no_compressed_instructions_in_any_guest(tmp_path):
    """Every word of every shipped guest's text is a 32-bit encoding (low bits 0b11)."""
    for guest in find_guests():
        image = load_elf(build_guest(guest, tmp_path / f"{guest.name}.elf"))
        bad = [hex(a) for a, w in image.program().items() if w & 3 != 3]
        assert not bad, f"{guest.name}: 16-bit encodings at {bad[:5]}"


def test_output_with_all_is_rejected(capsys):
    assert cli_main(["build", "--all", "-o", "x.elf"]) == 1
    assert capsys.readouterr().err == "error: -o/--output applies to a single guest, not --all\n"
