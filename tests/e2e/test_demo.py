"""`make demo` as a newcomer runs it: the whole story passes, and it shows a refusal with the Reason
the CloudFormation console would show."""

from __future__ import annotations

import subprocess
import sys

from testkit.templates import ROOT


def test_the_demo_tells_the_whole_story_and_passes():
    ran = subprocess.run(
        [sys.executable, "-m", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    assert "PASS:" in ran.stdout
    assert "RefreshToken" in ran.stdout
    assert "Reason: ContainerName 'web': is not a container of" in ran.stdout
    assert "UPDATE_ROLLBACK_COMPLETE" in ran.stdout
