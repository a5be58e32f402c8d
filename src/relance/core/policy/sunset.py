"""The sunset rule: marketing stops for a contact who no longer answers it.

``policy: {sunset: {after_sends: 10}}`` stops it once ten marketing messages went out with
no open or click since; ``{after_days: 90}`` once they have gone out for ninety days with
none (counted from the first of them; a contact never sent marketing is not sunset). An
open or a click starts the count again. Off by default; the reason is ``unengaged``.
"""

from __future__ import annotations

from relance.core.scenarios import Policy
from relance.core.state import ContactState


def unengaged(state: ContactState, policy: Policy, at: int) -> bool:
    """Whether the sunset rule stops marketing to the contact at ``at``."""
    reach = state.reach
    if reach is None or not reach.unanswered:
        return False
    sends, span = policy.sunset_after_sends, policy.sunset_after_ms
    return (sends is not None and reach.unanswered >= sends) or (
        span is not None and at - reach.unanswered_since >= span
    )
