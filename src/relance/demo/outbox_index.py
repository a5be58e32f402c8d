"""``outbox/index.html``: one page listing every email the demo's mail sink caught (time,
recipient, subject, language), each linked to its HTML part saved beside it
(``outbox/view/<name>.html``) and to its ``.eml``, so a person opens one page in a browser.

The page is written again after each message, through a temporary file and a rename, so a
browser reloading it never reads half a page.
"""

from __future__ import annotations

import email
import email.policy
import html
import os
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Final

INDEX: Final = "index.html"
VIEWS: Final = "view"
_STYLE: Final = (
    "body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#18181b}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e4e4e7;"
    "font-size:14px}th{background:#f4f4f5}"
)


@dataclass(frozen=True, slots=True)
class Entry:
    time: str
    recipient: str
    subject: str
    language: str
    view: str | None  # the HTML part's file, relative to the outbox
    eml: str


def _write(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".writing-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    Path(temp).replace(path)


def _html_part(message: EmailMessage) -> str | None:
    part = message.get_body(preferencelist=("html",))
    if part is None:
        return None
    content = part.get_content()
    return content if isinstance(content, str) else None


class OutboxIndex:
    """The index of the ``.eml`` files of ``folder``, kept as they arrive."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.entries: list[Entry] = []

    def add(self, path: Path, content: bytes) -> None:
        """List the message saved at ``path``, save its HTML part, write the page again."""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)  # what policy.default makes
        view = None
        body = _html_part(message)
        if body is not None:
            (self.folder / VIEWS).mkdir(exist_ok=True)
            view = f"{VIEWS}/{path.stem}.html"
            _write(self.folder / view, body)
        date = message["Date"]
        moment = date.datetime.isoformat(sep=" ", timespec="seconds") if date else ""
        self.entries.append(
            Entry(
                moment,
                str(message["To"] or ""),
                str(message["Subject"] or ""),
                str(message["Content-Language"] or ""),
                view,
                path.name,
            )
        )
        _write(self.folder / INDEX, self.page())

    def page(self) -> str:
        rows = []
        for entry in reversed(self.entries):  # the latest first
            subject = html.escape(entry.subject) or "(no subject)"
            shown = f'<a href="{html.escape(entry.view)}">{subject}</a>' if entry.view else subject
            rows.append(
                f"<tr><td>{html.escape(entry.time)}</td>"
                f"<td>{html.escape(entry.recipient)}</td><td>{shown}</td>"
                f"<td>{html.escape(entry.language)}</td>"
                f'<td><a href="{html.escape(entry.eml)}">.eml</a></td></tr>'
            )
        count = len(self.entries)
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            "<title>relance demo: outbox</title>\n"
            f"<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>Outbox: {count} email{'s' if count != 1 else ''}</h1>\n"
            "<p>Every email the demo's mail sink received, the latest first. This page "
            "is written again as mail arrives: reload it.</p>\n"
            "<table>\n<tr><th>Time</th><th>To</th><th>Subject</th><th>Language</th>"
            "<th>File</th></tr>\n" + "\n".join(rows) + "\n</table>\n</body>\n</html>\n"
        )
