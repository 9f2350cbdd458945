"""Every button of the product, known to one parser: imports each topic's ``actions`` module so that
:func:`parse` recognises all prefixes (the codec itself is :mod:`services.platform.actions`)."""

from __future__ import annotations

from services.draws import actions as draws_actions
from services.invitations import actions as invitations_actions
from services.people import actions as people_actions
from services.platform.actions import Action, Refusal, parse, registered
from services.pool import actions as pool_actions

TOPICS = (
    people_actions,
    pool_actions,
    invitations_actions,
    draws_actions,
)

__all__ = ["Action", "Refusal", "parse", "registered"]
