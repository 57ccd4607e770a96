"""Partial imports with an error file, every error reachable, near-duplicates, and the
question form's key inputs. Fixtures are made up for the tests."""

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.audit import SYSTEM, AuditEntry
from core.extensions import db
from core.roles import Role
from question_bank import bank
from question_bank.bank import BankError
from question_bank.drafts import QuestionDraft
from question_bank.formats.template import ERROR_COLUMNS, HEADER
from question_bank.importing import commit_import, error_file, plan_import
from question_bank.models import Question
from question_bank.similar import Item, find_similar
from tests.factories import HEADER as SHORT_HEADER


def csv_bytes(rows, header=SHORT_HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def good(n: int) -> list[str]:
    return ["单选", f"第{n}道合格试题的题干？", "甲", "乙", "丙", "丁", "B", "", "", "", ""]


def bad_answer(n: int) -> list[str]:
    return ["单选", f"第{n}道答案有误的题干？", "甲", "乙", "", "", "E", "", "", "", ""]


def same_options(n: int) -> list[str]:
    return ["单选", f"第{n}道选项重复的题干？", "甲", "甲", "丙", "", "A", "", "", "", ""]


def question_count() -> int:
    return db.session.scalar(select(func.count(Question.id)))


def stems() -> set[str]:
    return {q.current_version.stem for q in db.session.scalars(select(Question))}


def sheet_rows(data: bytes) -> list[list]:
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    rows = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    workbook.close()
    return rows


MIXED = [good(1), bad_answer(2), good(3), same_options(4), good(5)]


# ---------------------------------------------------------------- service and error file


def test_all_or_nothing_stays_the_default(app):
    plan = plan_import(csv_bytes(MIXED), "混合.csv")
    assert len(plan.rows) == 3 and plan.error_rows == [3, 5]
    with pytest.raises(BankError):
        commit_import(SYSTEM, plan)
    db.session.rollback()
    assert question_count() == 0


def test_partial_import_writes_exactly_the_valid_rows_and_the_error_file_reimports(app):
    plan = plan_import(csv_bytes(MIXED), "混合.csv")
    created = commit_import(SYSTEM, plan, skip_invalid=True)
    db.session.commit()
    assert len(created) == 3
    assert stems() == {"第1道合格试题的题干？", "第3道合格试题的题干？", "第5道合格试题的题干？"}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "question.import"))
    assert entry.detail_dict["skipped_invalid"] == 2 and entry.detail_dict["created"] == 3
    assert "跳过 2 行有错误的" in entry.summary

    rows = sheet_rows(error_file(plan))
    assert rows[0] == [*HEADER, *ERROR_COLUMNS]
    assert [row[1] for row in rows[1:]] == ["第2道答案有误的题干？", "第4道选项重复的题干？"]
    assert [row[len(HEADER)] for row in rows[1:]] == ["第 3 行", "第 5 行"]
    reasons = [row[len(HEADER) + 1] for row in rows[1:]]
    assert "答案「E」不是已填写的选项" in reasons[0] and "「答案」" in reasons[0]
    assert "选项A与选项B重复" in reasons[1]

    # The trainer fixes the two rows in the error file and imports it as it is.
    workbook = load_workbook(io.BytesIO(error_file(plan)))
    sheet = workbook.worksheets[0]
    answer_column = HEADER.index("答案") + 1
    sheet.cell(row=2, column=answer_column, value="B")
    sheet.cell(row=3, column=HEADER.index("选项B") + 1, value="乙")
    fixed = io.BytesIO()
    workbook.save(fixed)
    again = plan_import(fixed.getvalue(), "混合-错误行.xlsx")
    assert again.errors == [] and len(again.rows) == 2
    commit_import(SYSTEM, again)
    db.session.commit()
    assert question_count() == 5


def test_a_file_level_error_cannot_be_skipped(app):
    plan = plan_import("题型,备注\n单选,x\n".encode(), "坏表头.csv")
    assert not plan.can_skip_invalid
    with pytest.raises(BankError):
        commit_import(SYSTEM, plan, skip_invalid=True)


def test_text_bank_refused_questions_go_to_the_error_file_as_template_rows(app):
    text = "一、单项选择题\n1．合格的题\nA．甲 B．乙\n答案：A\n2．没有答案的题\nA．甲 B．乙\n"
    plan = plan_import(text.encode("gbk"), "文本题库.txt")
    assert plan.format == "cn_text" and plan.can_skip_invalid
    [refused] = sheet_rows(error_file(plan))[1:]
    assert refused[:4] == ["单选", "没有答案的题", "甲", "乙"]
    assert "缺少答案" in refused[-1]


# ---------------------------------------------------------------- web


@pytest.fixture
def trainer(login_as):
    return login_as(Role.TRAINER)


def upload(client, data: bytes, filename: str):
    return client.post(
        "/bank/import",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def token_of(page: str) -> str:
    return re.search(r'action="/bank/import/([^"]+)"', page)[1]


def test_partial_import_chosen_in_the_preview_then_the_error_file(client, trainer):
    page = upload(client, csv_bytes(MIXED), "混合.csv").text
    assert "只导入通过检查的试题" in page and question_count() == 0
    token = token_of(page)
    done = client.post(f"/bank/import/{token}", data={"duplicates": "skip", "skip_invalid": "y"})
    assert done.status_code == 302 and "errors=" in done.location
    assert question_count() == 3
    result = client.get(done.location).text
    assert "跳过有错误的 2 行" in result
    link = re.search(r'href="(/bank/import/[^"]+/errors\.xlsx)"', result)[1]
    download = client.get(link)
    assert download.status_code == 200
    assert [row[1] for row in sheet_rows(download.data)[1:]] == [
        "第2道答案有误的题干？",
        "第4道选项重复的题干？",
    ]


def test_the_preview_pages_through_every_error(client, trainer):
    rows = [good(1)] + [bad_answer(n) for n in range(2, 1300)]
    rows[1283 - 2] = ["单选", "埋在第1283行的错误", "甲", "乙", "", "", "Z", "", "", "", ""]
    page = upload(client, csv_bytes(rows), "大文件.csv").text
    assert "文件有 1298 处错误" in page
    assert page.count('<td data-label="列">') == 100
    token = token_of(page)
    last = client.get(f"/bank/import/{token}?page=13").text
    assert '<td data-label="行">1299</td>' in last and "第 13 / 13 页" in last
    # The row 1,283 error is on page 13 (errors 1201–1298).
    assert '<td data-label="行">1283</td>' in last and "答案「Z」" in last
    every = []
    for number in range(1, 14):
        listed = client.get(f"/bank/import/{token}?page={number}").text
        errors = listed.split('data-part="errors"')[1].split("</table>")[0]
        every += re.findall(r'<td data-label="行">(\d+)</td>', errors)
    assert [int(n) for n in every] == list(range(3, 1301))


def test_the_preview_pages_through_every_row_read(client, trainer):
    rows = [good(n) for n in range(1, 121)]
    page = upload(client, csv_bytes(rows), "好文件.csv").text
    token = token_of(page)
    third = client.get(f"/bank/import/{token}?rows=3").text
    assert "第120道合格试题的题干？" in third and "第 3 / 3 页" in third


def test_cli_writes_every_error_to_a_file_and_imports_the_rest_when_asked(runner, app, tmp_path):
    rows = [good(n) for n in range(1, 1300)]
    rows[1283 - 2] = ["单选", "埋在第1283行的错误", "甲", "乙", "", "", "Z", "", "", "", ""]
    rows[10] = bad_answer(12)
    source = tmp_path / "大文件.csv"
    source.write_bytes(csv_bytes(rows))
    errors = tmp_path / "错误.xlsx"

    refused = runner.invoke(args=["bank", "import", str(source), "--errors-to", str(errors)])
    assert refused.exit_code != 0 and question_count() == 0
    listed = sheet_rows(errors.read_bytes())[1:]
    assert [row[len(HEADER)] for row in listed] == ["第 12 行", "第 1283 行"]

    partial = runner.invoke(
        args=["bank", "import", str(source), "--skip-invalid", "--errors-to", str(errors)]
    )
    assert partial.exit_code == 0, partial.output
    assert "已导入 1297 道试题，跳过有错误的 2 行" in partial.output
    assert question_count() == 1297


# ---------------------------------------------------------------- near-duplicates


def draft(stem: str, answer: list[int], choices=("一年", "二年", "三年")) -> QuestionDraft:
    return QuestionDraft("single", stem, list(choices), answer, [])


def test_similarity_threshold_is_ninety_percent():
    base = "违法行为在二年内未被发现的，不再给予行政处罚，法律另有规定的除外"  # 31 squashed
    near = base.replace("二年", "三年")
    far = base.replace("二年内未被发现", "五年内没有被发觉")
    found = find_similar([Item(draft(near, [1]), row=2)], [Item(draft(base, [1]), question_id=7)])
    assert [(f.other.question_id, f.percent >= 90) for f in found] == [(7, True)]
    assert (
        find_similar([Item(draft(far, [1]), row=2)], [Item(draft(base, [1]), question_id=7)]) == []
    )


def test_near_duplicates_with_both_keys_side_by_side_in_the_preview(client, trainer):
    bank.add_question(SYSTEM, draft("违法行为在几年内未被发现的，不再给予行政处罚？", [1]))
    db.session.commit()
    rows = [
        ["单选", "违法行为在几年内未被发现的，不再给予行政处罚。", "一年", "二年", "三年", "", "C"],
        ["单选", "与题库无关的另一道题，题干完全不同？", "甲", "乙", "", "", "A"],
    ]
    header = SHORT_HEADER[:7]
    page = upload(client, csv_bytes(rows, header), "相近.csv").text
    table = page.split('data-part="similar"')[1].split("</table>")[0]
    assert "第 2 行" in table and "试题 #" in table
    assert "C．三年" in table and "B．二年" in table and "答案不同" in table
    assert "与题库无关" not in table


def test_saving_a_question_like_one_in_the_bank_warns_first(client, trainer):
    bank.add_question(SYSTEM, draft("行政处罚的追责时效一般为几年？", [1]))
    db.session.commit()
    form = {
        "type": "single",
        "stem": "行政处罚的追责时效一般为几年？",
        "choice_a": "一年",
        "choice_b": "二年",
        "choice_c": "三年",
        "single_answer": "C",
        "difficulty": "",
    }
    warned = client.post("/bank/new", data=form)
    assert warned.status_code == 200 and question_count() == 1
    warning = warned.text.split('data-part="similar-warning"')[1].split("</section>")[0]
    assert "100%" in warning and "B．二年" in warning and "C．三年" in warning
    assert "答案不同" in warning and 'name="save_anyway"' in warned.text
    saved = client.post("/bank/new", data=form | {"save_anyway": "仍然保存"})
    assert saved.status_code == 302 and question_count() == 2


def test_a_stem_a_word_apart_is_found_among_many_in_the_bank(client, trainer):
    """The form looks up candidates by pieces of the stem, not by reading the whole bank."""
    for number in range(30):
        bank.add_question(SYSTEM, draft(f"第{number}号无关试题：政府信息公开的期限是多少？", [0]))
    bank.add_question(SYSTEM, draft("根据行政处罚法，行政处罚的追责时效一般为几年？", [1]))
    db.session.commit()
    form = {
        "type": "single",
        "stem": "根据行政处罚法,行政处罚的追责时效通常为几年?",
        "choice_a": "一年",
        "choice_b": "二年",
        "choice_c": "三年",
        "single_answer": "B",
        "difficulty": "",
    }
    warned = client.post("/bank/new", data=form)
    assert warned.status_code == 200, warned.status_code
    warning = warned.text.split('data-part="similar-warning"')[1].split("</section>")[0]
    assert "追责时效一般为几年" in warning and "无关试题" not in warning


def test_a_new_question_unlike_any_other_saves_at_once(client, trainer):
    bank.add_question(SYSTEM, draft("行政处罚的追责时效一般为几年？", [1]))
    db.session.commit()
    form = {
        "type": "single",
        "stem": "宪法宣誓制度自哪一年起实行？",
        "choice_a": "2016年",
        "choice_b": "2018年",
        "single_answer": "A",
        "difficulty": "",
    }
    assert client.post("/bank/new", data=form).status_code == 302
    assert question_count() == 2


# ---------------------------------------------------------------- the form's key inputs


def test_single_key_is_chosen_with_radio_buttons_and_multiple_with_check_boxes(client, trainer):
    page = client.get("/bank/new").text
    radios = re.findall(r'<input[^>]* name="single_answer" type="radio" value="([A-H])">', page)
    boxes = re.findall(r'<input[^>]* name="answer" type="checkbox" value="([A-H])">', page)
    assert radios == list("ABCDEFGH") and boxes == list("ABCDEFGH")
    radio_part = page.split('name="single_answer"')[0].rsplit("data-for-types=", 1)[1]
    assert radio_part.startswith('"single"')


def test_an_empty_single_key_is_flagged_on_the_radio_buttons(client, trainer):
    form = {
        "type": "single",
        "stem": "没有选答案的题？",
        "choice_a": "甲",
        "choice_b": "乙",
        "difficulty": "",
    }
    page = client.post("/bank/new", data=form).text
    radio_block = page.split('data-for-types="single"')[1].split("data-for-types=")[0]
    assert "未设置正确答案" in radio_block and "is-invalid" in radio_block
    assert question_count() == 0


def test_an_edit_rewording_the_stem_like_another_question_warns_first(client, trainer):
    bank.add_question(SYSTEM, draft("根据行政处罚法，行政处罚的追责时效一般为几年？", [1]))
    edited = bank.add_question(SYSTEM, draft("政府信息公开申请的答复期限是多少个工作日？", [1]))
    db.session.commit()
    form = {
        "type": "single",
        "stem": "根据行政处罚法，行政处罚的追责时效通常为几年？",
        "choice_a": "一年",
        "choice_b": "二年",
        "choice_c": "三年",
        "single_answer": "B",
        "difficulty": "",
        "change_note": "改写题干",
    }
    warned = client.post(f"/bank/{edited.id}/edit", data=form)
    assert warned.status_code == 200
    warning = warned.text.split('data-part="similar-warning"')[1].split("</section>")[0]
    assert f"试题 #{edited.id - 1}" in warning and f"试题 #{edited.id}<" not in warning
    assert "保存修改" in warning
    assert bank.current_draft(edited).stem.startswith("政府信息公开")
    saved = client.post(f"/bank/{edited.id}/edit", data=form | {"save_anyway": "仍然保存"})
    assert saved.status_code == 302
    db.session.expire_all()  # the request ran in its own session
    assert bank.current_draft(edited).stem == "根据行政处罚法，行政处罚的追责时效通常为几年？"


def test_an_edit_keeping_the_stem_is_not_held_up_by_a_similar_question(client, trainer):
    bank.add_question(SYSTEM, draft("根据行政处罚法，行政处罚的追责时效一般为几年？", [1]))
    twin = bank.add_question(SYSTEM, draft("根据行政处罚法，行政处罚的追责时效通常为几年？", [1]))
    db.session.commit()
    form = {
        "type": "single",
        "stem": "根据行政处罚法，行政处罚的追责时效通常为几年？",
        "choice_a": "一年",
        "choice_b": "二年",
        "choice_c": "三年",
        "single_answer": "C",
        "difficulty": "",
        "change_note": "改答案",
    }
    saved = client.post(f"/bank/{twin.id}/edit", data=form)
    assert saved.status_code == 302
    db.session.expire_all()
    assert bank.current_draft(twin).answer == [2]


def test_rare_bigrams_past_the_first_six_are_indexed_common_ones_are_not():
    from collections import Counter

    from question_bank.similar import MAX_PREFIX, MIN_PREFIX, _prefix

    grams = {f"{chr(0x4E00 + n)}{chr(0x4E00 + n + 1)}" for n in range(30)}
    ordered = sorted(grams)
    rare = Counter(dict.fromkeys(ordered, 1))
    common = Counter(dict.fromkeys(ordered, 100))
    assert len(_prefix(grams, rare, rare=5)) == MAX_PREFIX
    assert len(_prefix(grams, common, rare=5)) == MIN_PREFIX
