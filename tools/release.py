"""`make package`'s last step, on the template `sam package` wrote (code and SAR documents in S3):

- adds the source code URL to the Serverless Application Repository metadata, when known;
- checks that the Serverless Application Repository would take it: the metadata it requires, a
  semantic version equal to the release's, documents in S3, and says which capabilities a
  deployer must acknowledge;
- writes the StackSets template: stack sets with service-managed permissions (Organizations) take
  no template that references a macro, and AWS::Serverless is one, so this is the template as SAM
  expands it, its code read from a bucket of each region (``<prefix>-<region>``),
  since Lambda takes code only from a bucket in the function's region.

    python tools/release.py dist/template.yaml --stackset dist/stackset.json [--source-url URL]
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[1]
# Every constraint the Serverless Application Repository documents for its metadata (SAM developer
# guide, "AWS SAM template Metadata section properties"): field, pattern, what the refusal says.
AUTHOR = re.compile(r"^(?=.{1,127}$)[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$")
NAME = re.compile(r"^[a-zA-Z0-9\-]{1,140}$")
SPDX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
URL = re.compile(r"^https://[^\s/$.?#][^\s]*$")
# semver.org's own expression (core, pre-release, build)
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
LABEL = re.compile(r"^[a-zA-Z0-9+\-_:/@]{1,127}$")
MAX_LABELS = 10
FIELDS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("Name", NAME, "must be 1-140 letters, digits or hyphens"),
    ("Author", AUTHOR, "must be 1-127 lowercase letters, digits and single hyphens (no spaces)"),
    ("SpdxLicenseId", SPDX, "must be an SPDX license identifier, e.g. Apache-2.0"),
    ("SemanticVersion", SEMVER, "must be a semantic version (semver.org), e.g. 1.2.0"),
    ("HomePageUrl", URL, "must be an https URL"),
    ("SourceCodeUrl", URL, "must be an https URL of a public repository"),
)
REQUIRED = ("Name", "Description", "Author", "SemanticVersion", "LicenseUrl", "ReadmeUrl", "SpdxLicenseId")
# What SAR asks a deployer to acknowledge, by the resource types that need it.
CAPABILITIES = {
    "CAPABILITY_IAM": ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"),
    "CAPABILITY_RESOURCE_POLICY": ("AWS::Lambda::Permission",),
}


def release_version() -> str:
    text = (ROOT / "src/handler/ecs_state_machine/__init__.py").read_text()
    found = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    assert found, "no __version__"
    return found.group(1)


def metadata_problems(app: dict[str, Any]) -> list[str]:
    """What the Serverless Application Repository refuses in its metadata, field by field."""
    found = [f"Metadata lacks {key}" for key in REQUIRED if not app.get(key)]
    for key, pattern, rule in FIELDS:
        value = app.get(key)
        if value is not None and (not isinstance(value, str) or not pattern.match(value)):
            found.append(f"{key} {value!r} {rule}")
    if not 1 <= len(str(app.get("Description", ""))) <= 256:
        found.append("Description must be 1-256 characters")
    labels = app.get("Labels", [])
    if len(labels) > MAX_LABELS:
        found.append(f"Labels: {len(labels)} of at most {MAX_LABELS}")
    found += [f"label {label!r} is not valid" for label in labels if not LABEL.match(str(label))]
    found += [f"{key} holds an intrinsic function" for key, value in app.items() if isinstance(value, dict)]
    return found


def problems(template: dict[str, Any]) -> list[str]:
    """What the Serverless Application Repository would refuse in a packaged template."""
    app = template.get("Metadata", {}).get("AWS::ServerlessRepo::Application", {})
    found = metadata_problems(app)
    if app.get("SemanticVersion") != release_version():
        found.append(f"SemanticVersion {app.get('SemanticVersion')} is not the release's {release_version()}")
    for key in ("LicenseUrl", "ReadmeUrl"):
        if not str(app.get(key, "")).startswith("s3://"):
            found.append(f"{key} is not in S3 (run sam package)")
    for name, resource in template.get("Resources", {}).items():
        code = resource.get("Properties", {}).get("CodeUri")
        if resource.get("Type") == "AWS::Serverless::Function" and not str(code).startswith("s3://"):
            found.append(f"{name}'s CodeUri is not in S3 (run sam package)")
    return found


def capabilities(template: dict[str, Any]) -> list[str]:
    types = {r.get("Type") for r in template.get("Resources", {}).values()}
    types |= {"AWS::IAM::Role"} if "AWS::Serverless::Function" in types else set()
    return sorted(c for c, needs in CAPABILITIES.items() if types & set(needs))


def stackset(template: dict[str, Any]) -> dict[str, Any]:
    """The template as SAM expands it, with code from ``<CodeBucketPrefix>-<region>``."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    source = copy.deepcopy(template)
    source.get("Metadata", {}).pop("AWS::ServerlessRepo::Application", None)
    expanded: dict[str, Any] = transform(source, {}, NoManagedPolicies())
    expanded["Parameters"]["CodeBucketPrefix"] = {
        "Type": "String",
        "AllowedPattern": "^[a-z0-9][a-z0-9.-]{1,40}$",
        "Description": "Code is read from <CodeBucketPrefix>-<region>: a bucket of each region the "
        "StackSet deploys to, readable by the organization's accounts",
    }
    for resource in expanded["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            code = resource["Properties"]["Code"]
            resource["Properties"]["Code"] = {
                "S3Bucket": {"Fn::Sub": "${CodeBucketPrefix}-${AWS::Region}"},
                "S3Key": code["S3Key"],
            }
    return expanded


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("packaged", type=Path)
    parser.add_argument("--stackset", type=Path, required=True)
    parser.add_argument("--source-url", default="")
    args = parser.parse_args()
    template, decode_problems = decode_str(args.packaged.read_text())
    assert not decode_problems, decode_problems
    template = json.loads(json.dumps(template))
    if args.source_url.startswith("https://"):
        app = template["Metadata"]["AWS::ServerlessRepo::Application"]
        app["SourceCodeUrl"] = app["HomePageUrl"] = args.source_url
        args.packaged.write_text(yaml.safe_dump(template, sort_keys=False))
    refused = problems(template)
    if refused:
        print("not publishable:\n  " + "\n  ".join(refused), file=sys.stderr)
        return 1
    args.stackset.write_text(json.dumps(stackset(template), indent=1) + "\n")
    keys = sorted(
        {
            r["Properties"]["CodeUri"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::Serverless::Function"
        }
    )
    print(
        f"{args.packaged}: publishable to the Serverless Application Repository (version {release_version()});"
    )
    print(f"  deploying it needs --capabilities {' '.join(capabilities(template))}")
    print(f"{args.stackset}: for StackSets; copy the code to a bucket per region, e.g. for each REGION:")
    for key in keys:
        print(f"  aws s3 cp {key} s3://<CodeBucketPrefix>-$REGION/{key.rsplit('/', 1)[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
