"""The outbox life cycle: claim, send, retry, fail and alert (issue: foundation, outbox)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from services.people import accounts, groups
from services.platform import notify, outbox
from services.platform.clock import FixedClock
from services.platform.outbox import Outcome, OutcomeKind
from services.platform.roles import SYSTEM_CLI
from storage.models import OutboxMessage
from storage.uow import UnitOfWorkFactory
from tests.builders import Org, build_org


@pytest.fixture
async def org(uow_factory: UnitOfWorkFactory) -> Org:
    return await build_org(uow_factory)


async def _bind(uow: UnitOfWorkFactory, role: str, person_id: int, user: str) -> None:
    async with uow() as u:
        issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role=role, person_id=person_id)
    async with uow() as u:
        await accounts.redeem_invite(u, channel="telegram", external_user_id=user, chat_id=user, code=issued.code)


async def _claim(uow: UnitOfWorkFactory, limit: int = 100) -> outbox.ClaimResult:
    async with uow() as u:
        return await outbox.claim(u, limit=limit)


async def _record(uow: UnitOfWorkFactory, *outcomes: Outcome) -> list[int]:
    async with uow() as u:
        return await outbox.record(u, outcomes)


async def _rows(uow: UnitOfWorkFactory) -> list[OutboxMessage]:
    async with uow() as u:
        return list((await u.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def test_a_message_to_a_person_is_resolved_to_their_bound_chat(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    await _bind(uow_factory, "expert", org.expert_id, "4242")
    claimed = await _claim(uow_factory)
    assert [(d.address, d.message_key) for d in claimed.deliveries] == [("4242", "binding.welcome")]
    assert (await _claim(uow_factory)).deliveries == []  # leased: not claimed twice
    await _record(uow_factory, Outcome(claimed.deliveries[0].outbox_id, OutcomeKind.SENT, "77", "4242"))
    (row,) = await _rows(uow_factory)
    assert (row.status, row.external_message_id, row.sent_address) == ("sent", "77", "4242")


async def test_a_message_to_someone_unbound_is_skipped(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    async with uow_factory() as u:
        await notify.to_person(u, person_id=org.expert_id, key="start.bound", params={"name": "x"})
        await u.commit()
    claimed = await _claim(uow_factory)
    assert claimed.deliveries == [] and claimed.skipped == 1
    assert [r.status for r in await _rows(uow_factory)] == ["skipped"]


async def test_transient_errors_back_off_and_the_last_attempt_fails_and_alerts_staff(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, org: Org
) -> None:
    await _bind(uow_factory, "staff", org.admin_id, "1")
    await _bind(uow_factory, "expert", org.expert_id, "2")
    first = await _claim(uow_factory)
    await _record(uow_factory, *[Outcome(d.outbox_id, OutcomeKind.SENT, "1", d.address) for d in first.deliveries])
    async with uow_factory() as u:
        await notify.to_person(u, person_id=org.expert_id, key="start.bound", params={"name": "x"})
        await u.commit()
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        clock.advance(timedelta(hours=1))
        claimed = await _claim(uow_factory)
        target = [d for d in claimed.deliveries if d.message_key == "start.bound"]
        assert len(target) == 1, attempt
        failed = await _record(uow_factory, Outcome(target[0].outbox_id, OutcomeKind.RETRY, error="NetworkError"))
        if attempt < outbox.MAX_ATTEMPTS:
            assert failed == []
            assert (await _claim(uow_factory)).deliveries == []  # not due before its backoff
    assert failed == [target[0].outbox_id]
    rows = await _rows(uow_factory)
    assert [r.status for r in rows if r.message_key == "start.bound"] == ["failed"]
    # div1 (the expert's unit) has no staff chat, no opted-in staff and no admin: the bureau's admin is told.
    (alert,) = [r for r in rows if r.message_key == outbox.FAILED_ALERT_KEY]
    assert (alert.person_id, alert.params["outbox_id"]) == (org.admin_id, target[0].outbox_id)


async def test_a_permanent_refusal_fails_at_once_and_alerts_the_staff_chat(
    uow_factory: UnitOfWorkFactory, org: Org
) -> None:
    await _bind(uow_factory, "staff", org.admin_id, "1")
    await _bind(uow_factory, "expert", org.expert_id, "2")
    async with uow_factory() as u:
        admin = await accounts.identify(u, channel="telegram", external_user_id="1")
    async with uow_factory() as u:
        await groups.bind_group(u, actor=admin, channel="telegram", chat_id="-100", title="一师工作群", org="div1")
    for d in (await _claim(uow_factory)).deliveries:
        await _record(uow_factory, Outcome(d.outbox_id, OutcomeKind.SENT, "1", d.address))
    async with uow_factory() as u:
        await notify.to_person(u, person_id=org.expert_id, key="start.bound", params={"name": "x"})
        await u.commit()
    (delivery,) = (await _claim(uow_factory)).deliveries
    assert await _record(uow_factory, Outcome(delivery.outbox_id, OutcomeKind.PERMANENT, error="Forbidden")) == [
        delivery.outbox_id
    ]
    (alert,) = (await _claim(uow_factory)).deliveries
    assert (alert.address, alert.message_key) == ("-100", outbox.FAILED_ALERT_KEY)


async def test_a_throttled_message_waits_without_using_an_attempt(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, org: Org
) -> None:
    await _bind(uow_factory, "expert", org.expert_id, "2")
    (delivery,) = (await _claim(uow_factory)).deliveries
    await _record(uow_factory, Outcome(delivery.outbox_id, OutcomeKind.THROTTLED, retry_after=5))
    assert (await _claim(uow_factory)).deliveries == []
    clock.advance(timedelta(seconds=5))
    (again,) = (await _claim(uow_factory)).deliveries
    assert again.outbox_id == delivery.outbox_id
    assert (await _rows(uow_factory))[0].attempts == 0


async def test_an_edit_waits_for_its_original_and_then_targets_its_message(
    uow_factory: UnitOfWorkFactory, clock: FixedClock, org: Org
) -> None:
    await _bind(uow_factory, "expert", org.expert_id, "2")
    async with uow_factory() as u:
        original = (await u.session.exec(select(OutboxMessage))).one()
        await notify.edit(u, original=original, key="language.set")
        await u.commit()
    claimed = await _claim(uow_factory)
    assert [d.kind for d in claimed.deliveries] == ["send"] and claimed.deferred == 1
    await _record(uow_factory, Outcome(claimed.deliveries[0].outbox_id, OutcomeKind.SENT, "555", "2"))
    clock.advance(timedelta(seconds=2))
    (edit,) = (await _claim(uow_factory)).deliveries
    assert (edit.kind, edit.address, edit.edit_message_id) == ("edit", "2", "555")


async def test_released_claims_become_due_again(uow_factory: UnitOfWorkFactory, org: Org) -> None:
    await _bind(uow_factory, "expert", org.expert_id, "2")
    assert len((await _claim(uow_factory)).deliveries) == 1
    async with uow_factory() as u:
        assert await outbox.release_claims(u) == 1
    assert len((await _claim(uow_factory)).deliveries) == 1


async def test_a_delayed_message_keeps_the_language_the_person_had_when_it_was_written(
    uow_factory: UnitOfWorkFactory, org: Org
) -> None:
    await _bind(uow_factory, "expert", org.expert_id, "4242")
    await _claim(uow_factory)  # the welcome
    async with uow_factory() as u:
        actor = await accounts.identify(u, channel="telegram", external_user_id="4242")
        await accounts.set_language(u, actor=actor, language="en")
    async with uow_factory() as u:
        await notify.to_person(u, person_id=org.expert_id, key="start.bound", params={"name": "x"})
        await notify.queue_many(u, [notify.person_draft(person_id=org.expert_id, key="start.bound",
                                                        params={"name": "y"})])
        await u.commit()
    async with uow_factory() as u:  # the person switches language while the Bot API is down
        actor = await accounts.identify(u, channel="telegram", external_user_id="4242")
        await accounts.set_language(u, actor=actor, language="zh")
    claimed = await _claim(uow_factory)
    languages = [d.language for d in claimed.deliveries if d.message_key == "start.bound"]
    assert languages == ["en", "en"]


async def test_a_group_that_became_a_supergroup_takes_its_binding_along_once(
    uow_factory: UnitOfWorkFactory, org: Org
) -> None:
    await _bind(uow_factory, "staff", org.admin_id, "1")
    async with uow_factory() as u:
        admin = await accounts.identify(u, channel="telegram", external_user_id="1")
    async with uow_factory() as u:
        await groups.bind_group(u, actor=admin, channel="telegram", chat_id="-100", title="一师工作群", org="div1")
    async with uow_factory() as u:
        moved = await groups.chat_migrated(u, channel="telegram", old_chat_id="-100", new_chat_id="-1000000000100")
    assert moved is not None and (moved.old_chat_id, moved.new_chat_id) == ("-100", "-1000000000100")
    async with uow_factory() as u:  # Telegram reports it in the new chat too: nothing more to do
        assert await groups.chat_migrated(u, channel="telegram", old_chat_id="-100",
                                          new_chat_id="-1000000000100") is None
    async with uow_factory() as u:
        await notify.to_org_unit(u, org_unit_id=org.div1_id, key="group.bound", params={"org_unit": "x"})
        await u.commit()
    addresses = {d.address for d in (await _claim(uow_factory)).deliveries if d.params.get("org_unit") == "x"}
    assert "-1000000000100" in addresses and "-100" not in addresses


async def test_a_migration_onto_a_chat_already_bound_keeps_that_binding_and_ends_the_old_one(
    uow_factory: UnitOfWorkFactory, org: Org
) -> None:
    await _bind(uow_factory, "staff", org.admin_id, "1")
    async with uow_factory() as u:
        admin = await accounts.identify(u, channel="telegram", external_user_id="1")
    for chat_id, unit in (("-100", "div1"), ("-1000000000100", "div2")):
        async with uow_factory() as u:
            await groups.bind_group(u, actor=admin, channel="telegram", chat_id=chat_id, title="群", org=unit)
    async with uow_factory() as u:
        assert await groups.chat_migrated(u, channel="telegram", old_chat_id="-100",
                                          new_chat_id="-1000000000100") is not None
    async with uow_factory(readonly=True) as u:
        assert await u.staff_chats.active_by_chat("telegram", "-100") is None
        kept = await u.staff_chats.active_by_chat("telegram", "-1000000000100")
        assert kept is not None and kept.org_unit_id == org.div2_id
