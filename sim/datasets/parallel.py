"""Ordered parallel work with a progress bar and a clean Ctrl-C.

Work items are numbered; each is computed from its number alone (its own random
seed), so the result sequence is the same whatever the number of workers. Results
come back in order, and the caller writes them as they come, so an interrupt leaves
only complete records behind.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from typing import TypeVar

import cv2

T = TypeVar("T")


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def prepare_process() -> None:
    """Set a generator's process up before its workers fork (they inherit it).

    OpenCV runs single-threaded: the generators already use every core with one worker
    process each, and OpenCV's own thread pool on top would only make the workers'
    threads compete for the same cores.
    """
    cv2.setNumThreads(1)


def _ignore_sigint() -> None:
    # Workers leave Ctrl-C to the parent, which stops them in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# The function of the current map. Forked workers inherit it, so it is never pickled:
# it may hold a city, a renderer, anything.
_work: Callable[[int], object] | None = None


def _run(index: int) -> object:
    assert _work is not None
    return _work(index)


def ordered_map(func: Callable[[int], T], count: int, *, workers: int) -> Iterator[T]:
    """func(0), func(1), ... func(count-1), computed by `workers` processes, yielded in order.

    At most two items per worker are in flight, so memory stays flat however long the
    run. Stop early by closing the generator (or breaking out of the loop): pending
    work is cancelled and the workers end.
    """
    if workers <= 1:
        for i in range(count):
            yield func(i)
        return
    global _work
    _work = func
    pool = mp.get_context("fork").Pool(workers, initializer=_ignore_sigint)
    try:
        pending: deque = deque()
        submitted = 0
        while submitted < count or pending:
            while submitted < count and len(pending) < 2 * workers:
                pending.append(pool.apply_async(_run, (submitted,)))
                submitted += 1
            yield pending.popleft().get()
        pool.close()
    finally:
        pool.terminate()
        pool.join()
        _work = None
