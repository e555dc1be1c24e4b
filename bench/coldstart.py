"""Figure 1: the handler module's init phase in a fresh interpreter, against ``import boto3`` alone.

Each sample is a new ``python -I`` process with the environment a Lambda sandbox would give the
function (``LambdaFunction.environment``), ``sys.path[0]`` the handler directory and the working
directory there, as the runtime does with /var/task. It times ``import app`` (which builds the
module's powertools Logger and crhelper-based Provider) or ``import boto3`` with ``perf_counter``
around the import statement alone, then reads the process's peak resident set (``VmHWM``; Linux
keeps ``ru_maxrss`` across exec, so a child would report its parent's peak).
The two kinds alternate, so drift on the machine hits both; one discarded pair first fills
``__pycache__``.

A second figure takes the whole process (start, import, exit) with the interpreter's own start
subtracted: each kind's process time less that of a process that imports nothing, sampled in the
same rotation. It is what an init phase costs beyond Python itself, module teardown included.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench.sandbox import handler_dir
from bench.stats import Figure, median, ratio_at_most
from testkit.lambda_runner import LambdaFunction

IMPORT_RATIO_TARGET = 1.25

_PROBE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
started, cpu = time.perf_counter(), time.process_time()
import {module}
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(json.dumps({{"s": elapsed, "cpu_s": cpu, "peak_kib": peak}}))
"""


def _environment(workdir: Path) -> dict[str, str]:
    function = LambdaFunction(
        endpoint_url="http://127.0.0.1:9", ca_file=workdir / "none.pem", log_file=workdir / "coldstart.log"
    )
    return function.environment()


def _sample(module: str, root: Path, env: dict[str, str]) -> dict[str, float]:
    began = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-I", "-c", _PROBE.format(root=str(root), module=module)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    process_s = time.perf_counter() - began
    if completed.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{completed.stderr[-3000:]}")
    measured = json.loads(completed.stdout.strip().splitlines()[-1])
    return {
        "s": measured["s"],
        "cpu_s": measured["cpu_s"],
        "mib": measured["peak_kib"] / 1024,
        "process_s": process_s,
    }


def run(workdir: Path, repeats: int) -> tuple[list[Figure], dict]:
    root = handler_dir()
    env = _environment(workdir)
    samples: dict[str, list[dict[str, float]]] = {"app": [], "boto3": [], "json": []}
    for index in range(repeats + 1):
        for module in ("boto3", "app", "json") if index % 2 else ("json", "app", "boto3"):
            sample = _sample(module, root, env)  # json: already imported at start, so nothing
            if index:
                samples[module].append(sample)

    def series(module: str, key: str) -> list[float]:
        return [s[key] for s in samples[module]]

    figures = [
        Figure(
            "cold_start_import",
            median(series("app", "s")),
            median(series("boto3", "s")),
            "s",
            target=f"ratio <= {IMPORT_RATIO_TARGET}",
            check=ratio_at_most(IMPORT_RATIO_TARGET),
            samples=repeats,
            extra={
                # CPU time of the import, less sensitive than wall time to a busy machine
                "cpu_median_s": round(median(series("app", "cpu_s")), 4),
                "cpu_floor_s": round(median(series("boto3", "cpu_s")), 4),
                # the whole fresh process, interpreter start-up included
                "process_median_s": round(median(series("app", "process_s")), 4),
                "process_floor_s": round(median(series("boto3", "process_s")), 4),
            },
        ),
        Figure(
            "cold_start_process_less_start",
            median(series("app", "process_s")) - median(series("json", "process_s")),
            median(series("boto3", "process_s")) - median(series("json", "process_s")),
            "s",
            target=f"ratio <= {IMPORT_RATIO_TARGET}",
            check=ratio_at_most(IMPORT_RATIO_TARGET),
            samples=repeats,
            note="whole process, less a process that imports nothing",
            extra={"start_s": round(median(series("json", "process_s")), 4)},
        ),
        Figure(
            "cold_start_peak_rss",
            median(series("app", "mib")),
            median(series("boto3", "mib")),
            "MiB",
            samples=repeats,
        ),
    ]
    return figures, {"app_s": series("app", "s"), "boto3_s": series("boto3", "s")}
