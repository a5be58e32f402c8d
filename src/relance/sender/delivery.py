"""The sender's per-command path: ledger check, render, deliver, record.

A temporary failure (a refused connection, a timeout, a 4xx, an SMS gateway's 429 or 5xx)
never ends a command: it is retried after a backoff for as long as the command is worth
sending (``backoff.expiry``), then it ends ``expired``. The waits go through the caller's
``Wait``, which keeps the consumer polled and may abandon the command (``Abandoned``).

The ledger (a changelogged table keyed by command id) is written and flushed right after the
provider accepted a message, before the outcome is reported and long before the offset is
committed: a sender killed after that point finds the id on restart and sends nothing. Only a
crash inside the few milliseconds between acceptance and that flush can repeat a message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from relance.core.catalog import Catalog
from relance.core.timestamps import parse_iso, to_iso
from relance.providers.base import Dispatch, Provider
from relance.providers.errors import PermanentDeliveryError, TemporaryDeliveryError
from relance.providers.sms import HttpSmsProvider, SmsMessage
from relance.sender.backoff import Backoff, expiry
from relance.sender.errors import MessageError, RenderError
from relance.sender.message import build_message
from relance.sender.outage import Outages
from relance.sender.recheck import recheck
from relance.sender.render import Renderer

log = logging.getLogger(__name__)

Report = Callable[[dict[str, Any]], Awaitable[None]]
Where = Mapping[str, Any]
Wait = Callable[[float], Awaitable[None]]


class Abandoned(Exception):  # noqa: N818  # an outcome, not an error
    """Raised by a ``Wait``: the command in hand is left unsettled and uncommitted (its
    partition was revoked, or the sender stops); whoever reads it next delivers it."""


@dataclass(frozen=True, slots=True)
class Entry:
    """The command in hand's id, and the ledger its outcome goes into."""

    ledger: MutableMapping[bytes, bytes]
    key: bytes


class Delivery:
    def __init__(
        self,
        *,
        renderer: Renderer,
        provider: Provider,
        sender: str,
        report: Report,
        sms: HttpSmsProvider | None = None,
        catalog: Catalog | None = None,
        flush: Callable[[], Awaitable[None]],
        clock: Callable[[], int],
        observe: Callable[[str, str, float | None], None],
        attempted: Callable[[str, str], None],
        outages: Outages,
        backoff: Backoff,
        horizon_ms: int,
        transactional: frozenset[str] = frozenset(),
    ) -> None:
        """``transactional``: the scenarios whose emails are not marketing (an ESP sends
        them through its transactional stream)."""
        self.renderer = renderer
        self.provider = provider
        self.sms = sms
        self.catalog = catalog
        self.sender = sender
        self.report = report
        self.flush = flush
        self.clock = clock
        self.observe = observe
        self.attempted = attempted
        self.outages = outages
        self.backoff = backoff
        self.horizon_ms = horizon_ms
        self.transactional = transactional

    async def handle(
        self,
        command: Mapping[str, Any],
        ledger: MutableMapping[bytes, bytes],
        where: Where | None = None,
        wait: Wait = asyncio.sleep,
    ) -> None:
        """``ledger``: the ids handled in the command's partition (``Ledger.partition``);
        ``where``: the delivery message's topic, partition and offset, for the logs;
        ``wait`` sleeps between two attempts, and may raise ``Abandoned``."""
        entry = Entry(ledger, str(command["command_id"]).encode())
        extra = {
            **(where or {}),
            "contact_id": command.get("contact_id"),
            "command_id": command.get("command_id"),
        }
        if ledger.get(entry.key) is not None:
            log.info(
                "command %s for contact %s already handled: skipped",
                command["command_id"],
                command.get("contact_id"),
                extra=extra,
            )
            await self._record(command, "duplicate", 0, None, extra)
            return
        if self.catalog is not None:
            checked = recheck(command, self.catalog)
            if checked is None:
                await self._settle(
                    entry, command, "withdrawn", 0, "every product it shows is sold out now", extra
                )
                return
            command = checked
        if command.get("channel") == "sms" and self.sms is None:
            await self._settle(
                entry,
                command,
                "permanent_failure",
                0,
                "no SMS gateway is configured (RELANCE_SMS_URL)",
                extra,
            )
            return
        try:
            send, language = self._sending(command)
        except (RenderError, MessageError) as error:
            await self._settle(entry, command, "render_failure", 0, str(error), extra)
            return
        extra = {**extra, "language": language}  # reported with the outcome
        try:
            await self._deliver(entry, command, send, extra, wait)
        finally:
            self.outages.released()

    def _sending(self, command: Mapping[str, Any]) -> tuple[Callable[[], Awaitable[None]], str]:
        """The message built, and the language it is in (a render or address error shows
        here, before any attempt)."""
        if command.get("channel") == "sms":
            assert self.sms is not None
            recipient = command.get("recipient") or {}
            phone = recipient.get("phone") if isinstance(recipient, Mapping) else None
            if not isinstance(phone, str) or not phone.strip():
                raise MessageError(
                    str(command.get("command_id")), "the recipient has no phone number"
                )
            text = self.renderer.render_text_message(command)
            sms = SmsMessage(str(command["command_id"]), phone, text.text)
            gateway = self.sms
            return (lambda: gateway.send(sms)), text.language
        rendered = self.renderer.render(command)
        message: EmailMessage = build_message(command, rendered, sender=self.sender)
        scenario = str(command.get("scenario", ""))
        # The command says (a command from before the field, its scenario in the file).
        marketing = command.get("marketing") is not False and scenario not in self.transactional
        dispatch = Dispatch(
            str(command["command_id"]),
            str(command.get("contact_id", "")),
            scenario,
            marketing=marketing,
        )
        return (lambda: self.provider.send(message, dispatch)), rendered.language

    async def _deliver(
        self,
        entry: Entry,
        command: Mapping[str, Any],
        send: Callable[[], Awaitable[None]],
        extra: Where,
        wait: Wait,
    ) -> None:
        """Attempts until one is final or the command expires; a temporary failure is
        reported and retried after a backoff, never the end of a command."""
        deadline, why = expiry(command, self.horizon_ms)
        channel = str(command.get("channel", "email"))
        failures, last = 0, ""
        while self.clock() <= deadline:
            try:
                await send()
            except TemporaryDeliveryError as error:
                failures, last = failures + 1, str(error)
                self.attempted(channel, "temporary_failure")
                self.outages.failed(channel, parse_iso(str(command["decided_at"])), last)
                await self._record(command, "temporary_failure", failures, last, extra)
                left = (deadline - self.clock()) / 1000
                # At least as long as the provider asked (a 429's Retry-After).
                wanted = self.backoff.after(failures, error.retry_after)
                await wait(max(0.0, min(wanted, left + 0.001)))
            except PermanentDeliveryError as error:
                self.attempted(channel, "permanent_failure")
                self.outages.answered(channel)
                await self._settle(
                    entry, command, "permanent_failure", failures + 1, str(error), extra
                )
                return
            else:
                self.attempted(channel, "delivered")
                self.outages.answered(channel)
                await self._settle(entry, command, "delivered", failures + 1, None, extra)
                return
        tried = f" after {failures} attempts, the last: {last}" if failures else ", not attempted"
        await self._settle(
            entry,
            command,
            "expired",
            failures,
            f"not delivered by {to_iso(deadline)} ({why}){tried}",
            extra,
        )

    async def _settle(
        self,
        entry: Entry,
        command: Mapping[str, Any],
        outcome: str,
        attempt: int,
        detail: str | None,
        extra: Where,
    ) -> None:
        """The final outcome: into the ledger (flushed) first, then reported."""
        entry.ledger[entry.key] = f"{outcome}@{to_iso(self.clock())}".encode()
        await self.flush()
        await self._record(command, outcome, attempt, detail, extra)

    async def _record(
        self,
        command: Mapping[str, Any],
        outcome: str,
        attempt: int,
        detail: str | None,
        extra: Where,
    ) -> None:
        """On the results topic: a final outcome (also counted), or a temporary failure."""
        now = self.clock()
        channel = str(command.get("channel", "email"))
        latency = None
        if outcome == "delivered":
            latency = max(0.0, (now - parse_iso(str(command["decided_at"]))) / 1000)
        if outcome != "temporary_failure":
            self.observe(channel, outcome, latency)
        if outcome not in ("delivered", "duplicate"):
            log.warning(
                "command %s for contact %s: %s (attempt %d) %s",
                command["command_id"],
                command.get("contact_id"),
                outcome,
                attempt,
                detail or "",
                extra=extra,
            )
        await self.report(
            {
                "command_id": command["command_id"],
                "contact_id": command["contact_id"],
                "scenario": command["scenario"],
                "channel": channel,
                "attempt": attempt,
                "outcome": outcome,
                "detail": detail,
                "at": to_iso(now),
                "language": extra.get("language"),
            }
        )
