"""The SHA-256 round constants exist twice: in C (zkvm/stark/backend/native/sha256_k.h, used by the prover's SHA-256 and
the interpreter's SHA256 ecall) and in the circuit (zkvm/circuit/sha256.py, the sha256_k table). Both must be
FIPS 180-4's K: the first 32 bits of the fractional parts of the cube roots of the first 64 primes."""

from __future__ import annotations

import re
from pathlib import Path

from zkvm.circuit import sha256 as sha

HEADER = Path(__file__).resolve().parents[1] / "zkvm" / "stark" / "backend" / "native" / "sha256_k.h"


def _icbrt(n: int) -> int:
    """floor(n ** (1/3)) exactly."""
    x = 1 << ((n.bit_length() + 2) // 3)
    while True:
        y = (2 * x + n // (x * x)) // 3
        if y >= x:
            break
        x = y
    while x ** 3 > n:
        x -= 1
    while (x + 1) ** 3 <= n:
        x += 1
    return x


def _fips_k() -> list[int]:
    primes, n = [], 2
    while len(primes) < 64:
        if all(n % p for p in primes):
            primes.append(n)
        n += 1
    return [_icbrt(p << 96) & 0xFFFFFFFF for p in primes]  # floor(cbrt(p) * 2^32) mod 2^32


def test_circuit_constants_are_fips():
    assert list(sha.K) == _fips_k()


def test_c_header_constants_are_fips():
    body = re.search(r"ZK_SHA256_K\[64\] = \{(.*?)\};", HEADER.read_text(), re.S).group(1)
    assert [int(v, 16) for v in re.findall(r"0x[0-9a-fA-F]{8}", body)] == _fips_k()
