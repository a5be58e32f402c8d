"""A real HTTP server that takes email the way Postmark's and SendGrid's send APIs document.

``EspServer("postmark")`` serves ``POST /email`` and ``EspServer("sendgrid")`` serves
``POST /v3/mail/send`` on 127.0.0.1 and a free port, in a thread of its own. Each request is
checked as the ESP documents it (method, path, the auth header, the content type, the JSON
fields and their types, the command id in the metadata and the headers) and answered like
the ESP: Postmark's 200 ``{"To", "SubmittedAt", "MessageID", "ErrorCode": 0, "Message":
"OK"}`` or SendGrid's 202 with an empty body and ``X-Message-Id``; a request that fails a
check gets the ESP's error (401 for a bad token; Postmark's 422 ErrorCode 300, SendGrid's 400
``{"errors": [...]}``) and is noted in ``problems``. ``script`` queues answers given instead
of the success, one per request that passes the checks (429 with Retry-After, 422, 500 ...).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from aiohttp import web

Kind = Literal["postmark", "sendgrid"]
TOKEN = "test-token-5f1c"
PATHS = {"postmark": "/email", "sendgrid": "/v3/mail/send"}
COMMAND_HEADER = "X-Relance-Command-Id"

POSTMARK_FIELDS = {
    "From",
    "To",
    "Cc",
    "Bcc",
    "Subject",
    "Tag",
    "HtmlBody",
    "TextBody",
    "ReplyTo",
    "Headers",
    "TrackOpens",
    "TrackLinks",
    "Metadata",
    "Attachments",
    "MessageStream",
}
SENDGRID_FIELDS = {
    "personalizations",
    "from",
    "reply_to",
    "reply_to_list",
    "subject",
    "content",
    "attachments",
    "template_id",
    "headers",
    "categories",
    "custom_args",
    "send_at",
    "batch_id",
    "asm",
    "ip_pool_name",
    "mail_settings",
    "tracking_settings",
}
SENDGRID_RESERVED = {
    "x-sg-id",
    "x-sg-eid",
    "received",
    "dkim-signature",
    "content-type",
    "content-transfer-encoding",
    "to",
    "from",
    "subject",
    "reply-to",
    "cc",
    "bcc",
}


@dataclass(frozen=True)
class Received:
    """A request that passed the checks, with when it came (``time.monotonic()``) and from
    which client port (a kept-alive session comes from one)."""

    body: dict[str, Any]
    headers: dict[str, str]
    at: float
    peer_port: int

    @property
    def command_id(self) -> str:
        custom = self.body.get("Metadata") or self.body.get("custom_args") or {}
        return str(custom["relance_command_id"])


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds before answering (a slow ESP)
    # SendGrid's rate limit: X-RateLimit-Reset, the Unix time this many seconds after the
    # request, as it reports the end of the refresh period.
    reset_in: float | None = None


def _strings(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def postmark_problems(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    found = [f"unknown field {key}" for key in body if key not in POSTMARK_FIELDS]
    for key in ("From", "To", "Subject", "MessageStream"):
        if not isinstance(body.get(key), str) or not body[key]:
            found.append(f"{key} is not a non-empty string")
    if not any(isinstance(body.get(key), str) and body[key] for key in ("TextBody", "HtmlBody")):
        found.append("neither TextBody nor HtmlBody")
    headers = body.get("Headers", [])
    if not isinstance(headers, list) or not all(
        isinstance(h, dict) and set(h) == {"Name", "Value"} and _strings(h) for h in headers
    ):
        found.append("Headers is not a list of {Name, Value} strings")
        headers = []
    if not _strings(body.get("Metadata", {})):
        found.append("Metadata is not an object of strings")
    named = {h["Name"]: h["Value"] for h in headers}
    metadata = body.get("Metadata") or {}
    if metadata.get("relance_command_id") is None or metadata.get(
        "relance_command_id"
    ) != named.get(COMMAND_HEADER):
        found.append("the command id is not both in Metadata and in the headers")
    return found


def sendgrid_problems(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    found = [f"unknown field {key}" for key in body if key not in SENDGRID_FIELDS]
    personalizations = body.get("personalizations")
    if (
        not isinstance(personalizations, list)
        or not personalizations
        or not all(
            isinstance(p, dict)
            and isinstance(p.get("to"), list)
            and p["to"]
            and all(
                _strings(to) and "email" in to and set(to) <= {"email", "name"} for to in p["to"]
            )
            for p in personalizations
        )
    ):
        found.append("personalizations[].to is not a list of {email, name}")
    sender = body.get("from") or {}
    if not (_strings(sender) and "email" in sender):
        found.append("from is not {email, name}")
    if not isinstance(body.get("subject"), str) or not body["subject"]:
        found.append("subject is not a non-empty string")
    content = body.get("content")
    if (
        not isinstance(content, list)
        or not content
        or not all(_strings(c) and set(c) == {"type", "value"} and c["value"] for c in content)
    ):
        found.append("content is not a list of {type, value}")
    elif "text/plain" in (types := [c["type"] for c in content]) and types[0] != "text/plain":
        found.append("text/plain is not the first content")
    headers = body.get("headers", {})
    if not _strings(headers) or any(
        name.lower() in SENDGRID_RESERVED or not value.isascii() for name, value in headers.items()
    ):
        found.append("headers is not an object of ASCII strings without reserved ones")
        headers = {}
    custom = body.get("custom_args", {})
    if not _strings(custom) or len(orjson.dumps(custom)) > 10_000:
        found.append("custom_args is not an object of strings under 10,000 bytes")
        custom = {}
    categories = body.get("categories", [])
    if (
        not isinstance(categories, list)
        or len(categories) > 10
        or not all(isinstance(c, str) and c.isascii() and 0 < len(c) <= 255 for c in categories)
    ):
        found.append("categories is not a list of at most 10 ASCII names")
    if custom.get("relance_command_id") is None or custom.get("relance_command_id") != headers.get(
        COMMAND_HEADER
    ):
        found.append("the command id is not both in custom_args and in the headers")
    return found


def postmark_error(status: int, code: int, message: str) -> Answer:
    return Answer(
        status,
        orjson.dumps({"ErrorCode": code, "Message": message}),
        (("Content-Type", "application/json"),),
    )


def sendgrid_error(status: int, message: str, field: str | None = None) -> Answer:
    return Answer(
        status,
        orjson.dumps({"errors": [{"message": message, "field": field, "help": None}]}),
        (("Content-Type", "application/json"),),
    )


class EspServer:
    def __init__(self, kind: Kind, token: str = TOKEN) -> None:
        self.kind = kind
        self.token = token
        self.received: list[Received] = []
        self.problems: list[str] = []
        self.port = 0
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self._script.extend(answers)

    def requests(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def __enter__(self) -> EspServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def _refused(self, request: web.Request) -> Answer | None:
        """The ESP's answer to a request without the right method, path, key or type."""
        if request.method != "POST" or request.path != PATHS[self.kind]:
            return Answer(404, b"Not found")
        if self.kind == "postmark":
            if request.headers.get("X-Postmark-Server-Token") != self.token:
                return postmark_error(401, 10, "Request does not contain a valid Server token.")
            if request.headers.get("Accept") != "application/json":
                return postmark_error(422, 409, "JSON data required")
        elif request.headers.get("Authorization") != f"Bearer {self.token}":
            return sendgrid_error(
                401, "The provided authorization grant is invalid, expired, or revoked"
            )
        if request.headers.get("Content-Type") != "application/json":
            return (
                postmark_error(415, 409, "JSON data required")
                if self.kind == "postmark"
                else sendgrid_error(415, "Content-Type should be application/json.")
            )
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        answer = self._refused(request)
        body: Any = None
        if answer is None:
            try:
                body = orjson.loads(await request.read())
            except orjson.JSONDecodeError:
                body = None
            problems = (postmark_problems if self.kind == "postmark" else sendgrid_problems)(body)
            if problems:
                answer = (
                    postmark_error(422, 300, "Invalid email request: " + "; ".join(problems))
                    if self.kind == "postmark"
                    else sendgrid_error(400, problems[0])
                )
        with self._lock:
            if answer is not None:
                self.problems.append(f"{request.method} {request.path}: {answer.body!r}")
            else:
                peer = request.transport.get_extra_info("peername") if request.transport else None
                self.received.append(
                    Received(body, dict(request.headers), time.monotonic(), peer[1] if peer else 0)
                )
                answer = self._script.popleft() if self._script else self._accepted(body)
        if answer.delay:
            await asyncio.sleep(answer.delay)
        headers = dict(answer.headers)
        if answer.reset_in is not None:
            headers["X-RateLimit-Reset"] = str(int(time.time() + answer.reset_in))
        return web.Response(status=answer.status, body=answer.body, headers=headers)

    def _accepted(self, body: dict[str, Any]) -> Answer:
        message_id = str(uuid.uuid4())
        if self.kind == "sendgrid":
            return Answer(202, b"", (("X-Message-Id", message_id),))
        return Answer(
            200,
            orjson.dumps(
                {
                    "To": body["To"],
                    "SubmittedAt": datetime.now(UTC).isoformat(),
                    "MessageID": message_id,
                    "ErrorCode": 0,
                    "Message": "OK",
                }
            ),
            (("Content-Type", "application/json"),),
        )
