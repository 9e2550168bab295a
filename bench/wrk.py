"""Running wrk: install it when missing, run one scenario, take the median of runs.

The protocol is the one used for the Medplum comparison in ``docs/architecture.md``:
one thread, four connections (``-t1 -c4``), a warm-up run whose figures are thrown away,
then three timed runs; each reported figure is the median of the three runs' figures.
Latency percentiles come from wrk's own histogram, printed by ``lua/common.lua``'s
``done()`` as one ``BENCH_RESULT {json}`` line.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.cpu import CpuMeter

LUA_DIR = Path(__file__).parent / "lua"
RESULT_PREFIX = "BENCH_RESULT "


class WrkError(RuntimeError):
    """wrk could not be installed, or a run failed to report."""


def ensure_wrk() -> str:
    """The path of ``wrk``, installing the Debian package (as root) when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
        subprocess.run(install, env=env, check=False)
    found = shutil.which("wrk")
    if not found:
        raise WrkError("wrk is not installed and 'apt-get install -y wrk' did not install it")
    return found


def wrk_version(wrk: str) -> str:
    """wrk's first output line without the copyright (it prints usage for -v)."""
    out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else ""
    return first.split(" Copyright")[0].strip()


@dataclass
class Run:
    """One wrk run's figures (latencies in milliseconds)."""

    requests: int
    seconds: float
    rps: float
    p50: float
    p90: float
    p95: float
    p99: float
    max: float
    errors: int
    status_errors: int
    other_cpu: float = 0.0
    """Share of the machine's CPU used by processes outside the benchmark (0..1)."""
    worker_cpu: tuple[float, ...] = ()
    """CPU seconds of each worker of the app under test, busiest first."""

    @classmethod
    def from_json(cls, data: dict[str, float]) -> Run:
        seconds = data["duration_us"] / 1e6
        socket_errors = sum(
            int(data[k]) for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
        )
        return cls(
            requests=int(data["requests"]),
            seconds=seconds,
            rps=data["requests"] / seconds if seconds else 0.0,
            p50=data["p50_us"] / 1000,
            p90=data["p90_us"] / 1000,
            p95=data["p95_us"] / 1000,
            p99=data["p99_us"] / 1000,
            max=data["max_us"] / 1000,
            errors=socket_errors + int(data["status_errors"]),
            status_errors=int(data["status_errors"]),
        )


@dataclass
class Measurement:
    """The median of the timed runs, figure by figure, with the runs kept for the record."""

    runs: list[Run] = field(default_factory=list)

    def _median(self, name: str) -> float:
        return statistics.median(getattr(r, name) for r in self.runs)

    @property
    def rps(self) -> float:
        return self._median("rps")

    @property
    def p50(self) -> float:
        return self._median("p50")

    @property
    def p95(self) -> float:
        return self._median("p95")

    @property
    def p99(self) -> float:
        return self._median("p99")

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.runs)

    def summary(self) -> str:
        return (
            f"{self.rps:,.0f} req/s, p50 {self.p50:.1f} ms, p95 {self.p95:.1f} ms, "
            f"p99 {self.p99:.1f} ms, errors {self.errors}, "
            f"other CPU {self._median('other_cpu'):.0%}, worker CPU s "
            + " ".join("/".join(f"{c:.1f}" for c in r.worker_cpu[:2]) for r in self.runs)
        )


@dataclass
class Protocol:
    """How long and how hard to drive each scenario."""

    duration: int = 10
    warmup: int = 3
    runs: int = 3
    threads: int = 1
    connections: int = 4
    timeout: int = 5
    quiet_wait: float = 0.0
    """Seconds to wait, before each timed run, for other processes to use < 10 % CPU."""


class Wrk:
    """Runs Lua-scripted wrk scenarios against URLs on loopback."""

    def __init__(
        self, binary: str, protocol: Protocol, token: str, meter: CpuMeter | None = None
    ) -> None:
        self.binary = binary
        self.meter = meter
        self.protocol = protocol
        self.token = token
        self._tmp = Path(tempfile.mkdtemp(prefix="fj-bench-lua-"))

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _script(self, name: str) -> Path:
        """``common.lua`` followed by the scenario script, as one file for ``-s``."""
        path = self._tmp / f"{name}.lua"
        if not path.exists():
            text = (
                (LUA_DIR / "common.lua").read_text() + "\n" + (LUA_DIR / f"{name}.lua").read_text()
            )
            path.write_text(text)
        return path

    def once(
        self,
        url: str,
        script: str,
        seconds: int,
        env: dict[str, str] | None = None,
        workers: Sequence[int] = (),
    ) -> Run:
        """One run of ``seconds``; raises :class:`WrkError` when wrk reports nothing."""
        p = self.protocol
        cmd = [
            self.binary,
            f"-t{p.threads}",
            f"-c{p.connections}",
            f"-d{seconds}s",
            f"--timeout={p.timeout}s",
            "-s",
            str(self._script(script)),
            url,
        ]
        run_env = {**os.environ, **(env or {}), "BENCH_TOKEN": self.token}
        if self.meter:
            self.meter.start()
        out = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env=run_env,
            check=False,
            timeout=seconds + p.timeout + 30,
        )
        other = self.meter.stop() if self.meter else 0.0
        for line in out.stdout.splitlines():
            if line.startswith(RESULT_PREFIX):
                run = Run.from_json(json.loads(line[len(RESULT_PREFIX) :]))
                run.other_cpu = other
                if self.meter:
                    cpu = (self.meter.last.get(pid, 0.0) for pid in workers)
                    run.worker_cpu = tuple(sorted(cpu, reverse=True))
                return run
        raise WrkError(
            f"wrk gave no result for {url} (exit {out.returncode}): "
            f"{(out.stderr or out.stdout).strip()[:500]}"
        )

    def measure(
        self,
        url: str,
        script: str = "get",
        env: dict[str, str] | None = None,
        workers: Sequence[int] = (),
    ) -> Measurement:
        """Warm up, then the timed runs; the median of those is the measurement."""
        p = self.protocol
        if p.warmup > 0:
            self.once(url, script, p.warmup, env)
        runs = []
        for _ in range(p.runs):
            if self.meter and p.quiet_wait > 0:
                self.meter.wait_quiet(0.10, p.quiet_wait)
            runs.append(self.once(url, script, p.duration, env, workers))
        return Measurement(runs)
