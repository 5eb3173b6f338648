"""Slow, obviously-correct BabyBear and GF(p^4) arithmetic on Python ints, written independently of
``babybear.py`` (schoolbook product reduced by x^4 = W, inverse by Fermat in the extension) so that tests can
compare the numpy and C implementations against it."""

from __future__ import annotations

P = 15 * 2**27 + 1
W = 11


def add(a: int, b: int) -> int:
    return (a + b) % P


def sub(a: int, b: int) -> int:
    return (a - b) % P


def mul(a: int, b: int) -> int:
    return (a * b) % P


def inv(a: int) -> int:
    if a % P == 0:
        raise ZeroDivisionError("inverse of zero")
    return pow(a, P - 2, P)


Ext = tuple[int, int, int, int]


def ext_add(a: Ext, b: Ext) -> Ext:
    return tuple((x + y) % P for x, y in zip(a, b))  # type: ignore[return-value]


def ext_sub(a: Ext, b: Ext) -> Ext:
    return tuple((x - y) % P for x, y in zip(a, b))  # type: ignore[return-value]


def ext_mul(a: Ext, b: Ext) -> Ext:
    prod = [0] * 7
    for i in range(4):
        for j in range(4):
            prod[i + j] += a[i] * b[j]
    for k in range(6, 3, -1):  # x^k = W·x^(k-4)
        prod[k - 4] += W * prod[k]
    return tuple(c % P for c in prod[:4])  # type: ignore[return-value]


def ext_pow(a: Ext, e: int) -> Ext:
    result: Ext = (1, 0, 0, 0)
    for bit in bin(e)[2:]:
        result = ext_mul(result, result)
        if bit == "1":
            result = ext_mul(result, a)
    return result


def ext_inv(a: Ext) -> Ext:
    if all(c % P == 0 for c in a):
        raise ZeroDivisionError("inverse of zero")
    return ext_pow(a, P**4 - 2)  # the multiplicative group of GF(p^4) has order p^4 - 1


def ext_mul_base(a: Ext, b: int) -> Ext:
    return tuple((x * b) % P for x in a)  # type: ignore[return-value]


def poly_eval(coeffs: list[int], x: int) -> int:
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % P
    return acc


def ext_poly_eval(coeffs: list[int], z: Ext) -> Ext:
    """Base-field coefficients evaluated at an extension point (Horner)."""
    acc: Ext = (0, 0, 0, 0)
    for c in reversed(coeffs):
        acc = ext_add(ext_mul(acc, z), (c % P, 0, 0, 0))
    return acc
