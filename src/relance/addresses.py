"""Whether a profile's email address and phone number can be written to at all: syntax and
length only, never a DNS look-up (the core reads no network).

Email addresses are checked by ``email-validator``, which costs about 40 µs an address. Most
addresses are plain ASCII ones that a regular expression recognises in under a microsecond:
those the expression accepts are a subset of what the library accepts (a unit test checks
it on generated addresses), and the library decides every other one.
"""

from __future__ import annotations

import re
from typing import Final

from email_validator import EmailNotValidError, validate_email

_ATEXT: Final = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# A dot-atom local part; a domain of at least two labels whose last is letters only.
_PLAIN: Final = re.compile(
    rf"([{_ATEXT}]+(?:\.[{_ATEXT}]+)*)@(?:{_LABEL}\.)+([A-Za-z]{{2,63}})")
# email-validator's special-use names (RFC 6761 and others), refused as domains.
_SPECIAL: Final = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_LOCAL_MAX: Final = 64
_ADDRESS_MAX: Final = 254
# E.164: a + and at most 15 digits, the country code never starting with 0.
_E164: Final = re.compile(r"\+[1-9][0-9]{1,14}")


def _plain(text: str) -> bool:
    """A plain ASCII address email-validator accepts; ``False`` means "ask it", not "bad".

    Labels with ``--`` are left to the library: IDNA rules apply to them (``xn--``)."""
    found = _PLAIN.fullmatch(text)
    if found is None or len(text) > _ADDRESS_MAX:
        return False
    at = found.end(1)
    return (at <= _LOCAL_MAX and "--" not in text[at:]
            and found.group(2).lower() not in _SPECIAL)


def email_problem(text: str) -> str | None:
    """Why ``text`` is not a usable email address, or ``None`` if it is one."""
    if _plain(text):
        return None
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def is_phone(text: str) -> bool:
    """An E.164 number: ``+`` and up to 15 digits, no spaces or punctuation."""
    return _E164.fullmatch(text) is not None
