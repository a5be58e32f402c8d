"""Every template a configuration sends exists for its channel, checked before anything runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from relance.errors import ConfigError
from relance.scenario_file import load_config
from relance.sender.template_files import TemplateFiles

README_EXAMPLE = """\
scenarios:
  cart_abandonment:
    stale_after: 3d
    steps: [{delay: 1h}, {delay: 24h, template: cart_last_call}]
  order_confirmation: {}
"""


def problems(text: str, templates: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(text, "shop.yaml", templates)  # type: ignore[arg-type]  # fakes too
    return [str(p) for p in caught.value.problems]


def write(folder: Path, template: str, *parts: str) -> Path:
    folder.mkdir(exist_ok=True)
    for part in parts:
        (folder / f"{template}.{part}").write_text("Hi\n")
    return folder


class Only:
    """A lookup that has every template but those it is told are missing (for cases the
    shipped set never shows, like a missing default)."""

    where = "the test's templates"

    def __init__(self, *missing: str) -> None:
        self.absent = set(missing)

    def missing(self, template: str, channel: str) -> list[str]:
        return [f"{template}.html"] if template in self.absent else []


def test_a_missing_step_template_is_a_problem_at_its_line() -> None:
    text = README_EXAMPLE.replace("cart_last_call", "cart_final")
    assert problems(text, TemplateFiles()) == [
        "shop.yaml:4: scenarios.cart_abandonment.steps[1].template: template 'cart_final' "
        "(email) needs cart_final.subject.txt, cart_final.html, cart_final.txt: not found in "
        "the shipped templates"
    ]


def test_the_readme_example_passes_with_the_shipped_last_call() -> None:
    config = load_config(README_EXAMPLE, "shop.yaml", TemplateFiles())
    assert [s.template for s in config.get("cart_abandonment").steps] == [  # type: ignore[union-attr]
        "cart_abandonment",
        "cart_last_call",
    ]


def test_the_template_folder_is_looked_in_before_the_shipped_set(tmp_path: Path) -> None:
    text = (
        "scenarios:\n  refund_notice:\n    kind: order_status\n    statuses: [refunded]\n"
        "    template: refund_notice\n"
    )
    folder = write(tmp_path / "mine", "refund_notice", "subject.txt", "html", "txt")
    assert load_config(text, "shop.yaml", TemplateFiles(folder)).get("refund_notice")
    assert problems(text, TemplateFiles()) == [
        "shop.yaml:5: scenarios.refund_notice.template: template 'refund_notice' (email) needs "
        "refund_notice.subject.txt, refund_notice.html, refund_notice.txt: not found in the "
        "shipped templates"
    ]


def test_an_sms_scenario_needs_the_sms_text(tmp_path: Path) -> None:
    folder = write(tmp_path / "mine", "refund_notice", "subject.txt", "html", "txt")
    text = (
        "scenarios:\n  refund_notice:\n    kind: order_status\n    statuses: [refunded]\n"
        "    channel: sms\n    template: refund_notice\n"
    )
    assert problems(text, TemplateFiles(folder)) == [
        f"shop.yaml:6: scenarios.refund_notice.template: template 'refund_notice' (sms) needs "
        f"refund_notice.sms.txt: not found in the template folder {folder} nor the shipped "
        "templates"
    ]
    write(folder, "refund_notice", "sms.txt")
    assert load_config(text, "shop.yaml", TemplateFiles(folder)).get("refund_notice")


def test_variants_welcome_branches_and_digests_are_checked_where_they_are_named() -> None:
    text = """\
scenarios:
  cart_abandonment:
    experiment: {variants: {a: {template: cart_a}, b: {}}}
  welcome:
    otherwise: {template: welcome_late}
  shipping_update: {digest: daily}
  review_request: {}
"""
    assert problems(text, Only("cart_a", "welcome_late", "digest", "review_request")) == [
        "shop.yaml:3: scenarios.cart_abandonment.experiment.variants.a.template: template "
        "'cart_a' (email) needs cart_a.html: not found in the test's templates",
        "shop.yaml:5: scenarios.welcome.otherwise.template: template 'welcome_late' (email) "
        "needs welcome_late.html: not found in the test's templates",
        "shop.yaml:7: scenarios.review_request.template: template 'review_request' (email) "
        "needs review_request.html: not found in the test's templates",
        "shop.yaml:6: scenarios.shipping_update.digest: template 'digest' (email) needs "
        "digest.html: not found in the test's templates",
    ]


def test_a_scenario_turned_off_needs_no_template() -> None:
    text = (
        "scenarios:\n  cart_abandonment: {enabled: false, template: gone}\n"
        "  browse_abandonment: {}\n"
    )
    assert load_config(text, "shop.yaml", TemplateFiles()).get("cart_abandonment") is None


def relance(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relance", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **env},
    )


def test_check_config_looks_in_the_templates_option_or_the_setting(tmp_path: Path) -> None:
    shop = tmp_path / "shop.yaml"
    shop.write_text("scenarios:\n  cart_abandonment: {template: mine}\n")
    failed = relance("check-config", str(shop))
    assert failed.returncode == 2
    assert (
        f"relance: {shop}:2: scenarios.cart_abandonment.template: template 'mine'" in failed.stderr
    )
    folder = write(tmp_path / "templates", "mine", "subject.txt", "html", "txt")
    assert relance("check-config", str(shop), "--templates", str(folder)).returncode == 0
    assert relance("check-config", str(shop), RELANCE_TEMPLATE_DIR=str(folder)).returncode == 0
    nowhere = relance("check-config", str(shop), "--templates", str(tmp_path / "nowhere"))
    assert nowhere.returncode == 2
    assert f"relance: --templates: {tmp_path / 'nowhere'} is not a folder" in nowhere.stderr


@pytest.mark.parametrize("kind", ["worker", "sender"])
def test_worker_and_sender_stop_at_start_on_a_missing_template(kind: str, tmp_path: Path) -> None:
    shop = tmp_path / "shop.yaml"
    shop.write_text("scenarios:\n  cart_abandonment: {template: mine}\n")
    # No broker is needed: the configuration is read before anything connects.
    started = relance(kind, RELANCE_SCENARIOS=str(shop), RELANCE_BROKER="kafka://127.0.0.1:9")
    assert started.returncode == 2
    assert (
        f"{shop}:2: scenarios.cart_abandonment.template: template 'mine' (email)" in started.stderr
    )


def test_a_language_folder_with_part_of_a_template_is_a_problem(tmp_path: Path) -> None:
    folder = write(tmp_path / "mine", "refund_notice", "subject.txt", "html", "txt")
    write(folder / "fr", "refund_notice", "html")  # a French body under an English subject
    text = (
        "scenarios:\n  refund_notice:\n    kind: order_status\n    statuses: [refunded]\n"
        "    template: refund_notice\n"
    )
    assert problems(text, TemplateFiles(folder)) == [
        f"shop.yaml:5: scenarios.refund_notice.template: template 'refund_notice' (email) needs "
        f"fr/refund_notice.subject.txt, fr/refund_notice.txt: not found in the template folder "
        f"{folder} nor the shipped templates"
    ]
    write(folder / "fr", "refund_notice", "subject.txt", "txt")
    assert load_config(text, "shop.yaml", TemplateFiles(folder)).get("refund_notice")


def test_a_template_in_a_language_folder_only_needs_its_root_files(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    write(folder / "de", "refund_notice", "subject.txt", "html", "txt")
    # The root is every language's fallback: without it a French contact has nothing.
    assert TemplateFiles(folder).missing("refund_notice", "email") == [
        "refund_notice.subject.txt",
        "refund_notice.html",
        "refund_notice.txt",
    ]
    assert TemplateFiles(folder).languages == ("de", "fr")


def test_a_shipped_language_override_counts_as_complete(tmp_path: Path) -> None:
    # One French file of a shipped template in the folder: the other French files are shipped.
    (tmp_path / "mine").mkdir()
    folder = write(tmp_path / "mine" / "fr", "cart_abandonment", "subject.txt").parent
    assert TemplateFiles(folder).missing("cart_abandonment", "email") == []
    assert TemplateFiles().missing("cart_abandonment", "sms") == []
