"""The domain error tree. Every error names its condition and carries the message key a front end
shows for it, with the parameters that key needs.

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
    │   └── DrawNotFound
    ├── PermissionDenied
    ├── InvalidInput
    │   └── ActivityInvalid
    ├── Conflict
    │   ├── AlreadyBound
    │   ├── RoleMissing
    │   ├── DuplicateCode
    │   ├── DuplicateCreditCode
    │   ├── InvalidTransition
    │   ├── NotEligible
    │   └── DrawRefused
    └── InviteError
        ├── InviteInvalid
        ├── InviteUsed
        ├── InviteExpired
        ├── InviteRevoked
        └── TooManyAttempts
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


class PermissionDenied(DomainError):
    """The actor's roles do not allow this, or the object is outside their org unit."""

    message_key = "error.permission_denied"


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


class DrawRefused(Conflict):
    """A draw step is not allowed now (four-eyes, wrong state, no approval rights); ``reason_key`` says why."""

    message_key = "error.draw_refused"


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
