"""The institution directory (issue: expert pool, "Institution directory")."""

from __future__ import annotations

import pytest

from services.institutions import institutions
from services.platform.errors import DuplicateCreditCode, InvalidInput
from services.platform.roles import SYSTEM_CLI
from storage.uow import UnitOfWorkFactory
from tests.builders import build_org

HUAWEI = "914403001922038216"


async def _add(uow: UnitOfWorkFactory, name: str, kind: str = "hospital", code: str | None = None) -> int:
    async with uow() as u:
        institution = await institutions.add_institution(u, actor=SYSTEM_CLI, name=name, kind=kind, credit_code=code)
    assert institution.id is not None
    return institution.id


async def test_an_institution_is_found_by_any_part_of_its_chinese_name(uow_factory: UnitOfWorkFactory) -> None:
    await _add(uow_factory, "石河子大学医学院第一附属医院")
    await _add(uow_factory, "新疆生产建设兵团医院")
    await _add(uow_factory, "石河子市人民医院")
    async with uow_factory() as u:
        found = {i.name for i in await institutions.search(u, "石河子")}
        assert found == {"石河子大学医学院第一附属医院", "石河子市人民医院"}
        assert [i.name for i in await institutions.search(u, "石河子 人民")] == ["石河子市人民医院"]
        assert await institutions.search(u, "   ") == []
        assert await institutions.search(u, "100%") == []


async def test_a_credit_code_is_validated_normalized_unique_and_searchable(uow_factory: UnitOfWorkFactory) -> None:
    await _add(uow_factory, "华为技术有限公司", "other", " 914403001922038216 ".lower())
    with pytest.raises(DuplicateCreditCode):
        await _add(uow_factory, "另一家", "other", HUAWEI)
    with pytest.raises(InvalidInput) as refused:
        await _add(uow_factory, "假公司", "other", "911100001000128281")
    assert refused.value.params["reason"] == "check_digit"
    async with uow_factory() as u:
        assert [i.name for i in await institutions.search(u, HUAWEI)] == ["华为技术有限公司"]


async def test_an_unknown_kind_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(InvalidInput):
        await _add(uow_factory, "某机构", "casino")


async def test_an_institution_can_belong_to_a_division(uow_factory: UnitOfWorkFactory) -> None:
    org = await build_org(uow_factory)
    async with uow_factory() as u:
        hospital = await institutions.add_institution(
            u, actor=SYSTEM_CLI, name="第一师医院", kind="hospital", org="div1", level="三级甲等", designated=True
        )
    assert (hospital.org_unit_id, hospital.level, hospital.designated) == (org.div1_id, "三级甲等", True)
