"""The release as an organization gets it: `make package` (offline: S3 is a moto server) builds
both functions through src/handler/Makefile, uploads code and documents, checks the template is
publishable to the Serverless Application Repository, and writes the StackSets template. Then the
artifact itself is checked: small, without what is never imported, and still complete."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from testkit.moto_server import REPO_ROOT, MotoServer

LIMIT = int(1.5 * 1024 * 1024)
FILES = (
    "template.yaml",
    "Makefile",
    "LICENSE",
    "README.md",
    "CHANGELOG.md",
    "requirements-dev.txt",
    "pyproject.toml",
)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("release")
    for name in FILES:
        shutil.copy(REPO_ROOT / name, work / name)
    for directory in ("src", "tools"):
        shutil.copytree(REPO_ROOT / directory, work / directory, ignore=shutil.ignore_patterns("__pycache__"))
    venv = REPO_ROOT / ".venv"
    with MotoServer(log_file=work / "moto.log") as moto:
        moto.client("s3").create_bucket(Bucket="releases")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=moto.endpoint_url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_REGION="us-east-1",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        made = subprocess.run(
            [
                "make",
                "-o",
                f"{venv}/.ready",
                "package",
                f"VENV={venv}",
                "BUCKET=releases",
                "SOURCE_URL=https://example.com/ecs-state-machine",
            ],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
        objects = {
            o["Key"]: o["Size"] for o in moto.client("s3").list_objects_v2(Bucket="releases")["Contents"]
        }
        packaged = yaml.safe_load((work / "dist/template.yaml").read_text())
        code_key = packaged["Resources"]["ProviderFunction"]["Properties"]["CodeUri"].rsplit("/", 1)[1]
        zipped = work / "code.zip"
        zipped.write_bytes(moto.client("s3").get_object(Bucket="releases", Key=code_key)["Body"].read())
        yield {"work": work, "output": made.stdout, "objects": objects, "packaged": packaged, "code": zipped}


def test_make_package_writes_a_template_the_serverless_application_repository_takes(release):
    from tools.release import problems

    packaged = release["packaged"]
    assert problems(packaged) == []
    app = packaged["Metadata"]["AWS::ServerlessRepo::Application"]
    assert app["SourceCodeUrl"] == "https://example.com/ecs-state-machine"
    assert app["LicenseUrl"].startswith("s3://releases/") and app["ReadmeUrl"].startswith("s3://releases/")
    assert "deploying it needs --capabilities CAPABILITY_IAM CAPABILITY_RESOURCE_POLICY" in release["output"]
    readme = (REPO_ROOT / "README.md").read_text()
    assert "CAPABILITY_IAM" in readme and "CAPABILITY_RESOURCE_POLICY" in readme


def test_the_bundle_is_small_and_holds_only_what_is_imported(release):
    size = release["code"].stat().st_size
    assert size <= LIMIT, f"{size} bytes zipped, over {LIMIT}"
    names = zipfile.ZipFile(release["code"]).namelist()
    for never in (
        "aws_lambda_powertools/event_handler/",
        "tzdata/",
        "regex/tests/",
        "__pycache__",
        "bin/",
        "ecs_state_machine/cli/",  # the plan and drift command
    ):
        assert not any(never in n for n in names), never
    assert {"app.py", "follower_app.py", "ecs_state_machine/planning/plan.py"} <= set(names)


def test_the_bundle_still_imports_both_functions_and_validates_a_definition(release, tmp_path):
    zipfile.ZipFile(release["code"]).extractall(tmp_path)
    site = next(Path(sys.prefix).glob("lib/python3.13/site-packages"))
    check = (
        f"import sys; sys.path.append({str(site)!r}); import regex; sys.path.insert(0, {str(tmp_path)!r});"
        "import app, follower_app; from ecs_state_machine.schema.lint import problems;"
        "print(problems({'StartAt': 'W', 'States': {'W': {'Type': 'Wait', 'Timestamp': '2026-01-01T00:00:00Z', 'End': True}}}));"
        "print(app.__file__)"
    )
    ran = subprocess.run([sys.executable, "-I", "-c", check], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.splitlines() == ["[]", f"{tmp_path}/app.py"]


def test_the_stackset_template_needs_no_transform_and_reads_code_from_each_region(release):
    expanded = json.loads((release["work"] / "dist/stackset.json").read_text())
    assert "Transform" not in expanded
    assert not [r for r in expanded["Resources"].values() if r["Type"].startswith("AWS::Serverless")]
    for function in [r for r in expanded["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]:
        assert function["Properties"]["Code"]["S3Bucket"] == {"Fn::Sub": "${CodeBucketPrefix}-${AWS::Region}"}
    assert expanded["Parameters"]["ServiceTokenExportName"]["Default"] == "ecs-state-machine-ServiceToken"
    linted = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(release["work"] / "dist/stackset.json")],
        capture_output=True,
        text=True,
    )
    assert linted.returncode == 0, linted.stdout


def test_one_version_everywhere():
    from ecs_state_machine import __version__

    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    template = (REPO_ROOT / "template.yaml").read_text()
    assert f"SemanticVersion: {__version__}\n" in template
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    assert re.search(r"^## \[?(\d+\.\d+\.\d+)", changelog, re.M).group(1) == __version__  # type: ignore[union-attr]
    assert 'version = {attr = "ecs_state_machine.__version__"}' in (REPO_ROOT / "pyproject.toml").read_text()


def _metadata() -> dict[str, Any]:
    from cfnlint.decode import decode_str

    template, _ = decode_str((REPO_ROOT / "template.yaml").read_text())
    return dict(json.loads(json.dumps(template))["Metadata"]["AWS::ServerlessRepo::Application"])


def test_the_metadata_meets_every_constraint_the_serverless_application_repository_documents():
    from tools.release import metadata_problems

    assert metadata_problems(_metadata()) == []


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        (
            "Author",
            "ecs-state-machine maintainers",
            "Author 'ecs-state-machine maintainers' must be 1-127 lowercase",
        ),
        ("Author", "Maintainers", "lowercase"),
        ("Author", "double--hyphen", "single hyphens"),
        ("Author", "x" * 128, "1-127"),
        ("Name", "ecs state machine", "Name 'ecs state machine' must be 1-140"),
        ("Name", "x" * 141, "1-140"),
        ("Description", "x" * 257, "Description must be 1-256"),
        ("SemanticVersion", "1.0", "semantic version"),
        ("SpdxLicenseId", "Apache 2.0", "SPDX"),
        ("HomePageUrl", "http://example.com", "https"),
        ("SourceCodeUrl", "github.com/x/y", "https"),
        ("Labels", ["ok", "not ok"], "label 'not ok' is not valid"),
        ("Labels", [f"l{i}" for i in range(11)], "Labels: 11 of at most 10"),
        ("Author", {"Ref": "AWS::AccountId"}, "Author holds an intrinsic function"),
    ],
)
def test_what_the_serverless_application_repository_refuses_is_caught_before_publishing(field, value, said):
    from tools.release import metadata_problems

    app = {**_metadata(), field: value}
    found = metadata_problems(app)
    assert any(said in problem for problem in found), found


def test_metadata_missing_a_required_field_is_caught():
    from tools.release import metadata_problems

    app = _metadata()
    del app["Author"]
    assert "Metadata lacks Author" in metadata_problems(app)
