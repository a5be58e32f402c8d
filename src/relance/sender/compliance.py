"""What a sender needs before it may send marketing email: checked at start.

A marketing email without a working unsubscribe link, or without the shop's name and postal
address, is one a shop may not send (CAN-SPAM, the French and EU rules on commercial email;
Gmail and Yahoo refuse bulk mail without one-click unsubscribe). So a sender whose scenario
file enables a marketing email scenario refuses to start without the gateway settings that
make the links and the ``brand`` section's name and address, naming each; a command that
reaches it anyway (a worker reading another file) fails ``render_failure`` with the reason,
never goes out without them.
"""

from __future__ import annotations

from relance.brand import Brand
from relance.core.scenarios import Config
from relance.errors import ConfigProblem


def marketing_email(config: Config) -> list[str]:
    """The scenarios of ``config`` that send marketing email."""
    return [s.name for s in config.scenarios if s.channel == "email" and s.is_marketing]


def marketing_problems(
    config: Config, brand: Brand, *, gateway: bool, file: str
) -> list[ConfigProblem]:
    """Why marketing email cannot be sent legally (``gateway``: whether RELANCE_GATEWAY_URL
    and RELANCE_LINK_KEYS are both set; ``file``: the scenario file, for the problem)."""
    names = marketing_email(config)
    if not names:
        return []
    shown = ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
    found = []
    if not gateway:
        found.append(
            ConfigProblem(
                "environment",
                None,
                "RELANCE_GATEWAY_URL",
                f"marketing email ({shown}) needs an unsubscribe link in every message: set "
                "RELANCE_GATEWAY_URL and RELANCE_LINK_KEYS (relance gateway serves the links)",
            )
        )
    for key in brand.missing():
        found.append(
            ConfigProblem(
                file,
                None,
                key,
                f"marketing email ({shown}) needs the shop's name and postal "
                "address in its footer: give them in the file's brand section",
            )
        )
    return found
