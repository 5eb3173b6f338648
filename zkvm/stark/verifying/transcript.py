"""Fiat-Shamir transcript: one SHA-256 hash chain, one schema for prover and verifier.

Schema (the order is the protocol; prover.py and verifier.py follow it step by step):
domain tag -> options -> AIR digest -> table heights -> publics -> public terms -> fixed_digest ->
main root -> [alpha, beta] -> aux root, LogUp final sums -> [lambda] -> quotient root -> [zeta] ->
out-of-domain values -> [gamma] -> per FRI layer: root, [beta_k] -> final polynomial -> proof of work ->
[query indices].

Every absorb is length-prefixed and labelled; every squeeze is labelled and re-keys the chain, so no two
challenges can be equal by construction. Field challenges are drawn by rejection sampling of 31-bit words,
hence exactly uniform.
"""

from __future__ import annotations

import hashlib
import struct

from zkvm.field.babybear import Ext, P

DOMAIN_TAG = b"zkvm-stark-v1"


class Transcript:
    def __init__(self, domain: bytes = DOMAIN_TAG) -> None:
        self._state = hashlib.sha256(b"zkvm-transcript" + struct.pack("<I", len(domain)) + domain).digest()

    def absorb(self, label: str, data: bytes) -> None:
        lab = label.encode()
        self._state = hashlib.sha256(self._state + b"A" + struct.pack("<I", len(lab)) + lab +
                                     struct.pack("<Q", len(data)) + bytes(data)).digest()

    def absorb_each(self, label: str, items) -> None:
        """``absorb(label, item)`` for every item in turn (same states), without the per-call set-up."""
        lab = label.encode()
        head = b"A" + struct.pack("<I", len(lab)) + lab
        state, sha, pack = self._state, hashlib.sha256, struct.Struct("<Q").pack
        for data in items:
            state = sha(state + head + pack(len(data)) + bytes(data)).digest()
        self._state = state

    def absorb_stream(self, label: str, size: int, chunks) -> None:
        """``absorb(label, b"".join(chunks))`` without holding the joined bytes (``size``: their total length)."""
        lab = label.encode()
        h = hashlib.sha256(self._state + b"A" + struct.pack("<I", len(lab)) + lab + struct.pack("<Q", size))
        seen = 0
        for chunk in chunks:
            h.update(chunk)
            seen += len(chunk)
        if seen != size:
            raise ValueError(f"absorb_stream: {seen} bytes, announced {size}")  # a caller's bug, not input
        self._state = h.digest()

    def _words(self, label: str):
        """Stream of 32-bit words bound to the current state and label; re-keys the state first."""
        lab = label.encode()
        self._state = hashlib.sha256(self._state + b"S" + struct.pack("<I", len(lab)) + lab).digest()
        seed = self._state
        counter = 0
        while True:
            block = hashlib.sha256(seed + struct.pack("<Q", counter)).digest()
            counter += 1
            yield from struct.unpack("<8I", block)

    def challenge_base(self, label: str) -> int:
        for w in self._words(label):
            v = w & 0x7FFFFFFF
            if v < P:
                return v
        raise AssertionError("unreachable")  # pragma: no cover

    def challenge_ext(self, label: str) -> Ext:
        out = []
        for w in self._words(label):
            v = w & 0x7FFFFFFF
            if v < P:
                out.append(v)
                if len(out) == 4:
                    return Ext(*out)
        raise AssertionError("unreachable")  # pragma: no cover

    def query_indices(self, label: str, count: int, domain_size: int) -> list[int]:
        """``count`` uniform indices in [0, domain_size) (a power of two: masking is exact)."""
        if domain_size & (domain_size - 1) or domain_size < 1:
            raise ValueError("domain size must be a power of two")
        mask = domain_size - 1
        out = []
        for w in self._words(label):
            if len(out) == count:
                break
            out.append(w & mask)
        return out

    # ---- proof of work
    def _pow_prefix(self, bits: int) -> "hashlib._Hash":
        return hashlib.sha256(self.pow_message_prefix(bits))

    @staticmethod
    def _leading_zeros_ok(digest: bytes, bits: int) -> bool:
        return bits == 0 or int.from_bytes(digest[:8], "big") >> (64 - bits) == 0

    def pow_message_prefix(self, bits: int) -> bytes:
        """The bytes hashed before the 8-byte little-endian nonce (for a native grinder)."""
        return self._state + b"P" + struct.pack("<B", bits)

    def grind(self, bits: int, search=None) -> int:
        """Find a nonce whose hash with the current state has ``bits`` leading zero bits (prover side).
        ``search(prefix, bits)``, if given, is a faster equivalent search (checked here before use)."""
        if search is not None:
            nonce = search(self.pow_message_prefix(bits), bits)
            if nonce is not None and self.check_pow(nonce, bits):
                return nonce
        prefix = self._pow_prefix(bits)
        nonce = 0
        while True:
            h = prefix.copy()
            h.update(struct.pack("<Q", nonce))
            if self._leading_zeros_ok(h.digest(), bits):
                return nonce
            nonce += 1

    def check_pow(self, nonce: int, bits: int) -> bool:
        if not 0 <= nonce < 1 << 64:
            return False
        h = self._pow_prefix(bits)
        h.update(struct.pack("<Q", nonce))
        return self._leading_zeros_ok(h.digest(), bits)
