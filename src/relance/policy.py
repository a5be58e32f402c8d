"""Contact policy: the one place a candidate becomes a send command or a suppression.

Checks run in this order, and the first that fails names the reason: a known address (an
email address, or a phone number for the sms channel); no unsubscribe, hard bounce or spam
complaint on the channel (from the engagement topic); marketing consent; the scenario's
quiet period; last, an experiment's holdout. A transactional scenario (an order
confirmation) needs only the address. The quiet period holds back a scenario's first step;
the later steps of a journey already under way are its own follow-ups.
"""

from __future__ import annotations

from relance.commands import Candidate, Outcome, Recipient, SendCommand, Suppression, command_id
from relance.scenarios import Scenario
from relance.state import ContactState


def decide(state: ContactState, candidate: Candidate,
           scenario: Scenario) -> tuple[ContactState, Outcome]:
    cid = command_id(state.contact_id, candidate.scenario, candidate.instance, candidate.step)
    at = candidate.due_at
    profile = state.profile
    if not (profile.phone if scenario.channel == "sms" else profile.email):
        return state, Suppression(cid, state.contact_id, candidate.scenario, "no_address", at,
                                  candidate.step)
    if not scenario.transactional:
        blocked = profile.blocked_on(scenario.channel)
        if blocked is not None:
            return state, Suppression(cid, state.contact_id, candidate.scenario,
                                      blocked,  # type: ignore[arg-type]  # one of _BLOCKS
                                      at, candidate.step)
        if profile.marketing_opt_in is not True:
            return state, Suppression(cid, state.contact_id, candidate.scenario, "no_consent",
                                      at, candidate.step)
        last = state.sent_at(candidate.scenario)
        if candidate.step == 1 and last is not None and at - last < scenario.quiet_period_ms:
            return state, Suppression(cid, state.contact_id, candidate.scenario, "quiet_period",
                                      at, candidate.step)
    variant: str | None = None
    template = scenario.steps[min(candidate.step, len(scenario.steps)) - 1].template
    if scenario.experiment is not None:
        assigned = scenario.experiment.assign(state.contact_id, candidate.scenario)
        if assigned is None:  # held out: decided, recorded, not sent
            return state, Suppression(cid, state.contact_id, candidate.scenario, "holdout", at,
                                      candidate.step)
        variant = assigned.name
        if assigned.template is not None and candidate.step == 1:
            template = assigned.template
    command = SendCommand(
        command_id=cid,
        contact_id=state.contact_id,
        scenario=candidate.scenario,
        step=candidate.step,
        channel=scenario.channel,
        template=template,
        priority=scenario.priority,
        decided_at=at,
        recipient=Recipient(profile.email, profile.locale, profile.timezone, profile.phone),
        payload=candidate.payload,
        variant=variant,
    )
    return state._replace(last_sent=state.with_sent(candidate.scenario, at)), command
