"""Segment proofs on Dask (``dask.distributed``): phase 2 of ``zkvm.segmented`` - every segment proven on its
own, with the run's shared LogUp challenges - as one task per segment.

``scheduler``: ``"local"`` starts an embedded ``LocalCluster`` (one single-threaded worker process per core,
nothing to configure, closed afterwards); an address (``tcp://host:8786``) uses an existing cluster, whose
workers must have this package installed; a ``distributed.Client`` is used as it is. The environment variable
``ZKVM_SCHEDULER`` gives the CLI's default.

Two tasks a segment. Phase 1 (``segmented.commit_segment``): the worker re-executes the run up to the segment
(unrecorded, fast), traces it and commits its main trace; it returns the root and heights (a few hundred
bytes) and keeps the prover's state in its own memory (at most ``segmented.KEEP_PENDING_BYTES``). Phase 2
(``segmented.prove_segment``), once the coordinator has drawn the shared challenges from every root: on the
worker that kept the state, it finishes the proof; anywhere else (that worker died, or dropped the state) it
recomputes phase 1 - deterministic, the job carries the randomness key - and checks the root is the committed
one. The image and the input are scattered once; a job is a few KB plus the touched-cell timestamps. A worker
that dies mid-task has its task rerun elsewhere (Dask's ``allowed-failures``), so the receipt is valid
whichever way it is proven. Native kernels on a worker use the worker's thread count.
"""

from __future__ import annotations

import os

from zkvm.errors import ZkvmError

ENV_SCHEDULER = "ZKVM_SCHEDULER"
#: Seconds to wait for a scheduler before giving up with SchedulerUnreachable.
CONNECT_TIMEOUT_S = 10


class SchedulerUnreachable(ZkvmError):
    """The Dask scheduler at the given address cannot be reached."""


def default_scheduler() -> str:
    return os.environ.get(ENV_SCHEDULER) or "local"


class Cluster:
    """A client for ``scheduler`` (see the module docstring); a context manager that closes what it started."""

    def __init__(self, scheduler, n_workers: int | None = None) -> None:
        from distributed import Client

        self._own = []
        if isinstance(scheduler, Client):
            self.client = scheduler
            return
        if scheduler in (None, "local"):
            from distributed import LocalCluster

            n = n_workers or os.cpu_count() or 1
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=50)
            self.client = Client(cluster)
            self._own = [self.client, cluster]
            return
        try:
            self.client = Client(str(scheduler), timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        self._own = [self.client]

    def close(self) -> None:
        for thing in self._own:
            try:
                thing.close()
            except Exception:  # closing is best effort: the proof is already made
                pass
        self._own = []

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Remote:
    """A client and the run's image and input, on every worker, for both phases' tasks."""

    def __init__(self, client, image, input: bytes) -> None:
        self.client = client
        # Scattered once, under keys of their own (hash=False): scattering equal data again under its content key
        # while the previous futures are being released races in the scheduler (dask/distributed#8576); that
        # was seen here as a stall at the start of phase 2.
        self.image, self.input = client.scatter([image, bytes(input)], broadcast=True, hash=False)

    def submit(self, fn, *args, **kw):
        """``fn(image, input, *args)`` as a task."""
        return self.client.submit(fn, self.image, self.input, *args, pure=False, **kw)


def run_jobs(remote: Remote, jobs: list, options, challenges, *, progress: bool = False,
             fixed_cache: str | None = None) -> list[bytes]:
    """Phase 2: every job's proof (``segmented.prove_segment``), in job order. Each job runs first on the worker that
    committed it, which may keep its phase-1 state (``workers=``, loose: elsewhere it recomputes that state)."""
    from zkvm import segmented

    plain = tuple(tuple(int(x) for x in e.c) for e in challenges)  # Ext does not pickle: its coordinates do
    futures = []
    for job in jobs:
        place = {"workers": [job.where], "allow_other_workers": True, "priority": 1} if job.where else {}
        futures.append(remote.submit(segmented.prove_segment, job, options, plain, fixed_cache,
                                     key=f"zkvm-segment-{job.index}-{job.key[:8].hex()}", **place))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(futures), desc="prove segments", unit="segment", leave=False)
    try:
        return gather(remote.client, futures, bar)
    finally:
        if bar is not None:
            bar.close()


def gather(client, futures: list, bar=None) -> list:
    """The futures' results in order, ticking ``bar`` as each completes."""
    from distributed import as_completed

    for _ in as_completed(futures):
        if bar is not None:
            bar.update(1)
    return client.gather(futures)
