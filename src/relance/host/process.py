"""What a process serves around its loop, without faust: the loops and their wiring build
it, ``relance.host.app`` hosts it."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge

Problems = Callable[[], list[str]]


@dataclass(frozen=True)
class WebRequest:
    """What a page is asked: ``params`` from its path, the query (first value of each
    name), the headers (lower-case names) and the body (at most the page's ``max_body``)."""

    method: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class WebAnswer:
    status: int
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Page:
    """A page a process serves besides /metrics, /healthz and /readyz: ``path`` is an
    aiohttp pattern (``/u/{token}``); ``methods`` of GET (HEAD too), POST."""

    path: str
    methods: frozenset[str]
    answer: Callable[[WebRequest], Awaitable[WebAnswer]]
    max_body: int = 8192  # a longer body is refused (413) unread


@dataclass(frozen=True)
class Process:
    """``run(stopping)`` is the loop: it returns once ``stopping`` is set and its last work
    is settled and committed. Each of ``stops`` stops a helper the process runs beside its
    loop (the sender's catalog follower), called when the process shuts down; ``pages`` are
    what it serves on its web port (the gateway's links)."""

    name: str
    web_port: int
    run: Callable[[threading.Event], Awaitable[None]]
    problems: Problems  # what /readyz reports besides the broker
    registry: CollectorRegistry
    ready: Gauge
    stops: tuple[Callable[[], None], ...] = ()
    pages: tuple[Page, ...] = ()
