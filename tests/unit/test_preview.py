"""``relance preview``: a scenario's message with sample data, written to files; and the
demo's outbox page, which lists every email caught."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from relance.cli import main
from relance.core.scenarios import CATALOGUE
from relance.demo.outbox_index import OutboxIndex
from relance.sender.links import LinkSigner
from relance.sender.message import build_message
from relance.sender.preview import sample_command
from relance.sender.render import Renderer
from relance.tokens import Key

SHOP = """\
scenarios:
  cart_abandonment: {}
  last_orders: {kind: order_status, statuses: [shipped]}
brand: {name: Trail & Co, address: "12 rue des Lilas, 75011 Paris"}
"""


@pytest.fixture(autouse=True)
def no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("RELANCE_"):
            monkeypatch.delenv(name)


def test_preview_writes_the_html_and_text_parts_and_prints_their_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = tmp_path / "shop.yaml"
    shop.write_text(SHOP)
    out = tmp_path / "preview"
    assert (
        main(
            [
                "preview",
                "cart_abandonment",
                "--locale",
                "fr-CA",
                "--config",
                str(shop),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr()
    html, text = out / "cart_abandonment.fr.html", out / "cart_abandonment.fr.txt"
    assert printed.out.split() == [str(html), str(text)]
    assert "subject (fr): Votre panier vous attend" in printed.err
    page = html.read_text()
    assert "Bonjour Marie," in page and "Trail &amp; Co" in page and "12 rue des Lilas" in page
    assert "https://gateway.example/u/" in page  # a gateway that does not exist
    assert text.read_text().startswith("Subject: Votre panier vous attend\n\nVotre panier")


def test_preview_of_an_sms_a_scenario_of_the_file_and_placeholders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = tmp_path / "shop.yaml"
    shop.write_text(SHOP)
    assert (
        main(
            [
                "preview",
                "last_orders",
                "--config",
                str(shop),
                "--channel",
                "sms",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    (path,) = capsys.readouterr().out.split()
    assert Path(path).read_text() == "Thank you for your order o-1042: €204.30.\n"
    assert main(["preview", "birthday", "--out", str(tmp_path)]) == 0
    assert (
        "brand.name and brand.address not given: the footer shows a placeholder"
        in capsys.readouterr().err
    )
    assert main(["preview", "nothing", "--out", str(tmp_path)]) == 2
    assert "no scenario 'nothing' (known: " in capsys.readouterr().err


def test_the_outbox_page_lists_every_email_with_its_language_and_view(tmp_path: Path) -> None:
    renderer = Renderer(gateway=LinkSigner("https://links.example", Key("k", b"0123456789abcdef")))
    index = OutboxIndex(tmp_path)
    for n, locale in enumerate(("fr-FR", "en-GB")):
        record = sample_command(CATALOGUE["cart_abandonment"], locale=locale)
        message = build_message(
            {**record, "command_id": f"id-{n}"},
            renderer.render(record),
            sender="Shop <shop@shop.example>",
        )
        path = tmp_path / f"2024-{n}.eml"
        path.write_bytes(message.as_bytes())
        index.add(path, message.as_bytes())
    page = (tmp_path / "index.html").read_text()
    assert "Outbox: 2 emails" in page
    assert page.index("You left something") < page.index("Votre panier vous attend")
    assert "<td>fr</td>" in page and "<td>en</td>" in page
    assert '<a href="view/2024-0.html">Votre panier vous attend</a>' in page
    assert "Bonjour Marie," in (tmp_path / "view" / "2024-0.html").read_text()
    assert '<a href="2024-1.eml">.eml</a>' in page
