"""The shop behind the messages (the scenario file's ``brand`` section): who sends them, where
its customers go, how its emails look and how their links are tagged.

Every email's footer names the shop and its postal address (CAN-SPAM, the French and EU
rules on commercial email); a marketing email also needs an unsubscribe link, which the
gateway settings make (``relance.settings``). Nothing here changes a decision: the worker
reads the section only to check it; the sender and ``relance preview`` use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote

# Shown where the file gives no name or address: plainly a placeholder, never a shop's.
PLACEHOLDER_NAME: Final = "Your shop (placeholder: set brand.name)"
PLACEHOLDER_ADDRESS: Final = "Your postal address (placeholder: set brand.address)"


@dataclass(frozen=True, slots=True)
class Colors:
    """Inline CSS colours, ``#rgb`` or ``#rrggbb``."""

    accent: str = "#18181b"  # the button, the shop's name at the top
    background: str = "#f4f4f5"  # around the message
    text: str = "#18181b"


@dataclass(frozen=True, slots=True)
class Links:
    """What the links to the shop carry. UTM parameters (``utm_source``, ``utm_medium``, and
    ``utm_campaign`` the scenario, ``utm_content`` the variant or the step) are added to
    every link to the shop unless it has its own; ``click_tracking`` (off by default) sends
    every such link through the gateway, which records the click and redirects."""

    utm: bool = True
    utm_source: str = "relance"
    utm_medium: str | None = None  # None: the channel, email or sms
    click_tracking: bool = False


@dataclass(frozen=True, slots=True)
class Brand:
    name: str | None = None
    address: str | None = None  # postal, one line or several
    shop_url: str | None = None
    # The shop's page that restores a cart, with ``{cart_id}``: the cart email's button.
    cart_url: str | None = None
    account_url: str | None = None
    support_email: str | None = None
    logo_url: str | None = None
    colors: Colors = field(default_factory=Colors)
    # The language of contacts whose locale is unknown or has no templates.
    default_locale: str = "en"
    # Most cart or order lines an email lists; it says how many more there are.
    max_lines: int = 10
    links: Links = field(default_factory=Links)

    def missing(self) -> list[str]:
        """What a marketing email needs of the section and it does not give."""
        return [
            key
            for key, value in (("brand.name", self.name), ("brand.address", self.address))
            if not value
        ]

    @property
    def shown_name(self) -> str:
        return self.name or PLACEHOLDER_NAME

    @property
    def shown_address(self) -> str:
        return self.address or PLACEHOLDER_ADDRESS

    def cart_link(self, cart_id: object) -> str | None:
        """The shop's page for the cart ``cart_id``, if the section says where it is."""
        if not self.cart_url or not isinstance(cart_id, str) or not cart_id:
            return None
        return self.cart_url.replace("{cart_id}", quote(cart_id, safe=""))


DEFAULT_BRAND: Final = Brand()
