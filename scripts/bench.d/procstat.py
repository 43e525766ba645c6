"""Process sampler for scripts/bench: CPU seconds and RSS from /proc.

Reads /proc/<pid>/stat (utime + stime, all threads of the process) and
/proc/<pid>/status (VmRSS, VmHWM). A `Sampler` runs in a thread while a
measurement runs and keeps, per named process, the CPU seconds at the start
and at the end and the highest RSS seen; `cpu_of_child` gives the CPU of a
finished child process from wait4's rusage (the load generator).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of PID in seconds, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("latin-1")
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of PID in KiB (empty when it is gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


@dataclass
class Usage:
    cpu_start: float | None = None
    cpu_end: float | None = None
    rss_start_kb: int | None = None
    rss_end_kb: int | None = None
    rss_peak_kb: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def cpu(self) -> float | None:
        if self.cpu_start is None or self.cpu_end is None:
            return None
        return self.cpu_end - self.cpu_start


class Sampler:
    """Samples the named processes every INTERVAL seconds in a thread."""

    def __init__(self, pids: dict[str, int], interval: float = 0.25, keep_series: bool = False):
        self.pids = {k: v for k, v in pids.items() if v}
        self.interval = interval
        self.keep_series = keep_series
        self.usage = {name: Usage() for name in self.pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.t0 = 0.0

    def _sample(self) -> None:
        now = time.monotonic() - self.t0
        for name, pid in self.pids.items():
            rss = memory_kb(pid).get("VmRSS")
            if rss is None:
                continue
            u = self.usage[name]
            u.rss_peak_kb = max(u.rss_peak_kb, rss)
            if self.keep_series:
                u.samples.append((round(now, 2), rss))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> "Sampler":
        self.t0 = time.monotonic()
        for name, pid in self.pids.items():
            u = self.usage[name]
            u.cpu_start = cpu_seconds(pid)
            u.rss_start_kb = memory_kb(pid).get("VmRSS")
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        for name, pid in self.pids.items():
            u = self.usage[name]
            u.cpu_end = cpu_seconds(pid)
            u.rss_end_kb = memory_kb(pid).get("VmRSS")


def cpu_of_rusage(ru: "os.struct_rusage") -> float:  # type: ignore[name-defined]
    return ru.ru_utime + ru.ru_stime
