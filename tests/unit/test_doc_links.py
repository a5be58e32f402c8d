"""Every relative link in the README and the pages under docs/ leads somewhere: to a file or
folder of the repository and, when it names one, to a heading of that page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [
        ROOT / "README.md",
        ROOT / "ARCHITECTURE.md",
        ROOT / "CONTRIBUTING.md",
        ROOT / "CHANGELOG.md",
        ROOT / "tests" / "data" / "README.md",
        *(ROOT / "docs").glob("*.md"),
    ]
)
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
COMMENT = re.compile(r"<!--.*?-->", re.S)
CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def prose(text: str) -> str:
    """The text without code blocks and comments, where brackets are not links."""
    return COMMENT.sub("", FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, each space a hyphen, and -1,
    -2 ... after a repeated one."""
    seen: dict[str, int] = {}
    for heading in HEADING.findall(prose(text)):
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        if count:
            seen[f"{slug}-{count}"] = 1
    return set(seen)


def broken_links(page: Path, root: Path) -> list[str]:
    text = page.read_text()
    broken = []
    for target in LINK.findall(CODE.sub("code", prose(text))):
        if SCHEME.match(target):
            continue  # a web address: not this test's to fetch
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or not linked.is_relative_to(root):
            broken.append(f"{target}: no such file in the repository")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked.read_text()):
            broken.append(f"{target}: no heading #{fragment} in {linked.relative_to(root)}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert not broken_links(page, ROOT)


def test_the_pages_checked_include_the_docs_folder() -> None:
    assert {"README.md", "docs/settings.md", "docs/scenarios.md"} <= {
        page.relative_to(ROOT).as_posix() for page in PAGES
    }


def test_a_missing_file_or_heading_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## `relance worker`, end to end\n")
    page = tmp_path / "README.md"
    page.write_text(
        "# Top\n\n[ok](docs/a.md#relance-worker-end-to-end) [ok](#top) [web](https://x.example)\n"
        "[gone](docs/b.md) [no heading](docs/a.md#nowhere) [here](#bottom)\n"
        "`[in code](nowhere.md)`\n\n```\n[in a block](nowhere.md)\n```\n"
    )
    assert broken_links(page, tmp_path) == [
        "docs/b.md: no such file in the repository",
        "docs/a.md#nowhere: no heading #nowhere in docs/a.md",
        "#bottom: no heading #bottom in README.md",
    ]


def test_repeated_headings_get_numbered_anchors() -> None:
    assert anchors("# Scaling\n## Scaling\n## Health & logs\n") == {
        "scaling",
        "scaling-1",
        "health--logs",
    }
