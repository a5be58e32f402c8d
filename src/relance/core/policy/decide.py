"""Contact policy: the one place a candidate becomes a send command or a suppression.

Checks run in this order, and the first that fails names the reason: a known address (an
email address, or a phone number for the sms channel); no unsubscribe (from the channel's
marketing or the scenario's family), hard bounce or spam complaint on the channel (from the
engagement topic); marketing consent; the sunset rule (``sunset``: no open or click in
the last so many marketing messages or days); the scenario's quiet period; last, an
experiment's holdout. A transactional scenario (an order confirmation) needs only the
address. The quiet period holds back a scenario's first step; the later steps of a journey
already under way are its own follow-ups.
"""

from __future__ import annotations

from relance.core.commands import (
    Candidate,
    Deferral,
    Outcome,
    Recipient,
    SendCommand,
    Suppression,
    SuppressionReason,
)
from relance.core.policy.pacing import KEPT_MS, SENDS_KEPT, cap_until, quiet_until
from relance.core.policy.sunset import unengaged
from relance.core.scenarios import Policy, Scenario
from relance.core.state import ContactState


def decide(
    state: ContactState,
    candidate: Candidate,
    scenario: Scenario,
    policy: Policy,
    cid: str,
    started_at: int,
) -> tuple[ContactState, Outcome]:
    """``cid``: the candidate's command id, which the caller has derived already;
    ``started_at``: when its journey started, from which ``stale_after`` counts."""
    at = candidate.due_at
    profile = state.profile
    if not (profile.phone if scenario.channel == "sms" else profile.email):
        return state, Suppression(
            cid, state.contact_id, candidate.scenario, "no_address", at, candidate.step
        )
    if not scenario.transactional:
        held = _refused(state, candidate, scenario, policy, cid) or _paced(
            state, candidate, scenario, policy, cid
        )
        if held is not None:
            return state, held
    variant: str | None = None
    template = scenario.steps[min(candidate.step, len(scenario.steps)) - 1].template
    if scenario.experiment is not None:
        assigned = scenario.experiment.assign(state.contact_id, candidate.scenario)
        if assigned is None:  # held out: decided, recorded, not sent
            return state, Suppression(
                cid, state.contact_id, candidate.scenario, "holdout", at, candidate.step
            )
        variant = assigned.name
        if assigned.template is not None and candidate.step == 1:
            template = assigned.template
    command = _command(state, candidate, scenario, cid, started_at, template, variant)
    state = state._replace(last_sent=state.with_sent(candidate.scenario, at))
    if not scenario.transactional and scenario.channel in policy.caps:
        state = state._replace(
            sends=(*(s for s in state.sends if at - s[1] < KEPT_MS), (scenario.channel, at))[
                -SENDS_KEPT:
            ]
        )
    return state, command


def _command(
    state: ContactState,
    candidate: Candidate,
    scenario: Scenario,
    cid: str,
    started_at: int,
    template: str,
    variant: str | None,
) -> SendCommand:
    profile = state.profile
    return SendCommand(
        command_id=cid,
        contact_id=state.contact_id,
        scenario=candidate.scenario,
        step=candidate.step,
        channel=scenario.channel,
        template=template,
        priority=scenario.priority,
        decided_at=candidate.due_at,
        recipient=Recipient(
            profile.email,
            profile.locale,
            profile.timezone,
            profile.phone,
            profile.first_name,
            dict(profile.attributes) if profile.attributes else None,
        ),
        payload=candidate.payload,
        variant=variant,
        expires_at=(
            None if scenario.stale_after_ms is None else started_at + scenario.stale_after_ms
        ),
        marketing=scenario.is_marketing,
    )


def _refused(
    state: ContactState, candidate: Candidate, scenario: Scenario, policy: Policy, cid: str
) -> Suppression | None:
    """A marketing candidate's checks before pacing: unsubscribes and the like, consent,
    the sunset rule, the quiet period; ``None`` when they pass."""
    at, profile = candidate.due_at, state.profile
    reason: SuppressionReason | None = None
    blocked = profile.blocked_on(scenario.channel, scenario.family)
    if blocked is not None:
        reason = blocked  # type: ignore[assignment]  # one of state._BLOCKS' reasons
    elif not profile.consents(scenario.channel):
        reason = "no_consent"
    elif policy.sunsets and unengaged(state, policy, at):
        reason = "unengaged"
    else:
        last = state.sent_at(candidate.scenario)
        if candidate.step == 1 and last is not None and at - last < scenario.quiet_period_ms:
            reason = "quiet_period"
    return (
        None
        if reason is None
        else Suppression(cid, state.contact_id, candidate.scenario, reason, at, candidate.step)
    )


def _paced(
    state: ContactState, candidate: Candidate, scenario: Scenario, policy: Policy, cid: str
) -> Outcome | None:
    """Frequency caps (deferred or dropped, as the scenario says), then quiet hours
    (deferred): ``None`` when the message may go now."""
    at, channel, zone = candidate.due_at, scenario.channel, state.profile.timezone
    if channel in policy.caps:
        per_day, per_week = policy.caps[channel]
        sends = tuple(t for c, t in state.sends if c == channel)
        until = cap_until(sends, at, zone, per_day, per_week)
        if until is not None:
            if scenario.on_hold != "defer":
                return Suppression(
                    cid, state.contact_id, candidate.scenario, "frequency_cap", at, candidate.step
                )
            return Deferral(
                cid,
                state.contact_id,
                candidate.scenario,
                "frequency_cap",
                at,
                quiet_until(until, zone, policy.quiet_hours.get(channel)) or until,
                candidate.step,
            )
    until = quiet_until(at, zone, policy.quiet_hours.get(channel))
    if until is not None:
        return Deferral(
            cid, state.contact_id, candidate.scenario, "quiet_hours", at, until, candidate.step
        )
    return None
