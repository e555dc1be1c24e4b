"""Figure 6: the deployment package, against crhelper and powertools alone.

The artifact is what ``sam build`` puts in ``.aws-sam/build/<Function>``, built in a temporary copy
of template.yaml and the handler directory (never in the repository), then zipped. If sam fails,
``pip install -r requirements.txt -t`` plus a copy of the handler stands in for it, and the figure
says so. The floor is ``pip install crhelper aws-lambda-powertools -t`` (the pinned versions),
zipped the same way.

boto3 is not in the artifact: it comes with the Lambda runtime. Two measurements back that choice:
the zipped size boto3 would add (its installed distributions, from this environment), and an API
check: every operation, and every parameter down to nested members, that the provider sent during
the lifecycle figures is looked up in the service models of an old botocore (``OLD_BOTOCORE``,
released long before the python3.13 runtime), so any boto3 that runtime ships has them.

Skipped with BENCH_SKIP_BUILD=1 (it reads PyPI).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.sandbox import handler_dir
from bench.stats import Figure
from testkit.moto_server import REPO_ROOT

OLD_BOTOCORE = "1.34.0"  # 2023-12; Lambda's python3.13 runtime appeared in 2024-11
FLOOR_PACKAGES = ("crhelper", "aws-lambda-powertools")
BOTO3_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
SERVICE_DIRECTORY = {"sfn": "stepfunctions"}  # botocore event service id -> data directory
MIB = 1024 * 1024
OPTIONAL = (
    "sfn.ValidateStateMachineDefinition",
    "sfn.CreateStateMachine.encryptionConfiguration",
    "sfn.UpdateStateMachine.encryptionConfiguration",
)
PACKAGE_LIMIT_MIB = 1.5


def _zip_size(directory: Path, target: Path) -> int:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(directory))
    return target.stat().st_size


def _pip(args: list[str], timeout: float = 180) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _pins(requirements: Path) -> dict[str, str]:
    pins = {}
    for line in requirements.read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s#;]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def _function_dir(build_dir: Path) -> Path | None:
    """The provider function's artifact (the follower's is the same bundle)."""
    provider = build_dir / "ProviderFunction"
    return provider if (provider / "app.py").exists() else None


def _sam_build(work: Path) -> tuple[Path | None, str]:
    project = work / "project"
    (project / "src").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "template.yaml", project / "template.yaml")
    shutil.copytree(handler_dir(), project / "src" / "handler", ignore=shutil.ignore_patterns("__pycache__"))
    sam = Path(sys.executable).with_name("sam")
    python313 = Path(getattr(sys, "_base_executable", sys.executable)).parent
    env = dict(os.environ, PATH=f"{python313}:{os.environ.get('PATH', '')}", SAM_CLI_TELEMETRY="0")
    try:
        subprocess.run(
            [str(sam), "build", "--build-dir", str(work / "sam-build")],
            cwd=project,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=180,
        )
    except (OSError, subprocess.SubprocessError) as err:
        output = getattr(err, "stderr", "") or getattr(err, "stdout", "") or str(err)
        return None, f"sam build failed ({type(err).__name__}): {str(output).strip()[-300:]}"
    function = _function_dir(work / "sam-build")
    return (
        function,
        "sam build (src/handler/Makefile)" if function else "sam build produced no ProviderFunction",
    )


def _emulated_build(work: Path) -> Path:
    target = work / "pip-build"
    _pip(["install", "--no-compile", "-r", str(handler_dir() / "requirements.txt"), "-t", str(target)])
    shutil.copytree(handler_dir(), target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _boto3_zip(work: Path) -> int:
    """The zipped size of boto3 and its dependencies as installed here."""
    with zipfile.ZipFile(work / "boto3.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for name in BOTO3_DISTRIBUTIONS:
            try:
                distribution = metadata.distribution(name)
            except metadata.PackageNotFoundError:
                continue
            for file in distribution.files or []:
                path = Path(str(distribution.locate_file(file)))
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, str(file))
    return (work / "boto3.zip").stat().st_size


def _load_model(wheel: zipfile.ZipFile, service: str) -> dict[str, Any] | None:
    prefix = f"botocore/data/{SERVICE_DIRECTORY.get(service, service)}/"
    names = sorted(n for n in wheel.namelist() if n.startswith(prefix) and "/service-2.json" in n)
    if not names:
        return None
    raw = wheel.read(names[-1])
    return json.loads(gzip.decompress(raw) if names[-1].endswith(".gz") else raw)


def _missing(shapes: dict[str, Any], shape_name: str, value: Any, path: str) -> list[str]:
    shape = shapes[shape_name]
    kind = shape.get("type")
    if kind == "structure" and isinstance(value, dict):
        problems = []
        for key, item in value.items():
            member = shape.get("members", {}).get(key)
            if member is None:
                problems.append(f"{path}.{key}")
            else:
                problems += _missing(shapes, member["shape"], item, f"{path}.{key}")
        return problems
    if kind == "list" and isinstance(value, list):
        return [p for item in value for p in _missing(shapes, shape["member"]["shape"], item, f"{path}[]")]
    if kind == "map" and isinstance(value, dict):
        return [
            p
            for item in value.values()
            for p in _missing(shapes, shape["value"]["shape"], item, f"{path}{{}}")
        ]
    return []


def api_check(work: Path, used: dict[str, Any]) -> dict[str, Any]:
    """Which of the provider's operations and parameters an old botocore lacks."""
    _pip(
        ["download", "--no-deps", "--only-binary=:all:", f"botocore=={OLD_BOTOCORE}", "-d", str(work / "old")]
    )
    wheel_path = next((work / "old").glob("botocore-*.whl"))
    missing: list[str] = []
    with zipfile.ZipFile(wheel_path) as wheel:
        models: dict[str, Any] = {}
        for call, params in used.items():
            service, operation = call.split(".", 1)
            if service not in models:
                models[service] = _load_model(wheel, service)
            model = models[service]
            if model is None or operation not in model["operations"]:
                missing.append(call)
                continue
            input_shape = model["operations"][operation].get("input", {}).get("shape")
            if input_shape:
                missing += _missing(model["shapes"], input_shape, params, call)
    # Newer than OLD_BOTOCORE, and never needed by a plain resource: the verdict is skipped where the
    # runtime's boto3 lacks the call (verdict.py), and encryption is sent only when the template sets it.
    optional = [m for m in missing if m.startswith(OPTIONAL)]
    return {
        "botocore": OLD_BOTOCORE,
        "operations_checked": sorted(used),
        "missing": [m for m in missing if m not in optional],
        "optional_newer": optional,
    }


def run(work: Path, used_parameters: dict[str, Any]) -> tuple[list[Figure], dict[str, Any]]:
    work.mkdir(parents=True, exist_ok=True)
    function, how = _sam_build(work)
    if function is None:
        failure = how
        function, how = _emulated_build(work), f"pip install -t + copy (emulating sam build; {failure})"
    artifact = _zip_size(function, work / "function.zip")

    pins = _pins(handler_dir() / "requirements.txt")
    floor_dir = work / "floor"
    _pip(
        [
            "install",
            "--no-compile",
            "-t",
            str(floor_dir),
            *(f"{p}=={pins[p]}" if p in pins else p for p in FLOOR_PACKAGES),
        ]
    )
    floor = _zip_size(floor_dir, work / "floor.zip")

    bundled = (function / "boto3").exists() or (function / "botocore").exists()
    boto3_zip = _boto3_zip(work)
    try:
        api = api_check(work, used_parameters)
    except (OSError, subprocess.SubprocessError, StopIteration, KeyError, ValueError) as err:
        api = {"error": f"{type(err).__name__}: {err}"}
    contents = sorted(p.name for p in function.iterdir() if p.is_dir() and not p.name.endswith(".dist-info"))
    figure = Figure(
        "package_zip",
        artifact / MIB,
        floor / MIB,
        "MiB",
        target=f"<= {PACKAGE_LIMIT_MIB} MiB",
        check=lambda f: f.median <= PACKAGE_LIMIT_MIB,
        note=f"built with {how}",
        extra={
            "boto3_bundled": bundled,
            "boto3_would_add_mib": round(boto3_zip / MIB, 2),
            "packages": contents,
        },
    )
    return [figure], {"how": how, "api_check": api, "packages": contents}
