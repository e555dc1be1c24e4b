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
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
LABEL = re.compile(r"^[a-zA-Z0-9+\-_:/@]{1,127}$")
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


def problems(template: dict[str, Any]) -> list[str]:
    """What the Serverless Application Repository would refuse in a packaged template."""
    found = []
    app = template.get("Metadata", {}).get("AWS::ServerlessRepo::Application", {})
    found += [f"Metadata lacks {key}" for key in REQUIRED if not app.get(key)]
    version, release = app.get("SemanticVersion"), release_version()
    if version != release or not SEMVER.match(str(version)):
        found.append(f"SemanticVersion {version} is not the release's {release}")
    for key in ("LicenseUrl", "ReadmeUrl"):
        if not str(app.get(key, "")).startswith("s3://"):
            found.append(f"{key} is not in S3 (run sam package)")
    if not re.match(r"^[a-zA-Z0-9\-]{1,140}$", str(app.get("Name", ""))):
        found.append("Name must be 1-140 letters, digits or hyphens")
    if len(str(app.get("Description", ""))) > 256:
        found.append("Description is longer than 256 characters")
    found += [
        f"label {label!r} is not valid" for label in app.get("Labels", []) if not LABEL.match(str(label))
    ]
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
