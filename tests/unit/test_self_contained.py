"""A clone holds everything its tests, benchmarks and code read: nothing reaches out of the
repository (the OTTO sample once came from a `shared` folder beside the checkout, and a clone
without it failed its tests)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEARCHED = (
    "src",
    "tests",
    "bench",
    "scripts",
    "deploy",
    ".ci",
    "Makefile",
    "pyproject.toml",
    "Dockerfile",
)
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
# A folder `shared` outside the checkout, written as a path or as Path parts.
OUTSIDE = re.compile(r"""\.\./shared|shared(?:/|["']\s*[/,]\s*["'])data""")
# Path(__file__)...parents[N]: N above the file's depth in the repository leaves it.
PARENTS = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?\.parents\[(\d+)\]")


def searched_files() -> list[Path]:
    files: list[Path] = []
    for name in SEARCHED:
        top = ROOT / name
        candidates = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in candidates:
            if (
                path.is_file()
                and not SKIPPED_DIRS & set(path.relative_to(ROOT).parts)
                and path.suffix not in (".gz", ".pyc", ".md")
            ):
                files.append(path)
    return files


def test_the_searched_tree_is_the_repository_s_code() -> None:
    files = {path.relative_to(ROOT).as_posix() for path in searched_files()}
    assert {"Makefile", "tests/unit/test_otto_replay.py", "src/relance/cli.py"} <= files


def test_no_code_test_or_benchmark_reads_a_shared_folder_beside_the_checkout() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in searched_files()
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not found, "test data belongs in tests/data/:\n" + "\n".join(found)


def test_no_python_file_climbs_out_of_the_repository_from_its_own_path() -> None:
    found = []
    for path in searched_files():
        if path.suffix != ".py":
            continue
        depth = len(path.relative_to(ROOT).parts) - 1  # parents[depth] is the root
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for climbed in PARENTS.findall(line):
                if int(climbed) > depth:
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "paths leaving the checkout:\n" + "\n".join(found)


def test_the_otto_sample_and_its_credit_are_in_the_repository() -> None:
    data = ROOT / "tests" / "data"
    assert (data / "otto-sessions-sample.jsonl.gz").stat().st_size > 0
    assert "OTTO, otto.de, CC-BY 4.0" in (data / "README.md").read_text()
