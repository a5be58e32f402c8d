"""``relance simulate`` as a user runs it: files, stdin, gzip, --until, --strict, bad config."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from msgspec.structs import replace

from relance.codec.json import encode

from .timeline import cart, profile, view

GOOD = [profile(), cart(0), view(5, "p9", contact="c2")]
LINES = b"".join(encode(e) + b"\n" for e in GOOD)


def relance(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "relance", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_commands_as_json_lines_with_the_documented_fields(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(LINES)
    result = relance("simulate", "--events", str(events), "--until", "2024-05-02T00:00:00Z")
    assert result.returncode == 0, result.stderr
    (command,) = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert {
        "command_id",
        "contact_id",
        "scenario",
        "channel",
        "template",
        "decided_at",
        "payload",
    } <= command.keys()
    assert command["decided_at"] == "2024-05-01T11:00:00.000Z"
    assert command["contact_id"] == "c1" and command["scenario"] == "cart_abandonment"
    err = result.stderr.decode()
    assert "events read: 3, invalid lines: 0" in err
    assert "commands: cart_abandonment=1" in err
    assert "suppressed: no_address=1 (browse_abandonment=1)" in err
    assert "events/s" in err


def test_clock_stops_at_the_last_event_without_until(tmp_path: Path) -> None:
    result = relance("simulate", "--events", "-", stdin=LINES)
    assert result.returncode == 0 and result.stdout == b""


def test_gzip_input_and_out_file(tmp_path: Path) -> None:
    events, out = tmp_path / "events.jsonl.gz", tmp_path / "commands.jsonl"
    events.write_bytes(gzip.compress(LINES))
    result = relance(
        "simulate", "--events", str(events), "--out", str(out), "--until", "1714600000000"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"" and len(out.read_bytes().splitlines()) == 1


def test_invalid_lines_are_reported_with_their_number_and_skipped() -> None:
    stdin = encode(profile()) + b"\n{oops\n\n" + encode(cart(0)) + b'\n{"type":"cart"}\n'
    result = relance("simulate", "--events", "-", "--until", "1714600000000", stdin=stdin)
    assert result.returncode == 0
    err = result.stderr.decode()
    assert "-:2: not_json: not valid JSON" in err
    assert "-:5: missing_field: event_id is required" in err
    assert "invalid lines: 2" in err
    assert len(result.stdout.splitlines()) == 1


def test_strict_fails_with_exit_code_2_at_the_first_invalid_line() -> None:
    stdin = encode(profile()) + b'\n{"type":"cart"}\n' + encode(cart(0)) + b"\n"
    result = relance("simulate", "--events", "-", "--strict", stdin=stdin)
    assert result.returncode == 2
    assert "-:2: missing_field: event_id is required" in result.stderr.decode()


def test_bad_config_fails_at_start_naming_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "shop.yaml"
    config.write_text("scenarios:\n  cart_abandonment:\n    delay: soon\n")
    result = relance("simulate", "--events", "-", "--config", str(config), stdin=LINES)
    assert result.returncode == 2
    assert result.stdout == b""
    assert f"{config}:3: scenarios.cart_abandonment.delay: 'soon' is not a duration" in (
        result.stderr.decode()
    )


def test_config_changes_the_decisions(tmp_path: Path) -> None:
    config = tmp_path / "shop.yaml"
    config.write_text("scenarios:\n  cart_abandonment: {delay: 30m, template: my_cart}\n")
    result = relance(
        "simulate",
        "--events",
        "-",
        "--config",
        str(config),
        "--until",
        "2024-05-01T10:30:00Z",
        stdin=LINES,
    )
    (command,) = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert command["template"] == "my_cart" and command["decided_at"].startswith("2024-05-01T10:30")


@pytest.mark.parametrize("args", [["check-config"], ["simulate"], ["nonsense"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert relance(*args).returncode == 2


def traffic_file(tmp_path: Path, bad_lines: dict[int, bytes] | None = None) -> Path:
    from relance.demo.samples.traffic import generate

    lines = [encode(e) + b"\n" for e in generate(300, seed=5)]
    for number, raw in sorted((bad_lines or {}).items()):
        lines.insert(number - 1, raw)
    path = tmp_path / "traffic.jsonl"
    path.write_bytes(b"".join(lines))
    return path


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_workers_decide_exactly_what_one_worker_decides(tmp_path: Path, compressed: bool) -> None:
    path = traffic_file(tmp_path, {40: b"{broken\n", 900: b'{"type":"cart","contact_id":"x"}\n'})
    path.write_bytes(path.read_bytes().rstrip(b"\n"))  # the last line without its newline
    if compressed:
        path = path.rename(path.with_suffix(".jsonl.gz"))
        path.write_bytes(gzip.compress(path.read_bytes()))
    runs = {
        n: relance(
            "simulate",
            "--events",
            str(path),
            "--workers",
            str(n),
            "--until",
            "2024-06-01T00:00:00Z",
        )
        for n in (1, 2, 3)
    }
    assert all(r.returncode == 0 for r in runs.values())
    assert runs[1].stdout.count(b"\n") > 50
    assert runs[1].stdout == runs[2].stdout == runs[3].stdout
    first = runs[1].stderr.decode().splitlines()
    for n in (2, 3):
        other = runs[n].stderr.decode().splitlines()
        assert first[:2] == other[:2]  # the two invalid lines, in line order
        assert first[-2:] == other[-2:]  # commands and suppressions
    assert first[0].startswith(f"{path}:40: not_json")
    assert first[1].startswith(f"{path}:900: missing_field")


def test_strict_with_workers_names_the_first_invalid_line(tmp_path: Path) -> None:
    path = traffic_file(tmp_path, {700: b'{"type":"cart","contact_id":"x"}\n', 1200: b"nope\n"})
    result = relance("simulate", "--events", str(path), "--workers", "2", "--strict")
    assert result.returncode == 2
    assert f"{path}:700: missing_field" in result.stderr.decode()


def test_catalog_lines_reach_every_worker_and_back_in_stock_is_decided(tmp_path: Path) -> None:
    from relance.codec import catalog as catalog_codec
    from relance.core.events import CatalogUpdate, PageView, Product
    from relance.demo.samples.traffic import generate

    events = generate(300, seed=5)
    sold_out = {f"sku-{n}" for n in range(10)}

    def shown(event: Any) -> Any:
        if isinstance(event, PageView) and event.product and event.product.id in sold_out:
            return replace(event, product=replace(event.product, in_stock=False))
        return event

    middle = events[len(events) // 2].occurred_at
    lines = [encode(shown(e)) + b"\n" for e in events]
    restocks = [
        catalog_codec.encode_json(
            CatalogUpdate(
                f"r-{pid}",
                middle,
                Product(pid, name=f"Restocked {pid}", price=1.0, currency="EUR", in_stock=True),
            )
        )
        + b"\n"
        for pid in sorted(sold_out)
    ]
    # A catalog record is every worker's even when it names a contact; an invalid one that
    # has a contact and a time still moves every worker's clock.
    restocks[0] = restocks[0].replace(
        b'{"type":"product",', b'{"type":"product","contact_id":"contact-1",'
    )
    invalid = (
        b'{"type":"product","contact_id":"contact-2","occurred_at":'
        + str(middle + 1).encode()
        + b"}\n"
    )
    lines[len(lines) // 2 : len(lines) // 2] = [*restocks, invalid]
    path = tmp_path / "traffic.jsonl"
    path.write_bytes(b"".join(lines))
    config = tmp_path / "stock.yaml"
    config.write_text("scenarios:\n  back_in_stock: {}\n  cart_abandonment: {}\n")
    runs = {
        n: relance(
            "simulate",
            "--events",
            str(path),
            "--workers",
            str(n),
            "--config",
            str(config),
            "--until",
            "2024-06-01T00:00:00Z",
        )
        for n in (1, 2)
    }
    assert runs[1].returncode == 0 and runs[1].stdout == runs[2].stdout
    decided = [orjson.loads(line) for line in runs[1].stdout.splitlines()]
    restocked = [c for c in decided if c["scenario"] == "back_in_stock"]
    assert restocked and all(
        c["payload"]["product"]["name"].startswith("Restocked") for c in restocked
    )
    for run in runs.values():
        assert f"events read: {len(lines) - 1}, invalid lines: 1" in run.stderr.decode()
    one, two = (run.stderr.decode().splitlines() for run in (runs[1], runs[2]))
    assert one[0] == two[0] and "invalid lines: 1" in one[1]  # the same line reported
    assert one[2:] == two[2:]  # commands and suppressions


def test_the_small_catalogue_case_in_the_readme() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    result = relance(
        "simulate",
        "--events",
        str(examples / "catalogue-small.jsonl"),
        "--config",
        str(examples / "catalogue.yaml"),
        "--until",
        "2024-05-04T00:00:00Z",
    )
    assert result.returncode == 0
    summary = result.stderr.decode().splitlines()
    assert summary[-2] == (
        "relance simulate: commands: back_in_stock=1, birthday=1, "
        "browse_abandonment=1, cart_abandonment=2, order_confirmation=2, "
        "search_abandonment=1, welcome=5"
    )
    assert summary[-1] == "relance simulate: suppressed: no_consent=1 (search_abandonment=1)"
    assert summary[-3] == "relance simulate: attributed orders: welcome=1 (EUR 89.90)"
    decided = {
        (r["contact_id"], r["scenario"], r["step"]): r["decided_at"]
        for r in map(orjson.loads, result.stdout.splitlines())
    }
    assert decided["dan", "birthday", 1] == "2024-05-03T00:00:00.000Z"
    assert decided["ann", "cart_abandonment", 2] == "2024-05-02T10:00:00.000Z"
    assert decided["bob", "welcome", 2] == "2024-05-02T10:30:00.000Z"


def test_a_generated_month_decides_every_scenario_of_the_example_file(tmp_path: Path) -> None:
    month = subprocess.run(
        [sys.executable, "-m", "relance.demo.samples.month", "--contacts", "300", "--days", "30"],
        capture_output=True,
        check=True,
        timeout=120,
    )
    path = tmp_path / "month.jsonl"
    path.write_bytes(month.stdout)
    examples = Path(__file__).resolve().parents[2] / "examples"
    result = relance(
        "simulate", "--events", str(path), "--config", str(examples / "catalogue.yaml")
    )
    counts = result.stderr.decode().splitlines()[-2].split(": ", 2)[2]
    decided = {part.split("=")[0] for part in counts.split(", ")}
    assert decided == {
        "back_in_stock",
        "birthday",
        "browse_abandonment",
        "cart_abandonment",
        "cross_sell",
        "category_abandonment",
        "delivery_update",
        "order_confirmation",
        "price_drop",
        "reactivation",
        "review_request",
        "search_abandonment",
        "shipping_update",
        "welcome",
    }


def test_explain_prints_every_decision_with_its_reason() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    result = relance(
        "simulate",
        "--events",
        str(examples / "catalogue-small.jsonl"),
        "--config",
        str(examples / "catalogue.yaml"),
        "--until",
        "2024-05-04T00:00:00Z",
        "--explain",
    )
    decisions = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert len(decisions) == 15  # 13 commands, one suppression, one order attributed
    assert {d["outcome"] for d in decisions} == {"sent", "suppressed", "attributed"}
    (order,) = [d for d in decisions if d["outcome"] == "attributed"]
    welcome = next(
        d
        for d in decisions
        if d["outcome"] == "sent"
        and (d["contact_id"], d["scenario"], d["step"]) == ("bob", "welcome", 1)
    )
    assert (order["order_id"], order["command_id"], order["touch"]) == (
        "o-1",
        welcome["command_id"],
        "sent",
    )
    decisions.remove(order)
    (held,) = [d for d in decisions if d["outcome"] == "suppressed"]
    assert (held["contact_id"], held["scenario"], held["reason"]) == (
        "cy",
        "search_abandonment",
        "no_consent",
    )
    assert all(
        d["reason"] is None and d["channel"] == "email" for d in decisions if d["outcome"] == "sent"
    )


FAR_AHEAD = (
    b'{"type":"page_view","event_id":"x9","contact_id":"c3",'
    b'"occurred_at":"9999-12-31T00:00:00Z","page_type":"home"}\n'
)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_event_far_ahead_of_now_is_refused_and_moves_no_clock(
    tmp_path: Path, workers: str
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(LINES + FAR_AHEAD)
    result = relance("simulate", "--events", str(events), "--workers", workers)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""  # the cart reminder (due 11:00) never came due
    err = result.stderr.decode()
    assert (
        f"{events}:4: bad_value: occurred_at 9999-12-31T00:00:00.000Z is more than 1h "
        "ahead of now (--now)" in err
    )
    assert "events read: 3, invalid lines: 1" in err


def test_now_pins_the_present_the_events_are_checked_against() -> None:
    later = encode(view(150, contact="c3")) + b"\n"  # 12:30, two and a half hours after 10:00
    args = ["simulate", "--events", "-", "--now", "2024-05-01T10:00:00Z"]
    refused = relance(*args, stdin=LINES + later)
    assert (
        "-:4: bad_value: occurred_at 2024-05-01T12:30:00.000Z is more than 1h ahead of "
        "now (--now) (2024-05-01T10:00:00.000Z)" in refused.stderr.decode()
    )
    assert refused.stdout == b""
    skewed = relance(*args, "--max-clock-skew", "10800", stdin=LINES + later)
    assert "invalid lines: 0" in skewed.stderr.decode()
    assert len(skewed.stdout.splitlines()) == 1  # the cart reminder of 11:00
    assert relance(*args, "--max-clock-skew", "0", stdin=LINES).returncode == 2


def test_the_default_clock_skew_is_the_workers() -> None:
    from relance.cli import _DEFAULT_SKEW
    from relance.settings import Settings

    assert Settings.model_fields["max_clock_skew"].default == _DEFAULT_SKEW


def test_a_catalog_update_far_ahead_of_now_is_refused_and_answers_no_one() -> None:
    from relance.codec import catalog as catalog_codec
    from relance.core.events import CatalogUpdate, PageView, Product
    from relance.core.timestamps import parse_iso
    from relance.offline.simulate import Horizon, replay_shard
    from relance.scenario_file import load_config

    config = load_config("scenarios:\n  back_in_stock: {}\n")
    seen = PageView(
        "v1", "c1", parse_iso("2024-05-01T10:00:00Z"), "product", Product("sku-1", in_stock=False)
    )
    lines = [encode(profile()), encode(seen)] + [
        catalog_codec.encode_json(
            CatalogUpdate(f"u-{at}", parse_iso(at), Product("sku-1", in_stock=True))
        )
        for at in ("9999-01-01T00:00:00Z", "2024-05-01T12:00:00Z")
    ]
    result = replay_shard(
        lines, config, horizon=Horizon(parse_iso("2024-05-01T13:00:00Z"), 3_600_000)
    )
    ((number, error),) = result.invalid
    assert (number, error.reason) == (3, "bad_value")
    assert error.detail.startswith("occurred_at 9999-01-01T00:00:00.000Z is more than 1h")
    # The restock of 12:00 still answers the watch: the catalog did not keep year 9999.
    assert [line for _, _, line in result.commands if b"back_in_stock" in line]


def test_the_workers_finish_before_the_pool_is_torn_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pool's exit terminates its workers; one killed while it holds the task queue's lock
    left the other blocked and simulate hung at exit. The workers must have ended by then."""
    import multiprocessing.pool

    from relance.core.scenarios import DEFAULT_CONFIG
    from relance.offline.simulate import simulate

    alive_at_terminate: list[int] = []
    terminate = multiprocessing.pool.Pool.terminate

    def watched(pool: Any) -> None:
        alive_at_terminate.extend(p.pid for p in pool._pool if p.is_alive())
        terminate(pool)

    monkeypatch.setattr(multiprocessing.pool.Pool, "terminate", watched)
    path = traffic_file(tmp_path, {})
    with (tmp_path / "out.jsonl").open("wb") as out:
        simulate(str(path), DEFAULT_CONFIG, out, workers=2)
    assert alive_at_terminate == []
