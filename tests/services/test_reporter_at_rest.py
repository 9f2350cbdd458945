"""The reporter's identity encrypted at rest (issue 19; 003 三(四): the reporter's identity kept strictly confidential;
002 §11): who reported a lead is an encrypted reference with a keyed hash, a supervisor's name and pseudonym are
encrypted, so the database file alone does not say who reported which lead, nor a reporter's name — while the
reporter's own /myleads, feedback to the reporter, the custodian reveal and retention's purge of the link work as
before."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import col, select

from services.leads import lead_privacy, lead_triage, leads, reporters
from services.people import orgs
from services.platform import crypto
from services.platform.errors import LeadNotFound
from services.platform.roles import SYSTEM_CLI
from services.supervisors import supervisors
from storage.compact import compact_sqlite
from storage.leads import Lead
from storage.models import SEALED_NAME, OutboxMessage, Supervisor
from storage.uow import UnitOfWorkFactory
from tests.builders import add_institutions, build_org, staff_actor
from tests.services.test_encryption_at_rest import _keyed_factory
from tests.services.test_id_numbers_at_rest import _sqlite_bytes
from tests.services.test_leads import supervisor


async def _raw(uow_factory: UnitOfWorkFactory, sql: str) -> list[tuple[object, ...]]:
    """Rows read by an engine without the key: what the database file holds."""
    async with uow_factory(readonly=True) as uow:
        return [tuple(row) for row in (await uow.session.exec(text(sql))).all()]  # type: ignore[call-overload]


async def test_the_database_alone_names_no_reporter_yet_the_reporter_and_a_custodian_are_served(
        database_url: str, uow_factory: UnitOfWorkFactory) -> None:
    keyed, engine = await _keyed_factory(database_url, crypto.MasterKey(crypto.new_data_key()))
    try:
        org = await build_org(keyed)
        async with keyed() as uow:
            other = await orgs.add_member(uow, actor=SYSTEM_CLI, kind="supervisor", name="周监督", org="div1")
        [hospital] = await add_institutions(keyed, ["第一医院"])
        filed = []
        for what in ("重复收取护理费", "挂床住院"):
            async with keyed() as uow:
                filed.append(await leads.submit(uow, actor=supervisor(org.supervisor_id), draft=leads.LeadDraft(
                    category="over_charging", what=what, institution_id=hospital)))
        async with keyed() as uow:  # the reporter's own leads, found through the keyed hash
            assert [m.id for m in await leads.my_leads(uow, actor=supervisor(org.supervisor_id))] == \
                [filed[1].id, filed[0].id]
            assert await leads.my_leads(uow, actor=supervisor(other.id)) == []
            assert (await leads.own_lead(uow, supervisor(org.supervisor_id), filed[0].id)).id == filed[0].id
            try:
                await leads.own_lead(uow, supervisor(other.id), filed[0].id)
                raise AssertionError("another supervisor reached the lead")
            except LeadNotFound:
                pass
        staff = staff_actor(org.div1_staff_id, org.div1_id)
        async with keyed() as uow:  # 002 §12(二): the reporter is told
            await lead_triage.accept(uow, actor=staff, lead_id=filed[0].id)
        async with keyed(readonly=True) as uow:
            told = (await uow.session.exec(select(OutboxMessage.person_id).where(
                col(OutboxMessage.message_key).like("lead.feedback%")))).all()
        assert told and set(told) == {org.supervisor_id}
        async with keyed() as uow:
            await lead_privacy.grant_custodian(uow, actor=SYSTEM_CLI, person_id=org.div1_staff_id, org="div1")
        async with keyed() as uow:
            shown = await lead_privacy.reveal(uow, actor=staff, lead_id=filed[0].id, reason="核实奖励领取人")
        assert shown.name == "陈监督"
        async with keyed(readonly=True) as uow:
            pseudonym = (await uow.session.get(Lead, filed[0].id)).reporter_pseudonym  # type: ignore[union-attr]

        links = await _raw(uow_factory, "SELECT reporter_ref, reporter_ref_hmac FROM lead")
        assert len(links) == 2 and all(str(ref).startswith(crypto.COLUMN_PREFIX) and hashed for ref, hashed in links)
        assert links[0][0] != links[1][0]  # the same reporter: ciphertexts differ
        assert not any(str(org.supervisor_id) == ref for ref, _ in links)
        rows = await _raw(uow_factory, f"SELECT name, pseudonym FROM supervisor WHERE person_id = {org.supervisor_id}")
        assert all(str(value).startswith(crypto.COLUMN_PREFIX) for value in rows[0])
        assert pseudonym not in repr(await _raw(uow_factory, "SELECT * FROM supervisor"))  # no join from the lead
        names = await _raw(uow_factory, f"SELECT name FROM person WHERE id IN ({org.supervisor_id}, {other.id})")
        assert names == [(SEALED_NAME,), (SEALED_NAME,)]
    finally:
        await engine.dispose()  # type: ignore[attr-defined]
    if database_url.startswith("sqlite"):
        assert compact_sqlite(database_url)
        raw = _sqlite_bytes(database_url)
        assert "陈监督".encode() not in raw and "周监督".encode() not in raw
        assert "赵科员".encode() in raw  # staff names stay plain: the grep does look


async def test_a_supervisors_name_reads_back_everywhere_staff_see_it(
        database_url: str, uow_factory: UnitOfWorkFactory) -> None:
    keyed, engine = await _keyed_factory(database_url, crypto.MasterKey(crypto.new_data_key()))
    try:
        org = await build_org(keyed)
        async with keyed() as uow:
            views = await supervisors.list_supervisors(uow, actor=staff_actor(org.admin_id, org.bureau_id, admin=True))
        assert [view.name for view in views] == ["陈监督"]
        async with keyed(readonly=True) as uow:
            person = await uow.people.get(org.supervisor_id)
            assert person is not None and person.name == SEALED_NAME
            assert await uow.people.name_of(person) == "陈监督"
            row = await uow.session.get(Supervisor, org.supervisor_id)
            assert row is not None and row.name == "陈监督"
            staff = await uow.people.get(org.div1_staff_id)
            assert staff is not None and await uow.people.name_of(staff) == "赵科员"
    finally:
        await engine.dispose()  # type: ignore[attr-defined]


async def test_retention_purges_the_encrypted_link_and_its_hash(
        database_url: str, uow_factory: UnitOfWorkFactory) -> None:
    keyed, engine = await _keyed_factory(database_url, crypto.MasterKey(crypto.new_data_key()))
    try:
        org = await build_org(keyed)
        [hospital] = await add_institutions(keyed, ["第一医院"])
        async with keyed() as uow:
            filed = await leads.submit(uow, actor=supervisor(org.supervisor_id), draft=leads.LeadDraft(
                category="over_charging", what="重复收费", institution_id=hospital))
        async with keyed() as uow:
            lead = await uow.session.get(Lead, filed.id)
            assert lead is not None
            reporters.set_reporter(lead, None)  # what the purge does
            uow.session.add(lead)
            await uow.commit()
        assert await _raw(uow_factory, "SELECT reporter_ref, reporter_ref_hmac FROM lead") == [(None, None)]
        async with keyed() as uow:
            assert await leads.my_leads(uow, actor=supervisor(org.supervisor_id)) == []
    finally:
        await engine.dispose()  # type: ignore[attr-defined]


async def test_a_message_to_the_reporter_forgets_whom_it_went_to_and_what_it_said_once_sent(
        database_url: str, uow_factory: UnitOfWorkFactory) -> None:
    from services.people import accounts
    from services.platform import outbox
    from services.platform.outbox import Outcome, OutcomeKind

    org = await build_org(uow_factory)
    [hospital] = await add_institutions(uow_factory, ["第一医院"])
    for person_id, user in ((org.supervisor_id, "7001"), (org.div1_staff_id, "7002")):
        async with uow_factory() as uow:
            issued = await accounts.create_invite(uow, actor=SYSTEM_CLI, role="supervisor" if user == "7001"
                                                  else "staff", person_id=person_id)
        async with uow_factory() as uow:
            await accounts.redeem_invite(uow, channel="telegram", external_user_id=user, chat_id=user,
                                         code=issued.code)
    async with uow_factory() as uow:
        filed = await leads.submit(uow, actor=supervisor(org.supervisor_id), draft=leads.LeadDraft(
            category="over_charging", what="重复收费", institution_id=hospital))
    async with uow_factory() as uow:
        claimed = await outbox.claim(uow, limit=100)
    keys = {d.outbox_id: d.message_key for d in claimed.deliveries}
    receipt = next(i for i, k in keys.items() if k == "lead.receipt")
    welcome = next(i for i, k in keys.items() if k == "binding.welcome")  # the staff member's: not sealed
    async with uow_factory() as uow:  # the usual batch of sends
        await outbox.record(uow, [Outcome(i, OutcomeKind.SENT, f"m{i}", "7001") for i in keys])
    async with uow_factory() as uow:
        await lead_triage.accept(uow, actor=staff_actor(org.div1_staff_id, org.div1_id), lead_id=filed.id)
    async with uow_factory() as uow:
        [feedback] = [d for d in (await outbox.claim(uow, limit=100)).deliveries
                      if d.message_key.startswith("lead.feedback")]
    async with uow_factory() as uow:  # a failure takes the row-by-row path
        await outbox.record(uow, [Outcome(feedback.outbox_id, OutcomeKind.PERMANENT, error="Forbidden")])
    async with uow_factory(readonly=True) as uow:
        rows = {r.id: r for r in (await uow.session.exec(select(OutboxMessage))).all()}
    for sealed in (rows[receipt], rows[feedback.outbox_id]):
        assert (sealed.person_id, sealed.address, sealed.sent_address, sealed.params, sealed.buttons) == \
            (None, None, None, {}, []), sealed.message_key
        assert sealed.status in ("sent", "failed") and sealed.sealed
    assert rows[welcome].params and rows[welcome].person_id == org.div1_staff_id and not rows[welcome].sealed
    assert not any(r.person_id == org.supervisor_id and str(filed.number) in repr(r.params) for r in rows.values())


async def test_after_a_key_rotation_the_reporter_still_finds_their_leads_and_the_reveal_still_names_them(
        database_url: str, uow_factory: UnitOfWorkFactory) -> None:
    from services.platform import column_keys

    old, new = crypto.MasterKey(crypto.new_data_key()), crypto.MasterKey(crypto.new_data_key())
    keyed, engine = await _keyed_factory(database_url, old)
    try:
        org = await build_org(keyed)
        [hospital] = await add_institutions(keyed, ["第一医院"])
        async with keyed() as uow:
            filed = await leads.submit(uow, actor=supervisor(org.supervisor_id), draft=leads.LeadDraft(
                category="over_charging", what="重复收费", institution_id=hospital))
        async with keyed() as uow:
            assert await column_keys.rewrap(uow, old, new)  # what keys rotate does to the columns' data key
    finally:
        await engine.dispose()  # type: ignore[attr-defined]
    rotated, engine = await _keyed_factory(database_url, new)
    try:
        async with rotated() as uow:
            assert [m.id for m in await leads.my_leads(uow, actor=supervisor(org.supervisor_id))] == [filed.id]
            await lead_privacy.grant_custodian(uow, actor=SYSTEM_CLI, person_id=org.div1_staff_id, org="div1")
        async with rotated() as uow:
            shown = await lead_privacy.reveal(uow, actor=staff_actor(org.div1_staff_id, org.div1_id),
                                              lead_id=filed.id, reason="核实奖励领取人")
        assert shown.name == "陈监督"
    finally:
        await engine.dispose()  # type: ignore[attr-defined]
