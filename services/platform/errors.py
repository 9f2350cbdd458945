"""The domain error tree. Every error names its condition and carries the message key a front end
shows for it (:attr:`DomainError.message_key`, with the parameters that key needs in ``params``); an error
that covers several reasons (``DrawRefused``, ``LeadRefused``...) also names the reason's own key in the
``reason_key`` parameter, which :attr:`DomainError.reason_key` reads. Every service error is defined here (the
catalog test fails for one defined elsewhere, one missing from this diagram, or one without words).

::

    DomainError
    ├── NotFound
    │   ├── OrgUnitNotFound
    │   ├── PersonNotFound
    │   ├── AccountNotFound
    │   ├── InstitutionNotFound
    │   ├── ChangeRequestNotFound
    │   ├── ActivityNotFound
    │   ├── DrawRequestNotFound
    │   ├── DrawNotFound
    │   ├── SlotNotFound
    │   ├── LeadNotFound
    │   ├── ProposalNotFound
    │   └── ExcellenceNotFound
    ├── PermissionDenied
    │   ├── OutOfScope
    │   ├── NotSupervisor
    │   └── NotCustodian
    ├── InvalidInput
    │   └── ActivityInvalid
    ├── Conflict
    │   ├── AlreadyBound
    │   ├── RoleMissing
    │   ├── DuplicateCode
    │   ├── DuplicateCreditCode
    │   ├── InvalidTransition
    │   ├── NotEligible
    │   ├── StillBarred
    │   ├── DrawRefused
    │   ├── LetterNotReady
    │   ├── LeadRefused
    │   ├── RecordNotReady
    │   ├── RecordSubmitted
    │   ├── ProposalDecided
    │   └── ExcellencePublished
    ├── AnswerRefused
    └── InviteError
        ├── InviteInvalid
        ├── InviteUsed
        ├── InviteExpired
        ├── InviteRevoked
        └── TooManyAttempts

Pure rule modules raise ``ValueError`` subclasses of their own, which never reach a front end: the service (or
front-end step) that calls the rule catches each one and answers or re-raises a domain error:

- ``TargetRequestError`` (services/draws/target_rules.py): caught by ``target_draws.draw_targets``
  (``DrawRefused``) and by ``target_rules.verify``.
- ``DrawRequestError`` (services/activities/draw_rules.py): caught by ``draws.running`` (``ActivityInvalid``) and by
  ``draw_rules.verify``; the frequency benchmark calls the rules directly.
- ``RewardOutOfBounds`` (services/leads/lead_rules.py): caught by ``lead_triage`` (``LeadRefused``).
- ``EvidenceRefused`` (services/leads/evidence.py): caught by the evidence step of the lead report dialog
  (bot/dialogs/lead_evidence.py), which answers the reason's own words.
- ``InvalidIdentifier`` (services/platform/identifiers.py): caught at every call (``InvalidInput``, a row problem
  of an import, or the dialog's "not an identity number" answer).
- ``UnreadableMoment`` (services/platform/dialogs.py): caught by the new-activity dialog, which asks again.

``MalformedAction`` (services/platform/actions.py) is a bug in the code building a button, not a refusal: it is
reported as an internal error on purpose.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A request the rules refuse; ``message_key`` says what to tell the user."""

    message_key: ClassVar[str] = "error.generic"

    def __init__(self, detail: str = "", **params: Any) -> None:
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail
        self.params: dict[str, Any] = params

    @property
    def reason_key(self) -> str:
        """The most specific key for this refusal: the ``reason_key`` parameter when the raiser named one (a front
        end that shows the reason alone uses it with the other parameters), else :attr:`message_key`."""
        given = self.params.get("reason_key")
        return given if isinstance(given, str) else self.message_key


class NotFound(DomainError):
    """The thing asked for does not exist."""

    message_key = "error.not_found"


class OrgUnitNotFound(NotFound):
    """No org unit with that code or id."""

    message_key = "error.org_unit_not_found"


class PersonNotFound(NotFound):
    """No person with that id."""

    message_key = "error.person_not_found"


class AccountNotFound(NotFound):
    """The person has no bound account."""

    message_key = "error.account_not_found"


class InstitutionNotFound(NotFound):
    """No institution with that id."""

    message_key = "error.institution_not_found"


class ChangeRequestNotFound(NotFound):
    """No profile change request with that id."""

    message_key = "error.change_not_found"


class ActivityNotFound(NotFound):
    """No activity with that id (or none the actor may see)."""

    message_key = "error.activity_not_found"


class DrawRequestNotFound(NotFound):
    """No draw request with that id."""

    message_key = "error.draw_request_not_found"


class DrawNotFound(NotFound):
    """No draw record with that id."""

    message_key = "error.draw_not_found"


class SlotNotFound(NotFound):
    """No slot with that id, or none the actor may see (outside the organizer's line it does not exist)."""

    message_key = "letter.slot_not_found"


class LeadNotFound(NotFound):
    """No such lead, or none the caller may see (another supervisor's lead looks the same as a missing one)."""

    message_key = "lead.error.not_found"


class ProposalNotFound(NotFound):
    """No sanction proposal with that id, or none the actor may decide."""

    message_key = "sanction.not_found"


class ExcellenceNotFound(NotFound):
    """No excellence proposal for that year in the actor's unit."""

    message_key = "excellence.not_found"


class PermissionDenied(DomainError):
    """The actor's roles do not allow this, or the object is outside their org unit."""

    message_key = "error.permission_denied"


class OutOfScope(PermissionDenied):
    """The object belongs to an org unit outside the staff member's line (RULES.md: staff act within their unit's
    subtree); ``units`` names the object's units and ``own`` the staff member's, so the refusal says why."""

    message_key = "error.out_of_scope"


class NotSupervisor(PermissionDenied):
    """Only an active social supervisor may report leads (002 §2, §9)."""

    message_key = "lead.error.not_supervisor"


class NotCustodian(PermissionDenied):
    """Only a custodian of the lead's org unit (or one above it) may reveal a reporter."""

    message_key = "lead.error.not_custodian"


class InvalidInput(DomainError):
    """A value is malformed (the detail says which)."""

    message_key = "error.invalid_input"


class ActivityInvalid(InvalidInput):
    """An activity or its composition breaks a rule; ``reason_key`` names it (with its article)."""

    message_key = "error.activity_invalid"


class Conflict(DomainError):
    """The request clashes with the current state."""

    message_key = "error.conflict"


class AlreadyBound(Conflict):
    """This account is already bound to a person."""

    message_key = "binding.already_bound"


class RoleMissing(Conflict):
    """The person does not hold the role the invite is for."""

    message_key = "error.role_missing"


class DuplicateCode(Conflict):
    """An org unit with that code already exists."""

    message_key = "error.duplicate_code"


class DuplicateCreditCode(Conflict):
    """Another institution already has that unified social credit code."""

    message_key = "error.duplicate_credit_code"


class InvalidTransition(Conflict):
    """The record's current state does not allow this step (e.g. appointing before the notice ends)."""

    message_key = "error.invalid_transition"


class NotEligible(Conflict):
    """The expert does not meet the admission conditions (000 §7-§9, §22; 001 §22); ``articles`` lists them."""

    message_key = "error.not_eligible"


class StillBarred(Conflict):
    """Re-admission is refused while a removal's bar runs (001 §22); ``reason``, ``ended_on`` and ``barred_until``
    say why and until when."""

    message_key = "error.still_barred"


class DrawRefused(Conflict):
    """A draw step is not allowed now (four-eyes, wrong state, no approval rights); ``reason_key`` says why."""

    message_key = "error.draw_refused"


class LetterNotReady(Conflict):
    """The slot's expert has not accepted (or signed): there is nothing to tell the employer yet."""

    message_key = "letter.not_ready"


class LeadRefused(Conflict):
    """The lead step is refused; ``reason_key`` says why."""

    message_key = "lead.error.refused"


class RecordNotReady(Conflict):
    """The activity has not ended, or nobody took part: there is no work record to fill."""

    message_key = "workrecord.not_ready"


class RecordSubmitted(Conflict):
    """The work record was already submitted."""

    message_key = "workrecord.submitted_already"


class ProposalDecided(Conflict):
    """The sanction proposal was already confirmed or dismissed."""

    message_key = "sanction.decided"


class ExcellencePublished(Conflict):
    """The year's excellence list is already published."""

    message_key = "excellence.published_already"


class AnswerRefused(DomainError):
    """An invitation press does not apply to this slot now; ``reason_key`` says why (stale, foreign, expired...)."""

    message_key = "invite.refused"


class InviteError(DomainError):
    """An invite code cannot be redeemed."""

    message_key = "binding.code_invalid"


class InviteInvalid(InviteError):
    """No such code (mistyped or made up)."""

    message_key = "binding.code_invalid"


class InviteUsed(InviteError):
    """The code was already used."""

    message_key = "binding.code_used"


class InviteExpired(InviteError):
    """The code's validity has passed."""

    message_key = "binding.code_expired"


class InviteRevoked(InviteError):
    """The code was withdrawn (a newer invite replaced it)."""

    message_key = "binding.code_revoked"


class TooManyAttempts(InviteError):
    """Too many wrong codes from this account recently."""

    message_key = "binding.too_many_attempts"
