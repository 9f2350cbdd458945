"""The pure helpers of the supervisor registry's bot commands: button data (stale or crafted data refused),
the import caption, the wording of a rejected row, and word matching (002 §3–§8)."""

from __future__ import annotations

from datetime import date

from bot.handlers.supervisor_files import CAPTIONED, caption_command, describe
from services.buttons import parse
from services.platform.actions import Refusal
from services.platform.tables import Issue
from services.supervisors.actions import BackToCard, ChooseEndGround, ConfirmEnd, PickEndGround
from services.supervisors.supervisor_io import column_header
from services.supervisors.supervisors import EndReason, SupervisorView, matches


def _view(**overrides: object) -> SupervisorView:
    values: dict[str, object] = dict(
        person_id=7, name="刘代表", id_number="110105********002X", mobile="", org_code="div1", source="deputy",
        appointment_method="special_invitation", certificate_number="JD-1", work_id_number="", term_start=None,
        term_end=date(2029, 1, 1), status="active", end_reason="")
    values.update(overrides)
    return SupervisorView(**values)  # type: ignore[arg-type]


def test_well_formed_buttons_are_read_into_verb_person_and_ground() -> None:
    assert parse("sv:end:12") == ChooseEndGround(12)
    assert parse("sv:back:12") == BackToCard(12)
    assert parse("sv:g:12:resigned") == PickEndGround(12, EndReason.RESIGNED)
    assert parse("sv:ok:12:duty_breach") == ConfirmEnd(12, EndReason.DUTY_BREACH)


def test_the_registry_buttons_keep_their_wire_format() -> None:
    assert ChooseEndGround(12).encode() == "sv:end:12"
    assert BackToCard(12).encode() == "sv:back:12"
    assert PickEndGround(12, EndReason.RESIGNED).encode() == "sv:g:12:resigned"
    assert ConfirmEnd(12, EndReason.TERM_EXPIRED).encode() == "sv:ok:12:term_expired"


def test_stale_or_crafted_button_data_is_refused() -> None:
    for data in ("", "sv:", "sv:end", "sv:end:x", "sv:drop:12", "sv:g:12", "sv:ok:12:bogus", "sv:end:12:resigned",
                 "sv:ok:1234567890123:resigned", "sv:ok:-1:resigned", "sv:g:12:resigned:more"):
        assert isinstance(parse(data), Refusal), data


def test_the_import_command_is_recognised_in_a_caption_with_strict_mode() -> None:
    assert caption_command("/supervisors_import") == (True, False)
    assert caption_command("/supervisors_import@jiandu_bot 严格") == (True, True)
    assert caption_command("/SUPERVISORS_IMPORT strict") == (True, True)
    assert caption_command("strict") == (False, False)
    assert caption_command(None) == (False, False)
    assert caption_command("/supervisors_importx") == (False, False)


def test_the_document_handler_takes_the_captions_the_command_reader_accepts() -> None:
    for caption in ("/supervisors_import", "/supervisors_import@jiandu_bot 严格", "/SUPERVISORS_IMPORT strict",
                    "  /supervisors_import"):
        assert CAPTIONED.pattern.search(caption) is not None, caption
        assert caption_command(caption)[0], caption
    for caption in ("strict", "/supervisors_importx", "x /supervisors_import"):
        assert CAPTIONED.pattern.search(caption) is None, caption
        assert not caption_command(caption)[0], caption


def test_a_rejection_names_the_column_by_its_chinese_header_in_the_readers_language() -> None:
    assert column_header("id_number") == "身份证号码"
    assert column_header("method") == "聘任方式"
    assert column_header("work_id_number") == "工作证编号"
    assert column_header("unknown") == "unknown"
    issue = Issue(4, "id_number", "invalid", "ID number: bad check digit")
    assert describe("zh", issue) == "身份证号码：内容不符合要求（ID number: bad check digit）"
    assert describe("en", issue) == "身份证号码: not valid (ID number: bad check digit)"


def test_every_word_must_match_the_row_case_insensitively() -> None:
    view = _view()
    assert matches(view, [])
    assert matches(view, ["刘", "DIV1", "deputy"])
    assert matches(view, ["jd-1", "active"])
    assert not matches(view, ["刘", "div2"])
    assert matches(_view(status="ended", end_reason="resigned"), ["resigned"])
