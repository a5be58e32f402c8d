"""Language tags and their fallback: which templates a contact's ``locale`` reads.

A profile's ``locale`` is a BCP 47 tag (``fr-CA``, ``de_DE`` is taken too). Templates are
looked for in the most specific language first, then each shorter tag, then the default
language's, then the root of the template folders, which is English: ``fr-CA`` reads
``fr-CA/``, then ``fr/``, then the root. Pure: no Babel here (``sender.formatting`` formats).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

# The language of the templates at the root of a template folder (the shipped ones).
ROOT_LANGUAGE: Final = "en"
_TAG: Final = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")
_LONGEST: Final = 35


@lru_cache(maxsize=1024)
def normalized(tag: str | None) -> str | None:
    """``fr_ca`` -> ``fr-CA``, ``zh-hant-tw`` -> ``zh-Hant-TW``; ``None`` for anything that
    is not a language tag (so that no profile value can name a folder of its own)."""
    if not tag or len(tag) > _LONGEST or not _TAG.fullmatch(tag):
        return None
    first, *rest = tag.replace("_", "-").split("-")
    parts = [first.lower()]
    for part in rest:
        if len(part) == 4 and part.isalpha():
            parts.append(part.title())  # a script: Hant, Latn
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            parts.append(part.upper())  # a region: CA, 419
        else:
            parts.append(part.lower())
    return "-".join(parts)


def language_of(tag: str) -> str:
    """The language subtag: ``fr`` of ``fr-CA``."""
    return tag.split("-", 1)[0]


def _shorter(tag: str) -> list[str]:
    parts = tag.split("-")
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]


@lru_cache(maxsize=1024)
def fallback(locale: str | None, default: str = ROOT_LANGUAGE) -> tuple[str, ...]:
    """The folders a contact's templates are looked for in, most specific first; ``""`` is
    the root. A tag whose language is the root's goes on to the root (``en-GB``: ``en-GB``,
    ``en``, root), so a default in another language never hides the English ones."""
    chain: list[str] = []
    for tag in (normalized(locale), normalized(default)):
        if tag is None:
            continue
        for candidate in _shorter(tag):
            if candidate not in chain:
                chain.append(candidate)
            if candidate == ROOT_LANGUAGE:
                return (*chain, "")
    return (*chain, "")


def language_at(level: str) -> str:
    """The language of the templates at ``level`` of a fallback chain (root: English)."""
    return level or ROOT_LANGUAGE
