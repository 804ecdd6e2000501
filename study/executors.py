"""Executors: apply a function to items serially, in a local process pool or on Dask, calling
``on_done(item, result)`` in THIS process as each item completes (live progress).

No domain knowledge here: the study hands in picklable items and a picklable function.
Ctrl-C and SIGTERM stop the workers (nothing keeps computing for a dead study).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from problems.errors import ImcoptError

T = TypeVar("T")
R = TypeVar("R")
OnDone = Callable[[Any, Any], None]


class Interrupted(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: workers are stopped, finished work stays on disk."""


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise Interrupted(f"signal {signum}")


def default_jobs() -> int:
    """Cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def execute_all(fn: Callable[[T], R], items: Sequence[T], jobs: int, dask: str | None,
                on_done: Callable[[T, R], None],
                meanwhile: Callable[[], None] | None = None) -> None:
    """``on_done(item, fn(item))`` for every item; serial (jobs 1), a pool, or Dask.

    ``meanwhile``: run in a thread of this process while a local pool's workers compute (it
    is started once they exist, so no fork sees it, and joined before this returns); not run
    otherwise. SIGTERM is turned into `Interrupted` while this runs (in the main thread)."""
    if not items:
        return
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, _raise_interrupted) if main else None
    try:
        if dask is not None:
            _execute_dask(fn, items, dask, jobs, on_done)
        elif jobs <= 1:
            for item in items:
                on_done(item, fn(item))
        else:
            _execute_pool(fn, items, jobs, on_done, meanwhile)
    finally:
        if main:
            signal.signal(signal.SIGTERM, old if old is not None else signal.SIG_DFL)


def _worker_init() -> None:
    """Workers leave Ctrl-C / SIGTERM handling to the parent, which terminates them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _quietly(fn: Callable[[], None]) -> None:
    """``fn()``, its failure ignored: ``meanwhile`` only prepares work done later anyway,
    which then reports the same failure properly."""
    with contextlib.suppress(Exception):
        fn()


def _execute_pool(fn: Callable[[T], R], items: Sequence[T], jobs: int,
                  on_done: Callable[[T, R], None],
                  meanwhile: Callable[[], None] | None = None) -> None:
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ex = ProcessPoolExecutor(max_workers=min(jobs, len(items)), initializer=_worker_init)
    side = None
    try:
        futures = {ex.submit(fn, item): item for item in items}
        if meanwhile is not None:  # the workers are forked by now (on the first submit)
            side = threading.Thread(target=_quietly, args=(meanwhile,),
                                    name="imcopt-meanwhile", daemon=True)
            side.start()
        for f in as_completed(futures):  # each as it finishes: live progress
            on_done(futures[f], f.result())
        if side is not None:
            side.join()
    except BaseException:
        procs = list((getattr(ex, "_processes", None) or {}).values())
        ex.shutdown(wait=False, cancel_futures=True)
        for p in procs:  # do not leave workers computing for a dead study
            p.terminate()
        raise
    ex.shutdown(wait=True)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ImcoptError("--dask needs the optional dependency dask[distributed]: "
                          "pip install 'imcopt[dask]'") from None
    return distributed


def _execute_dask(fn: Callable[[T], R], items: Sequence[T], address: str, jobs: int,
                  on_done: Callable[[T, R], None]) -> None:
    distributed = _import_distributed()
    cluster = None
    try:
        if address == "local":
            cluster = distributed.LocalCluster(
                n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None)
            client = distributed.Client(cluster)
        else:
            try:
                client = distributed.Client(address, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ImcoptError(f"cannot reach Dask scheduler {address!r}: {exc}") from None
        with client:
            run_on_client(client, fn, items, on_done)
    finally:
        if cluster is not None:
            import logging

            # workers still importing when the study ends are killed: not worth a warning
            logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
            cluster.close()


def run_on_client(client: Any, fn: Callable[[T], R], items: Sequence[T],
                  on_done: Callable[[T, R], None]) -> None:
    """Submit ``fn(item)`` to a `distributed.Client`; handle results as they complete."""
    distributed = _import_distributed()
    futures = {}
    for item in items:
        f = client.submit(fn, item, pure=False)
        futures[f.key] = (f, item)
    try:
        for f in distributed.as_completed([f for f, _ in futures.values()]):
            on_done(futures[f.key][1], f.result())
    except BaseException:
        client.cancel([f for f, _ in futures.values()])
        raise
