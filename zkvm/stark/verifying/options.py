"""Proof options and the conjectured-security rule shared by prover and verifier."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from zkvm.field.babybear import P

#: Conjectured security can never exceed what the challenge field gives: |GF(p^4)| ~ 2^123.6.
FIELD_SECURITY_CAP = int(4 * math.log2(P))
#: Fixed (preprocessed) columns are committed once, independently of the proof options, at this blowup;
#: a proof with a smaller blowup reads every 2^(FIXED_LOG_BLOWUP - log_blowup)-th row of that commitment.
FIXED_LOG_BLOWUP = 4
MAX_QUERIES = 256
MAX_GRINDING_BITS = 32
MAX_LOG_FINAL_LEN = 10

_FMT = "<BHBBBB"  # log_blowup, num_queries, grinding_bits, log_fold_arity, log_final_len, zk
ENCODED_SIZE = struct.calcsize(_FMT)


@dataclass(frozen=True)
class ProofOptions:
    """FRI / protocol parameters. Defaults: zero knowledge, blowup 4, 41 queries, 19 grinding bits, final
    polynomial of 2^7 (+1) coefficients -> floor(41·log2(4·128/129)) + 19 = 100 conjectured bits. Measured on
    the 2-core machine (bench/README.md, receipt size): a query costs ~7 KB of a receipt, proof of work runs at
    ~8.5 M hashes/s, so the 41st-42nd query traded for 2 grinding bits saves ~2% of a receipt for ~50 ms of
    proof of work (<= 3% of the smallest proofs); two more bits per query cost 4x as much. The receipt prover
    then picks the FRI arity and final length per proof (``shape.smallest_options``). ``NON_ZK_DEFAULT``
    (integrity only): 42 queries, final length 2^3 -> 100 bits.

    ``log_fold_arity``: FRI folds by 2^k per committed layer (k in 1..3; arity 8 by default keeps proofs small);
    ``log_final_len``: folding stops once the degree bound is <= 2^k and the final polynomial is sent in clear;
    ``zk``: zero knowledge (salted leaves, randomised traces and quotient, masked FRI; see ``zk.py``). It costs
    a little code rate (the FRI degree bound gets a 1/2^log_final_len slack), which ``security_bits`` counts.
    """

    log_blowup: int = 2
    num_queries: int = 41
    grinding_bits: int = 19
    log_fold_arity: int = 3
    log_final_len: int = 7
    zk: bool = True

    def validate(self) -> None:
        """Raise ValueError if any field is out of its supported range."""
        if not 1 <= self.log_blowup <= FIXED_LOG_BLOWUP:
            raise ValueError(f"log_blowup must be in 1..{FIXED_LOG_BLOWUP}")
        if not 1 <= self.num_queries <= MAX_QUERIES:
            raise ValueError(f"num_queries must be in 1..{MAX_QUERIES}")
        if not 0 <= self.grinding_bits <= MAX_GRINDING_BITS:
            raise ValueError(f"grinding_bits must be in 0..{MAX_GRINDING_BITS}")
        if not 1 <= self.log_fold_arity <= 3:
            raise ValueError("log_fold_arity must be in 1..3")
        if not 0 <= self.log_final_len <= MAX_LOG_FINAL_LEN:
            raise ValueError(f"log_final_len must be in 0..{MAX_LOG_FINAL_LEN}")
        if not isinstance(self.zk, bool):
            raise ValueError("zk must be a bool")

    @property
    def blowup(self) -> int:
        return 1 << self.log_blowup

    @property
    def security_bits(self) -> int:
        """Conjectured bits: queries·log2(1/rate) + grinding, capped by the challenge field size. The rate is
        1/blowup, times (1 + 2^-log_final_len) under zk (the FRI degree slack that hides the randomisers)."""
        per_query = self.log_blowup
        if self.zk:
            per_query -= math.log2(1 + 2.0 ** -self.log_final_len)
        return min(math.floor(self.num_queries * per_query + 1e-9) + self.grinding_bits, FIELD_SECURITY_CAP)

    def to_bytes(self) -> bytes:
        return struct.pack(_FMT, self.log_blowup, self.num_queries, self.grinding_bits, self.log_fold_arity,
                           self.log_final_len, int(self.zk))

    @classmethod
    def from_bytes(cls, data: bytes) -> "ProofOptions":
        """Parse and validate; raises ValueError on anything out of range."""
        if len(data) != ENCODED_SIZE:
            raise ValueError("options: wrong length")
        lb, q, g, a, f, zk = struct.unpack(_FMT, data)
        if zk not in (0, 1):
            raise ValueError("options: zk flag must be 0 or 1")
        opts = cls(lb, q, g, a, f, bool(zk))
        opts.validate()
        return opts


#: Integrity-only defaults (``--no-zk``): 42·2 + 16 = 100 conjectured bits.
NON_ZK_DEFAULT = ProofOptions(num_queries=42, grinding_bits=16, log_final_len=3, zk=False)


def default_options(zk: bool = True) -> ProofOptions:
    return ProofOptions() if zk else NON_ZK_DEFAULT
