"""Guided conversations kept in the database, and date-times typed in the bureau's time zone
(issue "Activities and draws": the creation dialog survives a restart; times are entered in local time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.people import accounts
from services.platform import dialogs
from services.platform.clock import FixedClock
from services.platform.roles import SYSTEM_CLI
from storage.activities import Dialog
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 on 2026-03-02 in Shanghai


async def _account(uow: UnitOfWorkFactory) -> int:
    org = await build_org(uow)
    async with uow() as u:
        issued = await accounts.create_invite(u, actor=SYSTEM_CLI, role="staff", person_id=org.staff_id)
    async with uow() as u:
        binding = await accounts.redeem_invite(u, channel="telegram", external_user_id="501", chat_id="501",
                                               code=issued.code)
    return binding.account_id


async def test_a_started_dialog_is_read_back_by_a_later_unit_of_work(uow_factory: UnitOfWorkFactory) -> None:
    account_id = await _account(uow_factory)
    async with uow_factory() as u:
        await dialogs.start(u, account_id, flow="activity", step="kind", data={"title": "飞检"})
        await u.commit()
    async with uow_factory(readonly=True) as u:
        found = await dialogs.get(u, account_id)
        assert found is not None
        assert (found.flow, found.step, found.data["title"]) == ("activity", "kind", "飞检")
        assert await dialogs.get(u, account_id, flow="lead") is None


async def test_nothing_is_kept_unless_the_caller_commits(uow_factory: UnitOfWorkFactory) -> None:
    account_id = await _account(uow_factory)
    async with uow_factory() as u:
        await dialogs.start(u, account_id, flow="activity", step="kind")
    async with uow_factory(readonly=True) as u:
        assert await dialogs.get(u, account_id) is None


async def test_saving_a_new_step_changes_the_stamp_and_old_buttons_stop_matching(
    uow_factory: UnitOfWorkFactory,
) -> None:
    account_id = await _account(uow_factory)
    async with uow_factory() as u:
        dialog = await dialogs.start(u, account_id, flow="activity", step="kind")
        first = dialogs.stamp(dialog)
        await dialogs.save(u, dialog, data={**dialog.data, "kind": "consultation"})
        assert dialogs.stamp(dialog) == first  # same step: its buttons stay valid
        await dialogs.save(u, dialog, step="title", data={**dialog.data, "note": "x"})
        await u.commit()
    async with uow_factory(readonly=True) as u:
        again = await dialogs.get(u, account_id)
    assert again is not None and again.step == "title" and again.data["kind"] == "consultation"
    assert dialogs.stamp(again) != first
    assert dialogs.is_current(again, *dialogs.stamp(again).split(":"))
    assert not dialogs.is_current(again, *first.split(":"))
    assert not dialogs.is_current(None, *first.split(":"))


async def test_starting_again_replaces_the_old_dialog_and_its_buttons(uow_factory: UnitOfWorkFactory) -> None:
    account_id = await _account(uow_factory)
    async with uow_factory() as u:
        old = dialogs.stamp(await dialogs.start(u, account_id, flow="activity", step="kind", data={"a": 1}))
        await u.commit()
    async with uow_factory() as u:
        new = await dialogs.start(u, account_id, flow="activity", step="kind")
        await u.commit()
    assert "a" not in new.data
    assert not dialogs.is_current(new, *old.split(":"))


async def test_clearing_ends_the_dialog_and_says_whether_there_was_one(uow_factory: UnitOfWorkFactory) -> None:
    account_id = await _account(uow_factory)
    async with uow_factory() as u:
        await dialogs.start(u, account_id, flow="activity", step="kind")
        await u.commit()
    async with uow_factory() as u:
        assert await dialogs.clear(u, account_id)
        await u.commit()
    async with uow_factory() as u:
        assert not await dialogs.clear(u, account_id)
        assert await u.session.get(Dialog, account_id) is None


async def test_a_dialog_left_idle_for_a_week_is_forgotten(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> None:
    account_id = await _account(uow_factory)
    async with uow_factory() as u:
        await dialogs.start(u, account_id, flow="activity", step="kind")
        await u.commit()
    clock.advance(dialogs.IDLE_LIMIT + timedelta(minutes=1))
    async with uow_factory(readonly=True) as u:
        assert await dialogs.get(u, account_id) is None
        assert await dialogs.get(u, account_id, idle_limit=None) is not None


@pytest.mark.parametrize("typed", [
    "2026-12-01 09:00", "2026/12/01 09:00", "2026.12.1 9:00", "12-01 9:00", "12/01 09:00", "2026-12-01T09:00",
    "2026年12月1日 9:00", "12月1日9点", "2026-12-01 9：00", "　2026-12-01  09:00 ",
])
def test_typed_date_times_are_read_in_the_bureau_time_zone(typed: str) -> None:
    moment = dialogs.parse_local_datetime(typed, zone=SHANGHAI, now=NOW)
    assert moment == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def test_a_month_and_day_already_past_this_year_means_next_year() -> None:
    assert dialogs.parse_local_datetime("01-15 14:30", zone=SHANGHAI, now=NOW) == datetime(
        2027, 1, 15, 6, 30, tzinfo=UTC)
    assert dialogs.parse_local_datetime("3-2 8:00", zone=SHANGHAI, now=NOW).year == 2026  # today counts


@pytest.mark.parametrize("typed", ["tomorrow", "2026-13-01 09:00", "2026-02-30 09:00", "2026-12-01 25:00",
                                   "2026-12-01", "09:00", "", "2026-12-01 09:61"])
def test_unreadable_date_times_are_refused(typed: str) -> None:
    with pytest.raises(dialogs.UnreadableMoment):
        dialogs.parse_local_datetime(typed, zone=SHANGHAI, now=NOW)


def test_moments_are_shown_in_the_bureau_time_zone() -> None:
    assert dialogs.format_local(datetime(2026, 12, 1, 1, 0, tzinfo=UTC), SHANGHAI) == "2026-12-01 09:00"
