"""faust around a loop: the web pages, the loop and its helpers as tasks, the signals.

Neither process lets faust consume or produce: their loops use confluent-kafka and commit
what they handled, and their states have changelogs of their own. faust runs the web server,
the start-up and a clean stop on SIGTERM, so its Kafka services are never started and none
of their settings is given.

A loop that fails stops the process with one log line saying why (its traceback at debug
level) and exit code 1, rather than faust's crash path, which logs the traceback three times.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp.web
import faust
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from relance.host.health import add_health
from relance.host.process import Page, Process, WebRequest
from relance.logs import logging_config
from relance.settings import Settings

log = logging.getLogger(__name__)


class Failure:
    """How the loop ended, if it failed; ``stop`` stops the whole process (set by ``serve``
    once the faust Worker exists)."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.stop: Callable[[], Awaitable[None]] | None = None
        self._stopping: asyncio.Future[None] | None = None

    def failed(self, name: str, error: BaseException) -> None:
        """One line for the operator; the traceback for a developer, at debug level."""
        self.error = error
        log.error("%s stopped: %s", name, _described(error))
        log.debug("%s stopped by", name, exc_info=error)
        if self.stop is not None:
            # Not awaited here: stopping the app cancels its tasks, this one among them.
            self._stopping = asyncio.ensure_future(self.stop())


def _described(error: BaseException) -> str:
    from relance.errors import RelanceError

    text = str(error) or type(error).__name__
    return text if isinstance(error, RelanceError) else f"{type(error).__name__}: {text}"


class _App(faust.App):
    """A faust app that keeps no files: without tables or a consumer it has nothing to put
    in its data directory, which it would otherwise create in the working directory."""

    def _create_directories(self) -> None:
        pass


def new_app(app_id: str, web_port: int) -> faust.App:
    """A faust app with its web server only; its Kafka services never start."""
    app = _App(app_id, web_port=web_port, web_bind="0.0.0.0", web_enabled=True, autodiscover=False)
    app.boot_strategy = app.BootStrategy(app, enable_kafka=False)
    return app


def host_loop(
    app: faust.App,
    run: Callable[[threading.Event], Awaitable[None]],
    failure: Failure,
    name: str = "the loop",
) -> None:
    """Run ``run(stopping)`` as the app's task; SIGTERM sets ``stopping`` and the app waits
    for ``run`` to return (its last work settled and committed) before it stops. A failure
    of ``run`` stops the process (``failure``)."""
    stopping = threading.Event()
    began, stopped = asyncio.Event(), asyncio.Event()

    @app.task  # type: ignore[untyped-decorator]  # faust's own typing
    async def consume() -> None:
        began.set()
        try:
            await run(stopping)
        except Exception as exc:
            # The loop is the process: without it the process must not look alive.
            stopped.set()  # first: the shutdown below waits for it
            failure.failed(name, exc)
        finally:
            stopped.set()

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # mode's signal typing
    async def stop(app: Any, **kwargs: Any) -> None:
        stopping.set()
        # A start that failed before the task ran (the web port in use) has no loop to
        # wait for: waiting would keep the process up for ever.
        if began.is_set():
            await stopped.wait()


def stop_with(app: faust.App, stop: Callable[[], None]) -> None:
    """Call ``stop`` (blocking, so in a thread) when ``app`` shuts down: a thread the process
    runs beside the app, such as the sender's catalog follower."""

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # mode's signal typing
    async def stop_beside(app: Any, **kwargs: Any) -> None:
        await asyncio.to_thread(stop)


def add_metrics_page(app: faust.App, registry: CollectorRegistry) -> None:
    """Prometheus text format at /metrics on the app's web port."""

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _body(request: Any, limit: int) -> bytes | None:
    """The request's body, or None when it is longer than ``limit`` (not read further)."""
    if (request.content_length or 0) > limit:
        return None
    body = b""
    while chunk := await request.content.read(limit + 1 - len(body)):
        body += chunk
        if len(body) > limit:
            return None
    return body


def add_page(app: faust.App, page: Page) -> None:
    """``page`` at its path, for its methods: the request handed to it as a ``WebRequest``,
    its ``WebAnswer`` sent as it is."""

    async def handle(view: Any, request: Any, **params: str) -> Any:
        body = await _body(request, page.max_body) if request.method == "POST" else b""
        if body is None:
            return aiohttp.web.Response(status=413, text="request body too large\n")
        answer = await page.answer(
            WebRequest(
                request.method,
                params,
                {name: request.query.get(name) for name in request.query},
                {name.lower(): value for name, value in request.headers.items()},
                body,
            )
        )
        return aiohttp.web.Response(status=answer.status, body=answer.body, headers=answer.headers)

    methods = {"get": handle} if "GET" in page.methods else {}
    if "POST" in page.methods:
        methods["post"] = handle
    app.page(page.path)(type(f"page{len(app.web.views)}", (faust.web.View,), methods))


def host(process: Process, failure: Failure) -> faust.App:
    """The faust app around ``process``: its loop and helpers as tasks, its pages, /metrics,
    /healthz and /readyz on its web port."""
    app = new_app(process.name, process.web_port)
    host_loop(app, process.run, failure, process.name)
    for stop in process.stops:
        stop_with(app, stop)
    for page in process.pages:
        add_page(app, page)
    add_metrics_page(app, process.registry)
    add_health(app, process.probe, process.problems, process.ready)
    return app


def serve(settings: Settings, process: Process) -> int:
    """Run ``process`` until SIGTERM (or Ctrl-C) has stopped its loop, or the loop failed;
    the exit code (1 after a failure)."""
    failure = Failure()
    worker = faust.Worker(
        host(process, failure), loglevel=settings.log_level, logging_config=logging_config(settings)
    )
    failure.stop = worker.stop
    code: int | str | None = 0
    try:
        worker.execute_from_commandline()
    except SystemExit as done:  # how mode's Worker always ends
        code = done.code
    if failure.error is not None:
        return 1
    return code if isinstance(code, int) else 1
