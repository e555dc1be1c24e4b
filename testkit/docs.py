"""The documentation as tests read it: README.md and the pages of docs/, searched by heading, so a
table keeps being checked against the code wherever a page moves it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))


def section(title: str) -> str:
    """The text under the heading `title` (any level, in any page) up to the next heading of the
    same or a higher level."""
    for page in PAGES:
        text = page.read_text()
        found = re.search(rf"^(#+) {re.escape(title)}\n", text, re.M)
        if found:
            level = len(found.group(1))
            end = re.compile(rf"^#{{1,{level}}} ", re.M).search(text, found.end())
            return text[found.start() : end.start() if end else None]
    raise AssertionError(f"no page has a heading {title!r}")
