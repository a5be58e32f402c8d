"""``relance demo`` end to end: the command a newcomer runs first, as a subprocess."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from relance.demo.processes import running

from .conftest import wait_for

pytestmark = pytest.mark.integration


def test_demo_runs_the_live_pipeline_and_saves_emails_into_the_outbox(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELANCE_")}
    # SIGTERM, not subprocess.run's SIGKILL, if it overruns: the demo then stops its broker,
    # worker and sender (each in a group of its own) before it exits.
    with running(
        [
            sys.executable,
            "-m",
            "relance",
            "demo",
            "--duration",
            "75",
            "--outbox",
            str(outbox),
            "--folder",
            str(tmp_path / "demo"),
        ],
        grace=60,
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as demo:
        # While it runs, the first marketing email's one-click link works as a mail client
        # uses it (the output is a few lines: the pipe does not fill meanwhile).
        link = wait_for(lambda: unsubscribe_link(outbox), timeout=120)
        confirm = urllib.request.urlopen(link, timeout=10)
        assert confirm.status == 200 and b"<form" in confirm.read()
        posted = urllib.request.urlopen(
            urllib.request.Request(link, data=b"List-Unsubscribe=One-Click", method="POST"),
            timeout=10,
        )
        assert posted.status == 200
        output = demo.communicate(timeout=150)[0].decode()
    assert demo.returncode == 0, output
    assert str(outbox.resolve()) in output
    assert "http://127.0.0.1:" in output and "/metrics" in output
    # The gateway ran beside them, where the emails' links point.
    assert "gateway          http://127.0.0.1:" in output
    assert "[^Worker]: Ready" in (tmp_path / "demo" / "gateway.log").read_text()
    saved = sorted(outbox.glob("*.eml"))
    assert saved, f"no email in the outbox\n{output}"
    message = email.message_from_bytes(saved[0].read_bytes(), policy=email.policy.default)
    assert str(message["To"]).endswith("@example.com")
    assert f"{len(saved)} emails saved" in output
    # One page lists them all, each with its language and a view of its HTML part.
    assert str(outbox.resolve() / "index.html") in output
    page = (outbox / "index.html").read_text()
    assert f"Outbox: {len(saved)} email" in page
    for path in saved:
        assert f'<a href="{path.name}">.eml</a>' in page
        assert (outbox / "view" / f"{path.stem}.html").is_file()
    languages = {
        str(
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)[
                "Content-Language"
            ]
        )
        for p in saved
    }
    assert languages <= {"fr", "en"} and all(f"<td>{lang}</td>" in page for lang in languages)
    assert "placeholder" in (outbox / "view" / f"{saved[0].stem}.html").read_text()


def unsubscribe_link(outbox: Path) -> str | None:
    """The https-or-http link of the first saved email with a List-Unsubscribe header."""
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for part in str(message.get("List-Unsubscribe", "")).split(","):
            url = part.strip().strip("<>")
            if url.startswith("http"):
                return url
    return None
