"""Ordered parallel work with a progress bar and a clean Ctrl-C.

Work items are numbered; each is computed from its number alone (its own random
seed), so the result sequence is the same whatever the number of workers. Results
come back in order, and the caller writes them as they come, so an interrupt leaves
only complete records behind.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing as mp
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from typing import TypeVar

import cv2

T = TypeVar("T")
log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # glibc mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 << 20  # glibc's largest
_TRIM_THRESHOLD = 128 << 20


def prepare_process() -> None:
    """Set a generator's process up before its workers fork (they inherit it).

    OpenCV runs single-threaded: the generators already use every core with one worker
    process each, and OpenCV's own thread pool on top would only make the workers'
    threads compete for the same cores. Freed memory is kept for reuse
    (`keep_freed_memory`).
    """
    cv2.setNumThreads(1)
    keep_freed_memory()


def keep_freed_memory() -> bool:
    """Let glibc's malloc keep and reuse freed blocks up to 32 MB instead of returning them.

    A generator allocates and frees the same few hundred-KB images every frame (OpenCV's
    outputs, JPEG buffers). Above glibc's default threshold each of those is a fresh
    `mmap`, and every one of its pages faults on first touch: a third of the cost of a
    colour transform on a 320x240 frame. Kept on the heap, they are reused, and the
    process's memory stays at its high-water mark (flat over a long run). Returns False
    where the C library is not glibc (nothing is changed there).
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        log.debug("no mallopt in the C library (%s): allocator left as it is", name)
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1 and ok
    if not ok:
        log.debug("mallopt refused the thresholds: allocator left as it is")
    return ok


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


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
