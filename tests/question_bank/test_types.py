"""The question-type registry: every type goes the whole way from a draft to a grade
through question_bank.types alone, and the pages and the exam script take the types'
labels from it."""

import json
import random
import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.roles import Role
from question_bank import types
from question_bank.drafts import QuestionDraft, clean_draft, validate_draft
from question_bank.types import TYPES, AnswerError, Key, MultiplePolicy

#: one valid draft per registered type; a new type must add its own here
SAMPLES = {
    "single": QuestionDraft(
        "single", "宪法是国家的什么法？", ["普通法", "根本法", "部门法"], [1], []
    ),
    "multiple": QuestionDraft(
        "multiple", "行政处罚的种类有？", ["警告", "表扬", "罚款", "记功"], [0, 2], []
    ),
    "true_false": QuestionDraft(
        "true_false", "宪法具有最高的法律效力。", ["正确", "错误"], [0], []
    ),
    "fill_blank": QuestionDraft(
        "fill_blank", "第一空____，第二空____。", [], [], [["警告"], ["罚款", "罚金"]]
    ),
    "short_answer": QuestionDraft(
        "short_answer",
        "简述示范条例规定的两种处理方式。",
        [],
        [],
        [],
        model_answer="参考秘文：警告和罚款。",
        marking_points=[["要点秘文一：警告", "2"], ["要点秘文二：罚款", "3"]],
        max_chars=200,
    ),
    "essay": QuestionDraft(
        "essay",
        "论述示范条例的立法目的。",
        [],
        [],
        [],
        model_answer="参考秘文：保护权益。",
        marking_points=[["要点秘文三", "10"]],
    ),
}
STATIC = Path(__file__).resolve().parents[2] / "static"


def test_every_registered_type_has_a_sample_and_a_label():
    assert set(SAMPLES) == set(TYPES)
    assert {type_id: kind.label for type_id, kind in TYPES.items()} == types.QUESTION_TYPES
    assert all(kind.input in ("radio", "checkbox", "text") for kind in TYPES.values())
    assert all(
        kind.editor in ("choices", "judgement", "blanks", "written") for kind in TYPES.values()
    )


def _version(draft: QuestionDraft) -> SimpleNamespace:
    """A stored question version as the registry reads one: by its attributes."""
    draft = clean_draft(draft)
    return SimpleNamespace(
        type=draft.type,
        choices=draft.choices,
        answer=draft.answer,
        blanks=draft.blanks,
        model_answer=draft.model_answer,
        marking_points=draft.marking_points,
        max_chars=draft.max_chars,
    )


def _right_response(payload: dict, version) -> list:
    """What a candidate who knows the key sends, built from what the browser got."""
    if payload.get("multiline"):
        return ["警告和罚款"]
    if payload["input"] == "text":
        return [alternatives[-1] for alternatives in version.blanks]
    return [choice["value"] for choice in payload["choices"] if choice["value"] in version.answer]


@pytest.mark.parametrize("type_id", sorted(TYPES))
def test_each_type_round_trips_draft_to_paper_to_grade(type_id):
    kind = TYPES[type_id]
    assert validate_draft(SAMPLES[type_id]) == {}
    version = _version(SAMPLES[type_id])
    order = list(range(len(version.choices)))
    if kind.shuffles:
        random.Random(3).shuffle(order)
    payload = kind.paper(version, order)
    assert payload["input"] == kind.input
    # The payload never carries the key: no key field, and every choice exactly once.
    assert not {"answer", "key", "correct"} & set(payload)
    assert sorted(choice["value"] for choice in payload["choices"]) == sorted(order)
    dumped = json.dumps(payload, ensure_ascii=False)
    if kind.marked:  # one text box; never the model answer or a marking point
        assert payload["blanks"] == 1 and payload["multiline"] and "秘文" not in dumped
    elif kind.input == "text":
        assert payload["blanks"] == len(version.blanks)
        assert not any(answer in dumped for blank in version.blanks for answer in blank)

    raw = _right_response(payload, version)
    stored = kind.parse_answer(
        json.loads(json.dumps(raw)), len(version.choices), len(version.blanks)
    )
    key = Key.of(version)
    for policy in MultiplePolicy:
        # A written answer earns nothing from a key: markers mark it.
        full = Decimal("0.00") if kind.marked else Decimal("3.00")
        assert types.grade(key, stored, Decimal(3), policy) == full
        assert types.grade(key, [], Decimal(3), policy) == Decimal("0.00")
    assert kind.key_text(version)


@pytest.mark.parametrize(
    ("type_id", "raw", "code"),
    [
        ("single", [3], "choice_out_of_range"),
        ("single", [-1], "choice_out_of_range"),
        ("single", [0, 1], "invalid_answer"),
        ("single", [1, 1], "repeated_choice"),
        ("single", ["1"], "invalid_answer"),
        ("single", [True], "invalid_answer"),
        ("single", 1, "invalid_answer"),
        ("single", None, "invalid_answer"),
        ("multiple", [0, 4], "choice_out_of_range"),
        ("multiple", [2, 0, 2], "repeated_choice"),
        ("multiple", [0, 2.0], "invalid_answer"),
        ("multiple", {"0": True}, "invalid_answer"),
        ("true_false", [2], "choice_out_of_range"),
        ("true_false", [0, 1], "invalid_answer"),
        ("fill_blank", [0], "invalid_answer"),
        ("fill_blank", "警告", "invalid_answer"),
        ("fill_blank", ["警告", "罚款", "没收"], "invalid_answer"),
        ("fill_blank", ["长" * 201], "invalid_answer"),
        ("fill_blank", [None], "invalid_answer"),
        ("short_answer", "一段话", "invalid_answer"),
        ("short_answer", ["一段", "两段"], "invalid_answer"),
        ("short_answer", ["长" * 801], "too_long"),
        ("essay", [3], "invalid_answer"),
    ],
)
def test_answers_a_question_cannot_take_are_refused(type_id, raw, code):
    version = _version(SAMPLES[type_id])
    with pytest.raises(AnswerError) as refused:
        TYPES[type_id].parse_answer(raw, len(version.choices), len(version.blanks))
    assert refused.value.code == code
    assert re.search(r"[\u4e00-\u9fff]", refused.value.message)


@pytest.mark.parametrize(
    ("type_id", "raw", "stored"),
    [
        ("single", [], []),
        ("multiple", [2, 0], [0, 2]),  # sorted, as the grader and the answer sheet expect
        ("multiple", [3, 1, 0, 2], [0, 1, 2, 3]),
        ("true_false", [1], [1]),
        ("fill_blank", [], []),
        ("fill_blank", ["警告"], ["警告"]),  # the last blanks may be left empty
        ("fill_blank", [" 警告 ", "长" * 200], [" 警告 ", "长" * 200]),
    ],
)
def test_answers_are_normalised(type_id, raw, stored):
    version = _version(SAMPLES[type_id])
    assert TYPES[type_id].parse_answer(raw, len(version.choices), len(version.blanks)) == stored


def test_multiple_choice_policy_is_the_exams():
    version = _version(SAMPLES["multiple"])
    key = Key.of(version)
    assert types.grade(key, [0], Decimal(2), MultiplePolicy.ALL_OR_NOTHING) == Decimal("0.00")
    assert types.grade(key, [0], Decimal(2), MultiplePolicy.PARTIAL) == Decimal("1.00")
    assert types.grade(key, [0, 1], Decimal(2), MultiplePolicy.PARTIAL) == Decimal("0.00")


def test_key_texts():
    shown = {
        type_id: TYPES[type_id].key_text(_version(draft)) for type_id, draft in SAMPLES.items()
    }
    assert shown == {
        "single": "B",
        "multiple": "AC",
        "true_false": "正确",
        "fill_blank": "第1空：警告；第2空：罚款 / 罚金",
        "short_answer": "参考秘文：警告和罚款。",
        "essay": "参考秘文：保护权益。",
    }
    assert TYPES["fill_blank"].key_cell(_version(SAMPLES["fill_blank"])) == "警告|罚款/罚金"


def test_an_unknown_type_is_refused_everywhere():
    with pytest.raises(ValueError, match="unknown question type"):
        types.of("oral")
    with pytest.raises(ValueError, match="unknown question type"):
        Key("oral", answer=(0,))
    draft = QuestionDraft("oral", "题干", [], [], [])
    assert validate_draft(draft)["type"] == "题型必须是单选、多选、判断、填空、简答或论述"


def test_the_exam_script_has_no_table_of_types():
    """The exam page takes labels and inputs from the paper: no type id or label in JS."""
    script = (STATIC / "js" / "exam.js").read_text(encoding="utf-8")
    for type_id, kind in TYPES.items():
        assert f'"{type_id}"' not in script
        assert kind.label not in script
    assert "item.type_label" in script and "item.input" in script


def test_the_edit_form_shows_each_types_inputs_from_the_registry(client, login_as):
    login_as(Role.TRAINER)
    page = client.get("/bank/new").text
    shown = set(re.findall(r'data-for-types="([^"]*)"', page))
    assert shown == {
        " ".join(types.with_editor(*part))
        for part in (
            ("choices",),
            ("choices", "checkbox"),  # 多选: check boxes
            ("choices", "radio"),  # 单选: radio buttons
            ("judgement",),
            ("blanks",),
            ("written",),
        )
    }
    options = re.findall(r'<option[^>]*value="(\w+)"[^>]*>([^<]+)</option>', page)
    assert {value: label for value, label in options if value in TYPES} == types.QUESTION_TYPES
