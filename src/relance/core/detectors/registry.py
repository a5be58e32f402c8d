"""The scenario kinds relance knows: each kind's detector.

The order is the order in which detectors see an event, and so the order in which the
journeys they start are kept: reactivation first, then category abandonment before browse
abandonment (category asks browse to record the view it will show), and the profile kinds
last. ``register`` adds a kind (an extension, a test) after the built-in ones; a ``Config``
takes what it needs of the registry when it is made, and refuses a kind it does not know.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from relance.core.detectors import (
    activity,
    birthday,
    browse,
    cart,
    category,
    digest,
    orders,
    price,
    search,
    stock,
    subscription,
    welcome,
)
from relance.core.detectors.base import Detector

BUILT_IN: Final = (
    activity.DETECTOR,
    cart.DETECTOR,
    category.DETECTOR,
    browse.DETECTOR,
    stock.DETECTOR,
    search.DETECTOR,
    price.DETECTOR,
    orders.DETECTOR,
    birthday.DETECTOR,
    subscription.DETECTOR,
    welcome.DETECTOR,
    digest.DETECTOR,
)

_DETECTORS: list[Detector] = []
_BY_KIND: dict[str, Detector] = {}


class UnknownKindError(ValueError):
    """A scenario names a kind no detector implements."""

    def __init__(self, kind: str, scenario: str | None = None) -> None:
        which = "" if scenario is None else f"scenario {scenario!r}: "
        super().__init__(f"{which}{kind!r} is not a kind (known: {', '.join(kinds())})")
        self.kind = kind


def register(detector: Detector) -> None:
    """Add a detector's kinds; a kind may have one detector only."""
    taken = [kind for kind in detector.kinds if kind in _BY_KIND]
    if taken or not detector.kinds:
        raise ValueError(
            f"{type(detector).__name__}: "
            + (f"kind {', '.join(taken)} is taken" if taken else "it has no kind")
        )
    _DETECTORS.append(detector)
    _BY_KIND.update(dict.fromkeys(detector.kinds, detector))


def unregister(detector: Detector) -> None:
    _DETECTORS.remove(detector)
    for kind in detector.kinds:
        del _BY_KIND[kind]


@contextmanager
def registered(detector: Detector) -> Iterator[Detector]:
    """The detector's kinds are known inside the block (a test's own kind)."""
    register(detector)
    try:
        yield detector
    finally:
        unregister(detector)


def detector_for(kind: str, scenario: str | None = None) -> Detector:
    found = _BY_KIND.get(kind)
    if found is None:
        raise UnknownKindError(kind, scenario)
    return found


def family(kind: str) -> str:
    """The family of a kind's marketing scenarios; a kind no detector implements is refused
    later, by its ``Config``."""
    detector = _BY_KIND.get(kind)
    return "recommendations" if detector is None else detector.family


def detectors() -> tuple[Detector, ...]:
    """Every detector, in the order they see an event."""
    return tuple(_DETECTORS)


def kinds() -> list[str]:
    """Every kind, sorted."""
    return sorted(_BY_KIND)


def configurable() -> list[str]:
    """The kinds a scenario file may name, sorted (not the digests relance makes)."""
    return [kind for kind in kinds() if _BY_KIND[kind].not_configured is None]


for _detector in BUILT_IN:
    register(_detector)
