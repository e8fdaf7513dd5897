"""How many threads a burst of work (a prompt's prefill) may use without waiting on others.

llama.cpp's threads meet at a barrier after every operation; when another busy thread holds
one of their cores, the others wait there for it, and a 2-thread prefill on 2 shared cores
took longer than a 1-thread one. Whether a core is free is read at the moment of the request:
``/proc/loadavg``'s fourth field counts the threads running or ready to run on the machine
(the reader among them), so ``cores - runnable`` cores are idle right now.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

LOADAVG = Path("/proc/loadavg")
READINGS = 5
"""Readings taken per decision, ``READING_GAP_S`` apart; the least busy counts. A thread busy
for good is runnable in every reading; one that is about to wait (this process's event loop
handing the request over, a system daemon's wake-up) is not, and must not cost a thread."""
READING_GAP_S = 0.0002


def parse_runnable(loadavg: str) -> int:
    """The running-or-runnable thread count in a ``/proc/loadavg`` line ("0.5 0.4 0.3 2/81 7")."""
    fields = loadavg.split()
    if len(fields) < 4 or "/" not in fields[3]:
        raise ValueError(f"not a /proc/loadavg line: {loadavg!r}")
    return int(fields[3].split("/", 1)[0])


def runnable_threads(path: Path = LOADAVG) -> int | None:
    """Threads running or ready to run on the machine now (the caller included), the least of
    a few readings about a millisecond apart in all; None where the system does not say."""
    counts = []
    try:
        for reading in range(READINGS):
            if reading:
                time.sleep(READING_GAP_S)
            counts.append(parse_runnable(path.read_text()))
    except (OSError, ValueError):
        return None
    return min(counts)


def burst_threads(wanted: int, baseline: int, runnable: int | None, cores: int | None) -> int:
    """Threads for a burst: up to ``wanted`` when the caller plus that many more threads find
    idle cores, else ``baseline`` (also when the load is unknown)."""
    if wanted <= baseline or runnable is None or cores is None:
        return baseline
    # the caller is counted in ``runnable`` and gets a core of its own; ``runnable`` is
    # machine-wide and ``cores`` this process's, so a narrowed affinity errs toward fewer threads
    idle = cores - runnable
    return max(baseline, min(wanted, 1 + idle))


def threads_for_bursts(*bursts: tuple[int, int]) -> tuple[int, ...]:
    """``burst_threads`` for each (wanted, baseline) pair, from one reading of the machine."""
    if all(wanted <= baseline for wanted, baseline in bursts):
        return tuple(baseline for _, baseline in bursts)
    runnable, cores = runnable_threads(), usable_cores()
    return tuple(burst_threads(w, b, runnable, cores) for w, b in bursts)


def usable_cores() -> int | None:
    """Cores this process may run on (its CPU affinity), or None if unknown."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()
