"""The suite tests the relance it means: ``make test`` the checkout (``src/``, installed
editable), ``make test-wheel`` (scripts/test-wheel) the built wheel, from site-packages,
with ``src/`` nowhere on sys.path."""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import relance
from relance.codec import avro

ROOT = Path(__file__).resolve().parents[2]


def test_relance_comes_from_where_the_run_says() -> None:
    package = Path(relance.__file__).resolve().parent
    if os.environ.get("RELANCE_TEST_WHEEL") == "1":
        assert package.parent == Path(sysconfig.get_paths()["purelib"]).resolve()
        assert not package.is_relative_to(ROOT)
        assert not any(Path(entry or ".").resolve() == ROOT / "src" for entry in sys.path)
        # The schemas the wheel carries, not the checkout's.
        assert avro.schema_dir() == package / "schemas"
    else:
        assert package == ROOT / "src" / "relance"
        assert avro.schema_dir() == ROOT / "schemas"
