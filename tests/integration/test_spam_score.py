"""Every shipped marketing template, in each shipped language, scores low with SpamAssassin's
local rules (``spamassassin -t -L``: no network tests), as a complete message: headers,
both parts, the footer, the unsubscribe headers. `make tools` (scripts/install-tools) installs
it.

The threshold is 2.0, well under SpamAssassin's 5.0 for spam: a template that drifts toward
it (capitals, a lone image, a link whose text is another URL, a missing text part) fails
here before it ships."""

from __future__ import annotations

import mailbox
import shutil
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest

from relance.core.scenarios import CATALOGUE, Scenario, Step
from relance.scenario_file import load_brand
from relance.sender.links import LinkSigner
from relance.sender.message import COMMAND_ID_HEADER, build_message
from relance.sender.preview import sample_command
from relance.sender.render import Renderer
from relance.sender.template_files import SHIPPED_TEMPLATES
from relance.tokens import Key

pytestmark = pytest.mark.integration

THRESHOLD = 2.0
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
LANGUAGES = ("en-GB", "fr-FR")
BRAND = load_brand("""\
scenarios: {cart_abandonment: {}}
brand:
  name: Trail & Co
  address: "12 rue des Lilas, 75011 Paris, France"
  shop_url: https://shop.example/
  cart_url: https://shop.example/cart/restore/{cart_id}
  account_url: https://shop.example/account
  support_email: aide@shop.example
""")


def marketing_templates() -> list[tuple[Scenario, int]]:
    """(scenario, step) of every shipped template a marketing scenario sends, the second
    cart reminder included (it is sent only when a file asks for it)."""
    found = [
        (s, n) for s in CATALOGUE.values() if s.is_marketing for n in range(1, len(s.steps) + 1)
    ]
    cart = CATALOGUE["cart_abandonment"]
    last_call = Scenario(
        cart.name,
        cart.kind,
        (cart.steps[0], Step(1, "cart_last_call")),
        cart.quiet_period_ms,
        cart.priority,
        cart.channel,
    )
    digest = Scenario(
        "digest_daily",
        "digest",
        (Step(0, "digest"),),
        0,
        1,
        "email",
        transactional=True,
        marketing=True,
    )
    return [*found, (last_call, 2), (digest, 1)]


def test_every_shipped_marketing_template_scores_low_in_every_language(tmp_path: Path) -> None:
    assert shutil.which("spamassassin"), "spamassassin: run make tools (scripts/install-tools)"
    renderer = Renderer(
        brand=BRAND,
        gateway=LinkSigner("https://links.shop.example", Key("k1", b"0123456789abcdef")),
    )
    box = mailbox.mbox(tmp_path / "messages.mbox")
    names = []
    for scenario, step in marketing_templates():
        for locale in LANGUAGES:
            record = sample_command(scenario, step=step, locale=locale)
            name = f"{record['template']}.{locale[:2]}"
            record = {**record, "command_id": name}
            message = build_message(
                record, renderer.render(record), sender="Trail & Co <bonjour@shop.example>"
            )
            message.set_unixfrom("From bonjour@shop.example Wed May  1 11:00:00 2024")
            box.add(message)
            names.append(name)
    # A message SpamAssassin must score as spam (its GTUBE test string): the scores read are
    # real ones, not a run that read nothing.
    spam = EmailMessage()
    spam["From"], spam["To"], spam["Subject"] = "a@shop.example", "b@example.com", "Hi"
    spam[COMMAND_ID_HEADER] = "gtube"
    spam.set_content(GTUBE)
    spam.set_unixfrom("From bonjour@shop.example Wed May  1 11:00:00 2024")
    box.add(spam)
    box.flush()
    assert {n.split(".")[0] for n in names} == {
        p.name.split(".")[0] for p in SHIPPED_TEMPLATES.glob("*.html") if not p.name.startswith("_")
    } - {
        "order_confirmation",
        "shipping_update",
        "delivery_update",
        "order_cancellation",
        "subscription_expiry",
    }
    # One run for all of them: most of SpamAssassin's time is reading its rules.
    with (tmp_path / "messages.mbox").open("rb") as messages:
        checked = subprocess.run(
            ["spamassassin", "-t", "-L", "--mbox"],
            stdin=messages,
            capture_output=True,
            timeout=300,
            check=True,
        )
    (tmp_path / "checked.mbox").write_bytes(checked.stdout)
    scores = {}
    for message in mailbox.mbox(tmp_path / "checked.mbox"):
        status = " ".join(str(message["X-Spam-Status"]).split())
        score = float(status.split("score=", 1)[1].split()[0])
        # SpamAssassin wraps a spam in a report of its own, the original attached.
        name = message[COMMAND_ID_HEADER] or ("gtube" if "GTUBE" in status else "?")
        scores[str(name)] = (score, status.split("tests=", 1)[1])
    assert scores.pop("gtube")[0] >= 5.0
    assert sorted(scores) == sorted(names)
    print("\nSpamAssassin (spamassassin -t -L), score and rules hit:")
    for name, (score, tests) in sorted(scores.items()):
        print(f"  {name:28} {score:5.1f}  {tests}")
    high = {name: found for name, found in scores.items() if found[0] >= THRESHOLD}
    assert not high, high
