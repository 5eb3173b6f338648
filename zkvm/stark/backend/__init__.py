"""Fast field maths for the prover: NTT/LDE, elementwise kernels, the constraint VM, in C (``native/``,
``evalvm/``, built by cffi into ``_native`` and ``_evalvm``) with numpy fallbacks giving identical results.
Never imported by the verifier."""
