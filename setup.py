"""Only here for `cffi_modules`: the C hot loops are cffi API-mode extensions built at install time."""
from setuptools import setup

setup(
    cffi_modules=[
        "zkvm/exec/build_exec.py:ffibuilder",
        "zkvm/stark/backend/native/build_native.py:ffibuilder",
        "zkvm/stark/backend/evalvm/build_evalvm.py:ffibuilder",
    ],
)
