"""The constraint language: tables, columns, constraints and bus interactions (``air``), the numpy operations
expressions are evaluated with (``algebra``), trace validation (``traces``) and the row-by-row checker
(``check``). Pure Python + numpy; the verifier and the prover both build on it."""
