"""Every button of the product, known to one parser: imports each topic's ``actions`` module so that
:func:`parse` recognises all prefixes (the codec itself is :mod:`services.platform.actions`)."""

from __future__ import annotations

from services.activities import actions as activity_actions
from services.draws import actions as draws_actions
from services.insight import actions as insight_actions
from services.invitations import actions as invitations_actions
from services.leads import actions as leads_actions
from services.people import actions as people_actions
from services.platform.actions import Action, Refusal, parse, registered
from services.pool import actions as pool_actions
from services.records import actions as record_actions
from services.supervisors import actions as supervisors_actions

TOPICS = (
    people_actions,
    pool_actions,
    activity_actions,
    draws_actions,
    invitations_actions,
    record_actions,
    leads_actions,
    supervisors_actions,
    insight_actions,
)

__all__ = ["Action", "Refusal", "parse", "registered"]
