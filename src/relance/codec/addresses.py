"""Whether a profile's email address and phone number can be written to at all: syntax and
length only, never a DNS look-up (the core reads no network).

Email addresses are checked by ``email-validator``, which costs about 40 µs an address. Most
addresses are plain ASCII ones that a regular expression recognises in about 0.6 µs: those
it accepts are a subset of what the library accepts (a unit test checks it on generated
addresses), and the library decides every other one.
"""

from __future__ import annotations

import re
from typing import Final

from email_validator import EmailNotValidError, validate_email

_ATEXT: Final = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~.-"  # a local part's characters, and dots
# email-validator's special-use names (RFC 6761 and others), refused as domains.
_SPECIAL: Final = ("arpa", "invalid", "local", "localhost", "onion", "test")
# A plain address: at most 64 characters before the @, a domain of at most 63 (so no label
# and no address is too long) ending in a lowercase top-level domain of letters, not one of
# the special-use names. Flat character classes, which are cheap to match; ``_plain`` adds
# what they cannot say (a dot or hyphen where one may not be).
_PLAIN: Final = re.compile(
    rf"[{_ATEXT}]{{1,64}}@(?=[A-Za-z0-9.-]{{4,63}}\Z)[A-Za-z0-9.-]+\.[a-z]{{2,63}}"
    + "".join(rf"(?<!\.{name})" for name in _SPECIAL)
)
# E.164: a + and at most 15 digits, the country code never starting with 0.
_E164: Final = re.compile(r"\+[1-9][0-9]{1,14}")


def _plain(text: str) -> bool:
    """A plain ASCII address email-validator accepts; ``False`` means "ask it", not "bad".

    No empty part, no dot at either end of the local part, no label starting or ending with
    a hyphen; ``--`` anywhere is left to the library, as IDNA rules apply to it (``xn--``)."""
    return (
        _PLAIN.fullmatch(text) is not None
        and ".." not in text
        and "--" not in text
        and "-." not in text
        and ".-" not in text
        and "@-" not in text
        and "@." not in text
        and ".@" not in text
        and text[0] != "."
    )


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
