"""Invites, account binding and identification.

An invite is a one-time code (128 random bits, URL-safe, 22 characters) for a person in a role;
only its SHA-256 is stored. Redeeming it binds the messaging account that sent it to the person.
Wrong codes are counted per account: after ``MAX_FAILURES`` within ``FAILURE_WINDOW`` the account
must wait. Unbinding (a lost phone) keeps the old row for history; a new invite binds the new phone.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.people.orgs import require_scope_over_person
from services.platform import audit, notify
from services.platform.errors import (
    AccountNotFound,
    AlreadyBound,
    InvalidInput,
    InviteExpired,
    InviteInvalid,
    InviteRevoked,
    InviteUsed,
    PermissionDenied,
    PersonNotFound,
    RoleMissing,
    TooManyAttempts,
)
from services.platform.roles import Actor, InviteRole, Role, person_actor_label
from storage.models import SEALED_NAME, Account, InviteCode
from storage.uow import UnitOfWork

CODE_BYTES = 16
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
DEFAULT_INVITE_TTL = timedelta(days=7)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LANGUAGES = ("zh", "en")


def hash_code(code: str) -> str:
    """The stored form of an invite code."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def looks_like_code(text: str) -> bool:
    """Whether a text could be an invite code (used to accept a code sent as plain text)."""
    return bool(CODE_PATTERN.match(text.strip()))


@dataclass(frozen=True)
class IssuedInvite:
    """A freshly issued invite: the code is shown once and never stored."""

    code: str
    invite_id: int
    person_id: int
    role: InviteRole
    expires_at: datetime
    already_bound: bool = False  # the person has a bound account, which the code will replace when used


async def create_invite(
    uow: UnitOfWork, *, actor: Actor, role: str, person_id: int, ttl: timedelta = DEFAULT_INVITE_TTL
) -> IssuedInvite:
    """Issue a one-time code binding an account to ``person_id`` in ``role``; older open codes lapse."""
    try:
        invite_role = InviteRole(role)
    except ValueError:
        raise InvalidInput("role must be expert, supervisor or staff", field="role") from None
    if ttl <= timedelta(0) or ttl > timedelta(days=90):
        raise InvalidInput("validity must be between 1 second and 90 days", field="ttl")
    await require_scope_over_person(uow, actor, person_id)
    holder = {
        InviteRole.EXPERT: uow.people.expert,
        InviteRole.SUPERVISOR: uow.people.supervisor,
        InviteRole.STAFF: uow.people.staff,
    }[invite_role]
    if await holder(person_id) is None:
        raise RoleMissing(f"person {person_id} is not {invite_role.value}", person_id=person_id, role=role)
    now = uow.now()
    await uow.invites.revoke_open_for_person(person_id, now=now)
    code = secrets.token_urlsafe(CODE_BYTES)
    invite = await uow.invites.add(
        InviteCode(
            code_hash=hash_code(code),
            role=invite_role.value,
            person_id=person_id,
            created_by=actor.label,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    assert invite.id is not None
    await audit.record(
        uow, at=now, actor=actor.label, action="invite.created", object_type="person", object_id=person_id,
        details={"invite_id": invite.id, "role": invite_role.value, "expires_at": invite.expires_at.isoformat()},
    )
    bound = bool(await uow.accounts.active_for_person(person_id))
    await uow.commit()
    return IssuedInvite(code, invite.id, person_id, invite_role, invite.expires_at, already_bound=bound)


@dataclass(frozen=True)
class Binding:
    """The result of a successful redemption."""

    account_id: int
    person_id: int
    name: str
    role: InviteRole


async def _usable_invite(uow: UnitOfWork, *, channel: str, external_user_id: str, code: str,
                        now: datetime) -> InviteCode:
    """The invite ``code`` names, or the reason it cannot be used; a failure is counted (and committed) first."""
    if await uow.invites.failures_since(channel, external_user_id, now - FAILURE_WINDOW) >= MAX_FAILURES:
        raise TooManyAttempts("rate limited", minutes=int(FAILURE_WINDOW.total_seconds() // 60))
    if await uow.accounts.active_by_user(channel, external_user_id) is not None:
        raise AlreadyBound("account already bound")
    invite = await uow.invites.by_hash(hash_code(code.strip()))
    error = _invite_problem(invite, now)
    if error is not None or invite is None:
        await uow.invites.record_failure(channel, external_user_id, now)
        await uow.commit()
        raise error or InviteInvalid("no such code")
    return invite


async def _unbind_previous(uow: UnitOfWork, *, person_id: int, channel: str, now: datetime) -> None:
    """A person's previous account on the channel (a lost phone) is unbound by the new binding."""
    for old in await uow.accounts.active_for_person(person_id, channel):
        old.unbound_at = now
        old.unbound_reason = "replaced by a new binding"
        uow.session.add(old)
        await uow.session.flush()
        # The old account is told, so a binding moved by someone else does not go unnoticed (issue 20).
        await notify.to_address(uow, address=old.chat_id, key="binding.moved", language=old.language,
                                channel=channel)


async def redeem_invite(
    uow: UnitOfWork,
    *,
    channel: str,
    external_user_id: str,
    chat_id: str,
    code: str,
    language: str | None = None,
) -> Binding:
    """Bind the account to the invite's person, or raise the reason the code cannot be used.

    Every failure is counted (and committed) before the error is raised, so guessing is slowed down.
    A person's previous account on the channel (a lost phone) is unbound by the new binding.
    """
    now = uow.now()
    invite = await _usable_invite(uow, channel=channel, external_user_id=external_user_id, code=code, now=now)
    person = await uow.people.get(invite.person_id)
    if person is None:  # pragma: no cover - foreign key makes this impossible
        raise PersonNotFound(str(invite.person_id))
    await _unbind_previous(uow, person_id=invite.person_id, channel=channel, now=now)
    account = await uow.accounts.add(
        Account(
            channel=channel,
            external_user_id=external_user_id,
            chat_id=chat_id,
            person_id=invite.person_id,
            language=language if language in LANGUAGES else None,
            bound_at=now,
        )
    )
    assert account.id is not None and invite.id is not None
    if not await uow.invites.claim(invite.id, now=now, account_id=account.id):
        await uow.rollback()
        raise InviteUsed("used concurrently")
    await audit.record(
        uow, at=now, actor=person_actor_label(invite.person_id), action="account.bound",
        object_type="person", object_id=invite.person_id,
        details={"account_id": account.id, "channel": channel, "invite_id": invite.id, "role": invite.role},
    )
    name = await uow.people.name_of(person)
    sealed = person.name == SEALED_NAME  # a supervisor's name kept out of the outbox's stored params (issue 19)
    await notify.to_person(
        uow, person_id=invite.person_id, key="binding.welcome_unnamed" if sealed else "binding.welcome",
        params={**({} if sealed else {"name": name}), "role_key": f"role.{invite.role}",
                "steps_key": f"binding.steps.{invite.role}"},
    )
    await uow.commit()
    return Binding(account.id, invite.person_id, name, InviteRole(invite.role))


def _invite_problem(invite: InviteCode | None, now: datetime) -> InviteInvalid | InviteUsed | InviteExpired | (
    InviteRevoked | None
):
    if invite is None:
        return InviteInvalid("no such code")
    if invite.used_at is not None:
        return InviteUsed("already used")
    if invite.revoked_at is not None:
        return InviteRevoked("replaced by a newer invite")
    if invite.expires_at <= now:
        return InviteExpired("expired")
    return None


async def unbind_person(uow: UnitOfWork, *, actor: Actor, person_id: int, reason: str) -> int:
    """Unbind every active account of a person (lost phone, departure); returns how many."""
    await require_scope_over_person(uow, actor, person_id)
    reason = reason.strip()[:200] or "unbound by staff"
    accounts = await uow.accounts.active_for_person(person_id)
    if not accounts:
        raise AccountNotFound("no bound account", person_id=person_id)
    now = uow.now()
    for account in accounts:
        account.unbound_at = now
        account.unbound_reason = reason
        uow.session.add(account)
    await audit.record(
        uow, at=now, actor=actor.label, action="account.unbound", object_type="person", object_id=person_id,
        details={"accounts": [a.id for a in accounts], "reason": reason},
    )
    await uow.commit()
    return len(accounts)


async def identify(uow: UnitOfWork, *, channel: str, external_user_id: str) -> Actor:
    """Who is behind a messaging account: a bound person with their roles, or an unbound stranger."""
    found = await uow.accounts.identity_core(channel, external_user_id)
    if found is None:
        return Actor(label=f"{channel}:{external_user_id}")
    roles: set[Role] = set()
    if found.staff_role is not None:
        roles.add(Role.STAFF)
        if found.staff_role == "admin":
            roles.add(Role.ADMIN)
    if found.is_expert:
        roles.add(Role.EXPERT)
    if found.is_supervisor:
        roles.add(Role.SUPERVISOR)
    return Actor(
        label=person_actor_label(found.person_id),
        person_id=found.person_id,
        account_id=found.account_id,
        name=found.name,
        roles=frozenset(roles),
        staff_org_unit_id=found.staff_org_unit_id,
        language=found.language,
        menu=found.menu,
    )


async def remember_menu(uow: UnitOfWork, *, actor: Actor, menu: str) -> None:
    """Record which "/" menu the actor's chat now has (roles and language, as the front end names them), so it is
    set again only when they change, not after every restart (issue 21). Not audited: it records what Telegram
    shows, not a decision."""
    if actor.account_id is None:
        return
    await uow.accounts.set_menu(actor.account_id, menu)
    await uow.commit()


async def set_language(
    uow: UnitOfWork, *, actor: Actor, language: str, shown_in: notify.MessageRef | None = None
) -> str:
    """Remember the language a bound person wants the bot to speak; confirm it in that language.

    With ``shown_in`` (the message holding the language buttons) the confirmation replaces it.
    """
    if language not in LANGUAGES:
        raise InvalidInput("unsupported language", field="language")
    if actor.account_id is None:
        raise AccountNotFound("not bound")
    person_id = await uow.accounts.set_language(actor.account_id, language)
    if person_id is None:
        raise AccountNotFound("not bound")
    await audit.record(
        uow, at=uow.now(), actor=actor.label, action="account.language", object_type="account",
        object_id=actor.account_id, details={"language": language},
    )
    if shown_in is not None:
        await notify.edit(
            uow, channel=shown_in.channel, address=shown_in.address, external_message_id=shown_in.message_id,
            key="language.set", language=language,
        )
    else:
        await notify.to_person(uow, person_id=person_id, key="language.set")
    await uow.commit()
    return language


async def staff_actor(uow: UnitOfWork, person_id: int) -> Actor:
    """The actor of an active staff member, as :func:`identify` makes it for a bound account: for the command
    line's ``--as`` (a staff member acting off the chat). Refused for anyone who is not active staff."""
    staff = await uow.people.staff(person_id)
    person = await uow.people.get(person_id)
    if staff is None or person is None or not staff.active:
        raise PermissionDenied(f"person {person_id} is not an active staff member")
    roles = {Role.STAFF, Role.ADMIN} if staff.role == "admin" else {Role.STAFF}
    if await uow.people.expert(person_id) is not None:
        roles.add(Role.EXPERT)
    return Actor(label=person_actor_label(person_id), person_id=person_id, name=person.name,
                 roles=frozenset(roles), staff_org_unit_id=staff.org_unit_id)
