"""Event time across inputs: the slowest unread input holds deadlines back."""

from __future__ import annotations

from relance.worker.watermark import Watermarks

TOPICS = ("views", "carts", "orders")


def test_waits_for_an_input_that_has_unread_messages_but_told_nothing_yet() -> None:
    marks = Watermarks(TOPICS)
    marks.observe("views", 0, 500)
    marks.observe("carts", 0, 400)
    lagging = {"orders"}
    assert marks.time(0, caught_up=lambda t, p: t not in lagging, wall_now=1000) is None


def test_the_least_input_time_while_reading_history() -> None:
    marks = Watermarks(TOPICS)
    for topic, at in (("views", 500), ("carts", 400), ("orders", 300), ("orders", 350)):
        marks.observe(topic, 0, at)
    assert marks.time(0, caught_up=lambda t, p: False, wall_now=10_000) == 350


def test_a_caught_up_input_follows_the_wall_clock() -> None:
    marks = Watermarks(TOPICS)
    marks.observe("views", 0, 500)
    marks.observe("orders", 0, 300)
    assert marks.time(0, caught_up=lambda t, p: t != "views", wall_now=10_000) == 500
    assert marks.time(0, caught_up=lambda t, p: True, wall_now=10_000) == 10_000


def test_event_time_ahead_of_the_wall_clock_is_kept() -> None:
    marks = Watermarks(TOPICS)
    for topic in TOPICS:
        marks.observe(topic, 0, 20_000)
    assert marks.time(0, caught_up=lambda t, p: True, wall_now=10_000) == 20_000


def test_time_never_goes_back_and_shards_are_separate() -> None:
    marks = Watermarks(["views"])
    marks.observe("views", 0, 500)
    marks.observe("views", 0, 100)
    marks.observe("views", 1, 50)
    assert marks.time(0, caught_up=lambda t, p: False, wall_now=0) == 500
    assert marks.time(1, caught_up=lambda t, p: False, wall_now=0) == 50
    marks.forget(0)
    assert marks.time(0, caught_up=lambda t, p: False, wall_now=0) is None
