"""``make bench``: the provider's cost figures, each a median with the floor measured in the same run.

    .venv/bin/python -m bench.run

1. cold start: ``import app`` in a fresh interpreter against ``import boto3`` alone;
2. AWS calls per operation against the minimal script (``bench/minimal.py`` says why each is needed);
3. handler wall time per operation against the minimal script, same server, same run;
4. time to ready while IAM propagates (W = 2, 5, 10 s), and the longest window outlasted (fake clock);
5. 50 concurrent Creates with 20% of HTTP attempts throttled;
6. the deployment package against crhelper + powertools alone;
7. a Definition of 150 task states over 100 families: deployed within IAM's limits, its calls against
   the minimum, and its task definitions resolved at once, against one after another;
8. the follower (FollowRevisions) with 200 followed state machines: calls per event against the
   minimum, and the time from a registration event to an execution running the new revision;
9. `ecs-state-machine plan` of the 100-family Definition, as a process, against the provider's own
   planning of it in process; and the command's cold start against ``import boto3``.
10. the follower's sweep over 100 and 1,000 records of ~300 KB properties: peak memory and wall time.

Everything runs against one moto server in its own process on a free loopback port; handler processes
reach it only through AWS_ENDPOINT_URL. Prints one table and writes bench/results.json.

Environment: BENCH_HANDLER_DIR (code under test, default src/handler), BENCH_SKIP_BUILD=1 (no
package figure: it reads PyPI), BENCH_REPEATS (cold start samples, 15), BENCH_ROUNDS (lifecycle
rounds, 9), BENCH_PROPAGATION_REPEATS (5), BENCH_SCALE_REQUESTS (50), BENCH_SCALE_CONCURRENCY (10),
BENCH_LARGE_ROUNDS (3), BENCH_FOLLOW_ROUNDS (5), BENCH_REVIEW_ROUNDS (3), BENCH_KEEP=1 (keep the scratch directory with every process's log),
BENCH_ONLY (a comma-separated subset of coldstart, lifecycle, propagation, scale, large, follow, review, sweep,
package).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import ssl
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import coldstart, follow, large, lifecycle, package, propagation, review, scale
from bench.sandbox import Bench, handler_dir, scratch_dir
from bench.stats import Figure, median, table
from testkit.estate import build_estate
from testkit.moto_server import REPO_ROOT

RESULTS = Path(__file__).resolve().parent / "results.json"


def _setting(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _wanted(group: str) -> bool:
    """BENCH_ONLY=lifecycle,propagation runs only those groups (scale needs lifecycle)."""
    only = {g.strip() for g in (os.environ.get("BENCH_ONLY") or "").split(",") if g.strip()}
    return not only or group in only


def _machine() -> dict[str, Any]:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "versions": {
            n: version(n) for n in ("boto3", "botocore", "moto", "crhelper", "aws-lambda-powertools")
        },
        "handler_dir": str(handler_dir()),
        "commit": commit,
    }


def _tls_context_cost() -> dict[str, float]:
    """What building a TLS context costs with the system's CA bundle (the sandbox trusts a
    one-certificate test CA, so a context built per response is nearly free there)."""
    env_file = os.environ.pop("SSL_CERT_FILE", None)
    try:
        samples = []
        for _ in range(7):
            began = time.perf_counter()
            ssl.create_default_context()
            samples.append(time.perf_counter() - began)
    finally:
        if env_file is not None:
            os.environ["SSL_CERT_FILE"] = env_file
    return {"system_bundle_median_s": round(median(samples), 4)}


def _notes(by_name: dict[str, Figure], details: dict[str, Any]) -> list[str]:
    """What the table cannot show: CPU time, spreads, call lists, how the package was built."""
    notes = []
    if "cold_start_import" in by_name:
        extra = by_name["cold_start_import"].extra
        notes.append(
            f"cold start: import CPU {extra['cpu_median_s'] * 1000:.0f} ms against boto3's "
            f"{extra['cpu_floor_s'] * 1000:.0f} ms ({extra['cpu_median_s'] / extra['cpu_floor_s']:.2f}x)"
        )
    for operation in lifecycle.OPERATIONS if "lifecycle" in details else ():
        extra_calls = details["lifecycle"][operation]["extra_calls"]
        notes.append(
            f"{operation}: calls beyond the minimum: {', '.join(extra_calls) if extra_calls else 'none'}"
        )
    if "propagation" in details:
        spreads = ", ".join(
            f"W={name.rsplit('w', 1)[-1]} max {f.extra['max_s'] * 1000:.0f} ms"
            for name, f in by_name.items()
            if name.startswith("propagation_overshoot_")
        )
        at_60 = details["propagation"]["fake_clock"]["overshoot_at_60_s"]
        notes.append(
            f"propagation: overshoot {spreads}; W=60 on the fake clock: "
            + ("gave up" if at_60 is None else f"overshoot {at_60 * 1000:.0f} ms")
        )
    if "scale" in details:
        calls = by_name["scale_aws_calls"].extra
        notes.append(
            f"scale: {details['scale']['handler_processes']} handler processes, "
            f"{calls['http_attempts']} HTTP attempts, {calls['throttled_attempts']} throttled, "
            f"{details['scale']['elapsed_s']} s in all; failures: {details['scale']['failed_reasons'] or 'none'}"
        )
    if "large" in details:
        sample = details["large"]["samples"][-1]
        notes.append(
            f"large: inline policy {sample['inline']} characters, managed {sample['managed']}; "
            f"Create {sample['calls']} calls (minimum {sample['minimum']}), Delete {sample['delete_calls']} calls; "
            f"resolution {sample['resolution_s']:.2f} s against {sample['sequential_s']:.2f} s one after another"
        )
    if "follow" in details:
        sample = details["follow"]["samples"][-1]
        notes.append(f"follow: a move's calls: {', '.join(sample['call_list'])}")
        sweep = details["follow"]["sweep"]
        notes.append(
            f"follow: the sweep made {sweep['calls']} calls in {sweep['wall_s']} s: {sweep['returned']}"
        )
    if isinstance(details.get("package"), dict):
        package_details = details["package"]
        figure = by_name["package_zip"]
        api = package_details["api_check"]
        notes.append(
            f"package: {package_details['how']}; boto3 bundled: {figure.extra['boto3_bundled']} "
            f"(bundling it would add {figure.extra['boto3_would_add_mib']} MiB zipped); contents: "
            f"{', '.join(package_details['packages'])}"
        )
        notes.append(
            f"API check against botocore {api.get('botocore')}: "
            + (f"error {api['error']}" if "error" in api else f"missing {api['missing'] or 'nothing'}")
            + (
                f"; newer, used only when asked for: {api['optional_newer']}"
                if api.get("optional_newer")
                else ""
            )
        )
    elif "package" in details:
        notes.append(f"package: {details['package']}")
    if "tls_context" in details:
        notes.append(
            "TLS context with the system CA bundle: "
            f"{details['tls_context']['system_bundle_median_s'] * 1000:.0f} ms each time one is built"
        )
    return notes


def main() -> int:
    started = time.perf_counter()
    workdir = scratch_dir()
    keep = os.environ.get("BENCH_KEEP") == "1"
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    try:
        print(f"benchmarking {handler_dir()} (scratch: {workdir})", flush=True)
        if _wanted("coldstart"):
            step = time.perf_counter()
            found, details["cold_start"] = coldstart.run(workdir, _setting("BENCH_REPEATS", 15))
            figures += found
            print(f"  cold start: {time.perf_counter() - step:.0f} s", flush=True)

        with Bench(workdir) as bench:
            world = build_estate(bench.moto)
            if _wanted("lifecycle") or _wanted("scale") or _wanted("package"):
                step = time.perf_counter()
                found, details["lifecycle"] = lifecycle.run(bench, world, _setting("BENCH_ROUNDS", 9))
                figures += found
                print(f"  lifecycle: {time.perf_counter() - step:.0f} s", flush=True)

            if _wanted("propagation"):
                step = time.perf_counter()
                found, details["propagation"] = propagation.run(
                    bench, world, _setting("BENCH_PROPAGATION_REPEATS", 5)
                )
                figures += found
                print(f"  propagation: {time.perf_counter() - step:.0f} s", flush=True)

            if _wanted("scale"):
                by_name = {f.name: f for f in figures}
                step = time.perf_counter()
                found, details["scale"] = scale.run(
                    bench,
                    world,
                    requests=_setting("BENCH_SCALE_REQUESTS", 50),
                    concurrency=_setting("BENCH_SCALE_CONCURRENCY", 10),
                    uncontended_create_s=by_name["wall_create"].median,
                    minimal_create_calls=by_name["aws_calls_create"].floor or 0.0,
                )
                figures += found
                print(f"  scale: {time.perf_counter() - step:.0f} s", flush=True)

            if _wanted("large"):
                step = time.perf_counter()
                found, details["large"] = large.run(bench, world, _setting("BENCH_LARGE_ROUNDS", 3))
                figures += found
                print(f"  large: {time.perf_counter() - step:.0f} s", flush=True)

            if _wanted("follow"):
                step = time.perf_counter()
                found, details["follow"] = follow.run(bench, world, _setting("BENCH_FOLLOW_ROUNDS", 5))
                figures += found
                print(f"  follow: {time.perf_counter() - step:.0f} s", flush=True)

            if _wanted("review"):
                step = time.perf_counter()
                found, details["review"] = review.run(
                    bench, world, _setting("BENCH_REVIEW_ROUNDS", 3), workdir
                )
                figures += found
                print(f"  review: {time.perf_counter() - step:.0f} s", flush=True)

        if os.environ.get("BENCH_SKIP_BUILD") == "1":
            details["package"] = "skipped (BENCH_SKIP_BUILD=1)"
        elif _wanted("package"):
            step = time.perf_counter()
            found, details["package"] = package.run(workdir / "package", details["lifecycle"]["parameters"])
            figures += found
            print(f"  package: {time.perf_counter() - step:.0f} s", flush=True)
        details["tls_context"] = _tls_context_cost()
    except BaseException:
        keep = True
        print(f"benchmark failed; logs kept in {workdir}", file=sys.stderr)
        raise
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)

    elapsed = time.perf_counter() - started
    results = {
        "machine": _machine(),
        "elapsed_s": round(elapsed, 1),
        "figures": {f.name: f.as_json() for f in figures},
        "details": details,
    }
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")

    print()
    print(table(figures))
    print()
    for line in _notes({f.name: f for f in figures}, details):
        print(line)
    print(f"\nwrote {RESULTS.relative_to(REPO_ROOT)} in {elapsed:.0f} s")
    unmet = [f.name for f in figures if f.met is False]
    print("targets met: all" if not unmet else f"targets not met: {', '.join(unmet)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
