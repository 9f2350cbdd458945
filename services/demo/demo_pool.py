"""Demo data of the expert pool: designated institutions with valid unified social credit codes,
and expert records made through the annex-2 import (so they are validated like real ones).

The experts spread over the four categories, the divisions and the employers; a few are chief
experts, a few are close to 65 (one turns 65 within a month, so advancing the sandbox clock shows
the automatic exit), and some changed employer within the last two years (the recusal rule reads
that history). Everything is deterministic for a given random generator.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, timedelta

from services.institutions import institutions
from services.platform import audit
from services.platform.identifiers import credit_code_check_char, id_check_char, org_code_check_char
from services.platform.roles import Actor
from services.pool import expert_io
from storage.pool import ExpertEmployment, Institution
from storage.uow import UnitOfWorkFactory

# (name, kind, level, division code or None, designated)
INSTITUTIONS: tuple[tuple[str, str, str | None, str | None, bool], ...] = (
    ("新疆生产建设兵团医院", "hospital", "三级甲等", None, True),
    ("新疆生产建设兵团第一师医院", "hospital", "三级甲等", "div1", True),
    ("第一师阿拉尔医院", "hospital", "二级甲等", "div1", True),
    ("阿拉尔市人民医院", "hospital", "二级甲等", "div1", True),
    ("第一师十团医院", "hospital", "一级", "div1", True),
    ("阿拉尔市金银川社区卫生服务中心", "clinic", None, "div1", True),
    ("阿拉尔市百姓康大药房", "pharmacy", None, "div1", True),
    ("阿拉尔市同仁堂医药连锁有限公司塔河店", "pharmacy", None, "div1", True),
    ("新疆生产建设兵团第二师医院", "hospital", "三级乙等", "div2", True),
    ("第二师库尔勒医院", "hospital", "二级甲等", "div2", True),
    ("铁门关市人民医院", "hospital", "二级乙等", "div2", True),
    ("第二师二十九团医院", "hospital", "一级", "div2", True),
    ("铁门关市博古其社区卫生服务中心", "clinic", None, "div2", True),
    ("铁门关市康宁大药房", "pharmacy", None, "div2", True),
    ("库尔勒华康医药零售连锁有限公司铁门关店", "pharmacy", None, "div2", True),
    ("石河子大学医学院第一附属医院", "hospital", "三级甲等", "div8", True),
    ("石河子市人民医院", "hospital", "三级乙等", "div8", True),
    ("第八师石河子总场医院", "hospital", "二级甲等", "div8", True),
    ("石河子绿洲医院", "hospital", "二级乙等", "div8", True),
    ("第八师一四三团医院", "hospital", "一级", "div8", True),
    ("石河子市向阳街道社区卫生服务中心", "clinic", None, "div8", True),
    ("石河子市老街口腔诊所", "clinic", None, "div8", True),
    ("石河子益康大药房连锁有限公司", "pharmacy", None, "div8", True),
    ("石河子市国大药房北三路店", "pharmacy", None, "div8", True),
    ("第八师中医医院", "hospital", "二级甲等", "div8", True),
    ("石河子大学", "university", None, "div8", False),
    ("塔里木大学", "university", None, "div1", False),
    ("兵团卫生健康委员会", "government", None, None, False),
    ("中国人寿保险股份有限公司新疆生产建设兵团分公司", "insurer", None, None, False),
    ("新疆天山会计师事务所有限公司", "other", None, "div8", False),
)
REGIONS = {"div1": "659002", "div2": "659006", "div8": "659001", None: "659001"}  # 阿拉尔, 铁门关, 石河子

CATEGORY_LABEL = {
    "supervision": "医保监管类", "clinical": "医药临床类", "informatics": "医保信息类", "management": "管理类",
}
TITLE_LEVEL_LABEL = {"senior": "正高", "associate_senior": "副高", "intermediate": "中级", "none": "无"}
SUBCATEGORY_LABEL = {"medicine": "医学", "pharmacy": "药学", "consumables": "医用耗材", "lab_reagents": "检验试剂"}
TITLES = {
    "supervision": (("医保基金监管科科长", "none", "section"), ("副主任医师", "associate_senior", "section")),
    "clinical": (("主任医师", "senior", "none"), ("副主任医师", "associate_senior", "none"),
                 ("主任药师", "senior", "none"), ("副主任技师", "associate_senior", "none")),
    "informatics": (("高级工程师", "associate_senior", "none"), ("工程师", "intermediate", "none")),
    "management": (("高级会计师", "associate_senior", "none"), ("高级审计师", "associate_senior", "none")),
}
SPECIALTIES = {
    "supervision": ("医保基金监管 飞行检查", "医疗服务价格 收费检查", "医保经办 稽核"),
    "clinical": ("心血管内科", "骨科 医用耗材", "临床药学", "医学检验", "普外科", "儿科", "影像 医用设备"),
    "informatics": ("医保大数据分析", "智能监控规则", "医院信息系统"),
    "management": ("财务审计", "医院成本核算", "商业保险理赔审核"),
}
EMPLOYER_KINDS = {
    "supervision": ("government", "hospital", "insurer"),
    "clinical": ("hospital", "hospital", "pharmacy", "clinic"),
    "informatics": ("hospital", "university"),
    "management": ("university", "insurer", "other", "hospital"),
}
HEADERS = ("姓名", "身份证号码", "学历", "毕业院校", "主要专业及相关专业", "参加工作时间", "工作单位",
           "工作单位统一社会信用代码", "职务级别", "专业职称", "职称等级", "职称属信息类", "职称属财务审计类",
           "财务审计专业", "注册会计师", "专业类型", "临床子类", "专业细分", "专业标签", "首席专家", "手机",
           "飞行检查经历", "所属单位")
CHIEF_EVERY = 13
NEAR_65 = (date(1961, 12, 20), date(1962, 1, 15), date(1962, 5, 3), date(1962, 9, 9))


@dataclass(frozen=True)
class DemoInstitution:
    """A demo institution as created."""

    id: int
    name: str
    kind: str
    credit_code: str | None
    org: str | None


def credit_code(rng: random.Random, *, kind: str, region: str) -> str:
    """A valid unified social credit code (GB 32100) of a plausible shape for ``kind``."""
    authority = "91" if kind in ("pharmacy", "insurer", "other", "clinic") else "12"
    body = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = authority + region + body + org_code_check_char(body)
    return first17 + credit_code_check_char(first17)


def id_number(rng: random.Random, *, region: str, birth: date, male: bool) -> str:
    """A valid resident ID number (GB 11643) for the given birth date and sex."""
    sequence = rng.randrange(0, 50) * 2 + (1 if male else 0)
    first17 = f"{region}{birth:%Y%m%d}{rng.randrange(0, 10)}{sequence:02d}"
    return first17 + id_check_char(first17)


async def add_institutions(uow_factory: UnitOfWorkFactory, actor: Actor, rng: random.Random) -> list[DemoInstitution]:
    """The institution directory: hospitals, clinics and pharmacies of each division, and a few others."""
    made = []
    for name, kind, level, org, designated in INSTITUTIONS:
        code = credit_code(rng, kind=kind, region=REGIONS[org])
        async with uow_factory() as uow:
            institution = await institutions.add_institution(
                uow, actor=actor, name=name, kind=kind, credit_code=code, level=level, org=org, designated=designated
            )
        assert institution.id is not None
        made.append(DemoInstitution(institution.id, name, kind, code, org))
    return made


def expert_rows(
    rng: random.Random, names: list[str], divisions: list[str], directory: list[DemoInstitution], *, today: date
) -> list[dict[str, str]]:
    """One import row per name: categories in turn, employers of a fitting kind, some chiefs, some near 65."""
    rows = []
    categories = list(CATEGORY_LABEL)
    for index, name in enumerate(names):
        category = categories[index % len(categories)]
        second = categories[(index + 1) % len(categories)] if index % 5 == 4 else None
        division = divisions[index % len(divisions)]
        birth = NEAR_65[index // 17] if index % 17 == 3 and index // 17 < len(NEAR_65) else date(
            rng.randrange(1966, 1988), rng.randrange(1, 13), rng.randrange(1, 29))
        title, title_level, post_level = rng.choice(TITLES[category])
        kinds = EMPLOYER_KINDS[category]
        choices = [i for i in directory if i.kind in kinds and i.org in (division, None)] or [
            i for i in directory if i.kind in kinds]
        employer = rng.choice(choices)
        subcategory = rng.choice(list(SUBCATEGORY_LABEL)) if "clinical" in (category, second) else None
        if category == "informatics" and title_level == "intermediate":
            work_start = date(min(birth.year + 23, today.year - 9), 7, 1)
        else:
            work_start = date(min(birth.year + 24, today.year - 6), 7, 1)
        rows.append({
            "姓名": name,
            "身份证号码": id_number(rng, region=REGIONS[division], birth=birth, male=rng.random() < 0.55),
            "学历": rng.choice(("本科", "本科", "硕士研究生", "博士研究生")),
            "毕业院校": rng.choice(("新疆医科大学", "石河子大学", "四川大学", "西安交通大学", "塔里木大学")),
            "主要专业及相关专业": {"clinical": "临床医学", "informatics": "计算机科学与技术",
                                  "management": "会计学", "supervision": "公共事业管理"}[category],
            "参加工作时间": work_start.isoformat(),
            "工作单位": employer.name,
            "工作单位统一社会信用代码": employer.credit_code or "",
            "职务级别": {"none": "无", "section": "科级"}[post_level],
            "专业职称": title,
            "职称等级": TITLE_LEVEL_LABEL[title_level],
            "职称属信息类": "是" if category == "informatics" else "否",
            "职称属财务审计类": "是" if category == "management" else "否",
            "财务审计专业": "是" if category == "management" else "否",
            "注册会计师": "是" if category == "management" and index % 3 == 0 else "否",
            "专业类型": "、".join(CATEGORY_LABEL[c] for c in (category, second) if c),
            "临床子类": SUBCATEGORY_LABEL[subcategory] if subcategory else "",
            "专业细分": rng.choice(SPECIALTIES[category]),
            "首席专家": "是" if index % CHIEF_EVERY == 0 else "否",
            "手机": f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}",
            "飞行检查经历": "是" if index % 4 == 0 else "否",
            "所属单位": division,
        })
    return rows


def to_csv(rows: list[dict[str, str]]) -> bytes:
    """The rows as a UTF-8 CSV with the import's Chinese headers."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(HEADERS))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


async def import_experts(
    uow_factory: UnitOfWorkFactory, actor: Actor, rows: list[dict[str, str]]
) -> list[int]:
    """Import the rows; returns the new experts' person ids in row order."""
    async with uow_factory() as uow:
        report = await expert_io.import_experts(uow, actor=actor, source=to_csv(rows), filename="demo-experts.csv",
                                                strict=True, admit_ineligible="sandbox demo roster (generated)")
    if report.rejected:
        raise ValueError(f"demo experts rejected: {report.rejected[:3]}")
    return list(report.created_ids)


async def add_past_employers(
    uow_factory: UnitOfWorkFactory, actor: Actor, rng: random.Random, expert_ids: list[int],
    directory: list[DemoInstitution],
) -> int:
    """Some experts changed employer within the last two years (000 §15(一) recusal reads this)."""
    hospitals = [i for i in directory if i.kind == "hospital"]
    count = 0
    for expert_id in expert_ids[1::7]:
        async with uow_factory() as uow:
            expert = await uow.people.expert(expert_id)
            if expert is None:
                continue
            past = rng.choice([h for h in hospitals if h.id != expert.employer_id])
            left = uow.today() - timedelta(days=rng.randrange(90, 700))
            institution = await uow.session.get(Institution, past.id)
            assert institution is not None
            uow.session.add(ExpertEmployment(expert_id=expert_id, institution_id=past.id,
                                             institution_name=institution.name, post="医师",
                                             start_date=left - timedelta(days=365 * 6), end_date=left))
            await audit.record(uow, at=uow.now(), actor=actor.label, action="expert.history_added",
                               object_type="person", object_id=expert_id,
                               details={"institution_id": past.id, "end_date": left.isoformat()})
            await uow.commit()
            count += 1
    return count
