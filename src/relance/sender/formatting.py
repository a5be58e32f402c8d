"""Prices, numbers and dates as the contact writes them (Babel's CLDR data): ``89,90 €`` for
``fr-FR``, ``€89.90`` for ``en-IE``, ``30 juin 2024``.

The templates' filters (``money``, ``number``, ``date``) read the formatting of the message
being rendered from a context variable that ``Renderer`` sets around each render, so a
macro imported without context formats like the template that calls it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Final

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from relance.locales import ROOT_LANGUAGE, language_of, normalized

_CURRENCY_CODE_LENGTH: Final = 3


@lru_cache(maxsize=256)
def babel_locale(tag: str | None) -> Locale | None:
    """Babel's locale for a language tag, or for its language; ``None`` if it knows neither."""
    tag = normalized(tag)
    if tag is None:
        return None
    for candidate in (tag, language_of(tag)):
        try:
            return Locale.parse(candidate, sep="-")
        except (UnknownLocaleError, ValueError):
            continue
    return None


def formatting_locale(contact: str | None, language: str) -> Locale:
    """The contact's own conventions when Babel knows its locale, else those of the
    language the message is written in."""
    return babel_locale(contact) or babel_locale(language) or Locale.parse(ROOT_LANGUAGE)


_CURRENT: ContextVar[Locale | None] = ContextVar("relance_formatting", default=None)


@contextmanager
def formatting(locale: Locale) -> Iterator[None]:
    """Format with ``locale`` within the block (one render)."""
    token = _CURRENT.set(locale)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def _locale() -> Locale:
    return _CURRENT.get() or Locale.parse(ROOT_LANGUAGE)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def money(price: Any, currency: str | None = None) -> str:
    """``89.9, "EUR"`` -> ``89,90 €`` (fr-FR) or ``€89.90`` (en-IE); without a currency the
    number alone with two decimals; a price that is not a number is shown as is."""
    if not _is_number(price):
        shown = "" if price is None else str(price)
        return f"{shown} {currency}" if currency and shown else shown
    if isinstance(currency, str) and len(currency) == _CURRENCY_CODE_LENGTH and currency.isalpha():
        return str(format_currency(price, currency.upper(), locale=_locale()))
    shown = str(format_decimal(price, format="#,##0.00", locale=_locale()))
    return f"{shown} {currency}" if currency else shown


def number(value: Any) -> str:
    """A count or a quantity with the locale's grouping (``1 000``, ``1,000``)."""
    return str(format_decimal(value, locale=_locale())) if _is_number(value) else str(value)


def when(value: Any, style: str = "long") -> str:
    """A date (``2024-06-30``, a ``date``, epoch ms) as the locale writes it: ``30 juin
    2024``, ``June 30, 2024``; anything else as is."""
    day: date | None = None
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif _is_number(value):
        day = datetime.fromtimestamp(value / 1000, UTC).date()
    elif isinstance(value, str):
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            day = None
    if day is None:
        return "" if value is None else str(value)
    return str(format_date(day, format=style, locale=_locale()))
