"""Segment proving on a real Dask LocalCluster (zkvm/distributed.py): two workers; a worker killed mid-proof
(its task reruns elsewhere, recomputing the phase-1 state the dead worker kept; the receipt verifies); a
scheduler that cannot be reached."""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from host.build import GUESTS_DIR, build_guest  # noqa: E402
from zkvm import distributed as zd  # noqa: E402
from zkvm import receipt as R  # noqa: E402
from zkvm import segmented  # noqa: E402
from zkvm.elf import load_elf  # noqa: E402
from zkvm.exec import Executor  # noqa: E402

PO2 = 9
N = 300  # fib(300): ~1880 cycles -> 4 segments


@pytest.fixture(scope="module")
def fib(tmp_path_factory):
    out = tmp_path_factory.mktemp("guests")
    return load_elf(build_guest(Path(GUESTS_DIR) / "fib", out / "fib.elf"))


#: A stalled cluster fails its test (all threads' stacks printed, the process ends) instead of hanging the run.
STALL_S = 300


@pytest.fixture(autouse=True)
def _stall_guard():
    faulthandler.dump_traceback_later(STALL_S, exit=True, file=sys.stderr)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def cluster():
    lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50)
    client = distributed.Client(lc)
    yield client
    client.close()
    lc.close()


def _check(fib, result, receipt):
    run = Executor(fib, N.to_bytes(4, "little")).run()
    assert receipt.segments and (result.journal, result.exit_code) == (run.journal, run.exit_code)
    assert R.verify(R.Receipt.from_bytes(receipt.to_bytes()), R.image_id(fib)) == run.journal


def _native_threads() -> tuple[int, int]:
    """Both extensions' thread pools (each links its own copy of native/parallel.c)."""
    from zkvm.stark.backend import _evalvm, _native

    return int(_native.lib.zk_num_threads()), int(_evalvm.lib.zk_num_threads())


def test_two_workers(fib, cluster):
    """Both workers commit and prove segments; afterwards none keeps a phase-1 state (each was finished where it
    was kept), and their native kernels ran on their one Dask thread, not one thread per core."""
    result, receipt = R.prove(fib, N.to_bytes(4, "little"), zk=False, segment_po2=PO2, scheduler=cluster)
    _check(fib, result, receipt)
    done = cluster.run(lambda: len(__import__("zkvm.segmented", fromlist=["x"])._SETUP_CACHE))
    assert len(done) == 2 and all(done.values()), done
    assert all(not keys for keys in cluster.run(segmented.pending_keys).values())
    assert set(cluster.run(_native_threads).values()) == {(1, 1)}


def test_worker_killed_mid_proof(fib, cluster):
    pids = cluster.run(os.getpid)
    killed = []

    def killer():
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            for addr, keys in cluster.processing().items():
                if any(str(k).startswith("zkvm-segment-") for k in keys) and addr in pids:
                    os.kill(pids[addr], signal.SIGKILL)
                    killed.append(addr)
                    return
            time.sleep(0.02)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    result, receipt = R.prove(fib, N.to_bytes(4, "little"), zk=False, segment_po2=PO2, scheduler=cluster)
    t.join(timeout=5)
    assert killed, "no segment task was seen running: nothing was killed"
    _check(fib, result, receipt)


def test_unreachable_scheduler(fib, monkeypatch):
    monkeypatch.setattr(zd, "CONNECT_TIMEOUT_S", 2)
    with pytest.raises(zd.SchedulerUnreachable, match="tcp://127.0.0.1:9"):
        R.prove(fib, N.to_bytes(4, "little"), zk=False, segment_po2=PO2, scheduler="tcp://127.0.0.1:9")
