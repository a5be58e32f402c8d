"""Which language a gateway page is shown in: the link's ``lang``, then the browser's
``Accept-Language`` by preference, then the shop's default; each tag falls back from its
region to its language (``fr-CA`` -> ``fr``) before the next is tried. Pure."""

from __future__ import annotations

from collections.abc import Collection

MAX_TAGS = 20  # of an Accept-Language header: more is not a browser's


def _candidates(tag: str) -> list[str]:
    parts = tag.strip().replace("_", "-").lower().split("-")
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1) if parts[0]]


def _accepted(header: str) -> list[str]:
    """The tags of an Accept-Language header, most wanted first (``*`` and q=0 left out)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:MAX_TAGS]):
        tag, _, params = part.partition(";")
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                weight = float(value)
            except ValueError:
                weight = 0.0
        if tag.strip() and tag.strip() != "*" and weight > 0:
            weighted.append((-weight, position, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(
    lang: str | None, accept_language: str | None, default: str, available: Collection[str]
) -> str:
    """The first of ``available`` (lower-case tags) the chain reaches; ``default`` must
    reach one, else the first available is used."""
    for tag in ([lang] if lang else []) + _accepted(accept_language or "") + [default]:
        for candidate in _candidates(tag):
            if candidate in available:
                return candidate
    return next(iter(available))
