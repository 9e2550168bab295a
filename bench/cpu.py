"""How much of the machine's CPU went to processes that are not part of the benchmark.

The figures are only comparable when nothing else runs: a test suite on the same two
cores halves them. :class:`CpuMeter` takes the busy time of the whole machine from
``/proc/stat`` and subtracts what the benchmark's own processes used (this process, its
reaped children such as wrk, and the live server and floor processes by PID); the rest,
as a share of all CPU time in the interval, is reported beside each timed run. On
PostgreSQL every ``postgres`` process counts as the benchmark's (other users of the same
database server are then not seen), but a backend that exits inside the interval (the
import's connection, say) is counted as "other".
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterable
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of all cores since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    busy = user + nice + system + irq + softirq + steal
    return busy / _TICKS, (busy + idle + iowait) / _TICKS


def _process(pid: int) -> float:
    """utime + stime of one live process, in seconds (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _own() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class CpuMeter:
    """``start()`` then ``stop()`` → the share of CPU time used by other processes."""

    def __init__(self, pids: Callable[[], Iterable[int]]) -> None:
        self._pids = pids
        self._start: tuple[float, float, float, dict[int, float]] | None = None
        self.last: dict[int, float] = {}
        """CPU seconds each watched process used in the last start..stop interval."""

    def start(self) -> None:
        busy, total = _machine()
        self._start = (busy, total, _own(), {p: _process(p) for p in self._pids()})

    def stop(self) -> float:
        assert self._start is not None, "start() first"
        busy0, total0, own0, procs0 = self._start
        busy, total = _machine()
        procs = {p: _process(p) for p in self._pids()}
        self.last = {p: t - procs0.get(p, 0.0) for p, t in procs.items()}
        ours = _own() - own0 + sum(self.last.values())
        span = total - total0
        return max(0.0, (busy - busy0 - ours) / span) if span > 0 else 0.0

    def wait_quiet(self, limit: float, max_wait: float, window: float = 1.0) -> float:
        """Wait (up to ``max_wait`` s) for a ``window`` in which others use < ``limit``.

        Returns the last window's share; a no-op when ``max_wait`` is 0.
        """
        deadline = time.monotonic() + max_wait
        share = 0.0
        while time.monotonic() < deadline:
            self.start()
            time.sleep(window)
            share = self.stop()
            if share < limit:
                break
        return share


def postgres_pids() -> list[int]:
    """PIDs of the local PostgreSQL server's processes (``comm`` is ``postgres``)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids
