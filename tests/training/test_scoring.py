from decimal import Decimal

import pytest

from question_bank.types import TYPES, Key, MultiplePolicy, grade, normalise_blank
from training import scoring
from training.scoring import Result, counted_attempt, total

ALL = MultiplePolicy.ALL_OR_NOTHING
PARTIAL = MultiplePolicy.PARTIAL

SINGLE = Key("single", answer=(2,))
TRUE_FALSE = Key("true_false", answer=(1,))
TWO_OF_FOUR = Key("multiple", answer=(0, 2))
THREE_OF_FOUR = Key("multiple", answer=(0, 1, 3))
ONE_BLANK = Key("fill_blank", blanks=(("15日", "十五日"),))
THREE_BLANKS = Key("fill_blank", blanks=(("警告",), ("罚款",), ("没收违法所得", "没收非法财物")))


def test_registry_covers_every_question_type():
    assert set(TYPES) == {"single", "multiple", "true_false", "fill_blank", "short_answer", "essay"}


D = Decimal


@pytest.mark.parametrize(
    ("marks", "double", "gap", "expected", "needed"),
    [
        ({}, False, None, None, 1),
        ({1: D("7.5")}, False, None, D("7.5"), None),
        ({1: D(7)}, True, D(2), None, 2),
        ({1: D(7), 2: D(6)}, True, D(2), D("6.50"), None),  # within the gap: the mean
        ({1: D(7), 2: D(8)}, True, None, D("7.50"), None),  # no gap: always the mean
        ({1: D("6.25"), 2: D("6.50")}, True, D(2), D("6.38"), None),  # rounded half up
        ({1: D(2), 2: D(8)}, True, D(2), None, 3),  # apart: a third marker decides
        ({1: D(2), 2: D(8), 3: D(5)}, True, D(2), D(5), None),
        ({1: D(4), 2: D(6)}, True, D(2), D("5.00"), None),  # exactly the gap: agreed
    ],
)
def test_written_score_and_the_round_needed(marks, double, gap, expected, needed):
    assert scoring.written_score(marks, double, gap) == expected
    assert scoring.round_needed(marks, double, gap) == needed


# Results are compared as strings: that checks the value and that it has exactly 2 places.
@pytest.mark.parametrize(
    ("key", "response", "points", "expected"),
    [
        (SINGLE, [2], "2", "2.00"),
        (SINGLE, (2,), "2", "2.00"),
        (SINGLE, [1], "2", "0.00"),
        (SINGLE, [2, 1], "2", "0.00"),  # two answers to a single choice question
        (SINGLE, [2, 2], "2", "2.00"),  # duplicates are ignored
        (SINGLE, None, "2", "0.00"),
        (SINGLE, [], "2", "0.00"),
        (SINGLE, [9], "2", "0.00"),  # out of range
        (SINGLE, [-1], "2", "0.00"),
        (SINGLE, "2", "2", "0.00"),  # a string, not a list of indices
        (SINGLE, 2, "2", "0.00"),  # a bare int
        (SINGLE, ["2"], "2", "0.00"),
        (SINGLE, [2.0], "2", "0.00"),
        (SINGLE, {"answer": 2}, "2", "0.00"),
        (SINGLE, [2], "1.5", "1.50"),
        (TRUE_FALSE, [1], "1", "1.00"),
        (TRUE_FALSE, [0], "1", "0.00"),
        (TRUE_FALSE, [0, 1], "1", "0.00"),
        (TRUE_FALSE, None, "1", "0.00"),
        (TRUE_FALSE, [], "1", "0.00"),
        (TRUE_FALSE, [True], "1", "0.00"),  # True == 1 but is not an index
        (TRUE_FALSE, "1", "1", "0.00"),
    ],
)
def test_single_and_true_false(key, response, points, expected):
    for policy in MultiplePolicy:  # the policy only matters for multiple choice
        assert str(grade(key, response, Decimal(points), policy)) == expected


@pytest.mark.parametrize(
    ("key", "response", "points", "all_or_nothing", "partial"),
    [
        (TWO_OF_FOUR, [0, 2], "2", "2.00", "2.00"),
        (TWO_OF_FOUR, [2, 0], "2", "2.00", "2.00"),  # order is irrelevant
        (TWO_OF_FOUR, [0, 2, 2, 0], "2", "2.00", "2.00"),  # duplicates are ignored
        (TWO_OF_FOUR, [0], "2", "0.00", "1.00"),  # 1 of 2 correct: half the points
        (TWO_OF_FOUR, [0, 0], "2", "0.00", "1.00"),  # a duplicate is not a second choice
        (TWO_OF_FOUR, [0, 1], "2", "0.00", "0.00"),  # any wrong choice earns 0
        (TWO_OF_FOUR, [0, 1, 2], "2", "0.00", "0.00"),  # all correct plus one wrong
        (TWO_OF_FOUR, [1, 3], "2", "0.00", "0.00"),
        (TWO_OF_FOUR, [0, 1, 2, 3], "2", "0.00", "0.00"),  # ticking everything
        (TWO_OF_FOUR, [0, 7], "2", "0.00", "0.00"),  # out of range counts as wrong
        (TWO_OF_FOUR, [0, -1], "2", "0.00", "0.00"),
        (TWO_OF_FOUR, None, "2", "0.00", "0.00"),
        (TWO_OF_FOUR, [], "2", "0.00", "0.00"),
        (TWO_OF_FOUR, "02", "2", "0.00", "0.00"),  # a string, not a list of indices
        (TWO_OF_FOUR, ["0"], "2", "0.00", "0.00"),
        (TWO_OF_FOUR, [0, "2"], "2", "0.00", "0.00"),  # one bad element spoils the response
        (TWO_OF_FOUR, [True], "2", "0.00", "0.00"),
        (THREE_OF_FOUR, [0, 1, 3], "3", "3.00", "3.00"),
        (THREE_OF_FOUR, [0, 3], "3", "0.00", "2.00"),  # 2 of 3
        (THREE_OF_FOUR, [1], "3", "0.00", "1.00"),  # 1 of 3
        (THREE_OF_FOUR, [1, 2], "3", "0.00", "0.00"),
        # Partial credit is rounded half up to 2 places, once, after scaling:
        (THREE_OF_FOUR, [3], "1", "0.00", "0.33"),  # 1/3 = 0.333… → 0.33
        (THREE_OF_FOUR, [0, 3], "1", "0.00", "0.67"),  # 2/3 = 0.666… → 0.67
        (THREE_OF_FOUR, [0], "2", "0.00", "0.67"),  # 2 × 1/3 = 0.666… → 0.67
        (Key("multiple", answer=(0, 1, 2, 3, 4, 5, 6, 7)), [0], "1", "0.00", "0.13"),  # 0.125 → up
        (TWO_OF_FOUR, [2], "0.05", "0.00", "0.03"),  # 0.025 → up
    ],
)
def test_multiple(key, response, points, all_or_nothing, partial):
    assert str(grade(key, response, Decimal(points), ALL)) == all_or_nothing
    assert str(grade(key, response, Decimal(points), PARTIAL)) == partial


def test_policy_may_be_given_as_its_stored_string():
    assert grade(TWO_OF_FOUR, [0], Decimal(2), "partial") == Decimal("1.00")
    assert grade(TWO_OF_FOUR, [0], Decimal(2), "all_or_nothing") == Decimal("0.00")


@pytest.mark.parametrize(
    ("key", "response", "points", "expected"),
    [
        (ONE_BLANK, ["15日"], "2", "2.00"),
        (ONE_BLANK, ("15日",), "2", "2.00"),
        (ONE_BLANK, ["十五日"], "2", "2.00"),  # an accepted alternative
        (ONE_BLANK, ["１５日"], "2", "2.00"),  # full-width digits
        (ONE_BLANK, [" 15 日 "], "2", "2.00"),  # half-width spaces
        (ONE_BLANK, ["\u300015\u3000日"], "2", "2.00"),  # ideographic spaces
        (ONE_BLANK, ["十五 日"], "2", "2.00"),
        (ONE_BLANK, ["15日。"], "2", "2.00"),  # a closing full stop
        (ONE_BLANK, ["15日．"], "2", "2.00"),
        (ONE_BLANK, ["30日"], "2", "0.00"),
        (ONE_BLANK, ["15"], "2", "0.00"),  # the unit is part of the answer
        (ONE_BLANK, ["15日以内"], "2", "0.00"),
        (ONE_BLANK, [""], "2", "0.00"),
        (ONE_BLANK, ["\u3000 "], "2", "0.00"),
        (ONE_BLANK, None, "2", "0.00"),
        (ONE_BLANK, [], "2", "0.00"),
        (ONE_BLANK, "15日", "2", "0.00"),  # a bare string, not a list of strings
        (Key("fill_blank", blanks=(("是",),)), "是", "1", "0.00"),  # not read as a list of chars
        (ONE_BLANK, [15], "2", "0.00"),  # ints for a blank question
        (ONE_BLANK, [None], "2", "0.00"),
        (ONE_BLANK, ["15日", "15日"], "2", "0.00"),  # more strings than blanks
        (Key("fill_blank", blanks=(("GDP",),)), ["ｇｄｐ"], "1", "1.00"),  # width and case
        (Key("fill_blank", blanks=(("Ⅲ级",),)), ["III级"], "1", "1.00"),  # NFKC numerals
        (THREE_BLANKS, ["警告", "罚款", "没收非法财物"], "1", "1.00"),  # not 3 × 0.33
        (THREE_BLANKS, ["警告", "罚款", "吊销执照"], "1", "0.67"),  # 2 of 3, rounded once
        (THREE_BLANKS, ["警告", "拘留", "吊销执照"], "1", "0.33"),
        (THREE_BLANKS, ["拘留", "警告", "罚款"], "1", "0.00"),  # right words, wrong blanks
        (THREE_BLANKS, ["警告", "罚款", "没收违法所得"], "3", "3.00"),
        (THREE_BLANKS, ["警告", "", "没收违法所得"], "3", "2.00"),
        (THREE_BLANKS, ["警告", "罚款"], "3", "2.00"),  # a short list leaves the last blank empty
        (THREE_BLANKS, ["警告", 1, "没收违法所得"], "3", "0.00"),  # one int spoils the response
    ],
)
def test_fill_blank(key, response, points, expected):
    for policy in MultiplePolicy:
        assert str(grade(key, response, Decimal(points), policy)) == expected


def test_empty_blank_never_matches_an_alternative_that_normalises_to_nothing():
    key = Key("fill_blank", blanks=(("。",),))
    assert grade(key, [""], Decimal(1), ALL) == Decimal(0)
    assert grade(key, ["。"], Decimal(1), ALL) == Decimal(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15日", "15日"),
        ("１５日 ", "15日"),
        ("十五 日", "十五日"),
        ("\u3000十五\u3000日\u3000", "十五日"),
        ("\t15\n日\xa0", "15日"),
        ("Ａｂｃ", "abc"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower
        ("15日。", "15日"),
        ("15日．", "15日"),
        ("15日.", "15日"),
        ("15日；", "15日"),
        ("15日 。 。", "15日"),
        ("（一）", "(一)"),  # full-width brackets become half-width, inner text kept
        ("第1.5条", "第1.5条"),  # only a trailing stop goes
        ("", ""),
    ],
)
def test_normalise_blank(text, expected):
    assert normalise_blank(text) == expected


@pytest.mark.parametrize(
    "make",
    [
        lambda: Key("oral"),
        lambda: Key("essay", answer=(0,)),  # a written question has no key
        lambda: Key("single"),
        lambda: Key("single", answer=(0, 1)),
        lambda: Key("true_false", answer=()),
        lambda: Key("multiple", answer=(-1, 2)),
        lambda: Key("multiple", answer=(True,)),
        lambda: Key("fill_blank"),
        lambda: Key("fill_blank", blanks=(("a",), ())),
    ],
)
def test_bad_key_is_a_programming_error(make):
    with pytest.raises(ValueError):
        make()


def test_unknown_type_in_grade_raises_value_error():
    key = object.__new__(Key)  # bypass the constructor's own check
    object.__setattr__(key, "type", "oral")
    object.__setattr__(key, "answer", ())
    object.__setattr__(key, "blanks", ())
    with pytest.raises(ValueError, match="oral"):
        grade(key, [0], Decimal(1), ALL)


def test_unknown_policy_raises_value_error():
    with pytest.raises(ValueError):
        grade(SINGLE, [2], Decimal(1), "lenient")


BANDS = [(Decimal(60), "合格"), (Decimal(90), "优秀"), (Decimal(80), "良好")]  # any order


@pytest.mark.parametrize(
    ("earned", "score", "passed", "label"),
    [
        (["100"], "100.00", True, "优秀"),
        (["90"], "90.00", True, "优秀"),
        (["89.99"], "89.99", True, "良好"),
        (["80"], "80.00", True, "良好"),
        (["79.99"], "79.99", True, "合格"),
        (["60"], "60.00", True, "合格"),  # exactly at the pass mark passes
        (["59.99"], "59.99", False, "不合格"),  # just below fails
        (["0"], "0.00", False, "不合格"),
        ([], "0.00", False, "不合格"),
        (["30", "29.995"], "60.00", True, "合格"),  # 59.995 rounds half up to 60.00
        (["30", "29.994"], "59.99", False, "不合格"),
        (["0.33", "0.33", "0.34"], "1.00", False, "不合格"),
    ],
)
def test_total_pass_mark_and_bands(earned, score, passed, label):
    result = total((Decimal(e) for e in earned), Decimal(100), Decimal(60), BANDS)
    assert str(result.score) == score
    assert result.passed is passed
    assert result.grade_label == label


def test_total_sums_and_rounds_the_score():
    result = total([Decimal("1.00"), Decimal("0.67"), Decimal("0.33")], Decimal(3), Decimal(2), [])
    assert result == Result(Decimal("2.00"), Decimal("3.00"), True, "不合格")
    assert str(result.score) == "2.00"
    assert str(result.max_score) == "3.00"


def test_total_on_a_paper_not_out_of_100():
    bands = [(Decimal(45), "优秀"), (Decimal(30), "合格")]  # points, not percentages
    result = total([Decimal(40)], Decimal(50), Decimal(30), bands)
    assert (result.score, result.passed, result.grade_label) == (Decimal(40), True, "合格")


def test_total_with_no_bands_labels_every_score_as_fail():
    result = total([Decimal(100)], Decimal(100), Decimal(60), [])
    assert (result.passed, result.grade_label) == (True, "不合格")


ATTEMPTS = [(2, Decimal("80")), (1, Decimal("70")), (4, Decimal("80")), (3, Decimal("65"))]


@pytest.mark.parametrize(
    ("scores", "rule", "expected"),
    [
        (ATTEMPTS, "best", 2),  # 2 and 4 tie on 80: the earlier counts
        (ATTEMPTS, "last", 4),  # by attempt number, not list order
        (ATTEMPTS, "first", 1),
        (list(reversed(ATTEMPTS)), "best", 2),
        ([(1, Decimal("70")), (2, Decimal("90")), (3, Decimal("60"))], "best", 2),
        ([(1, Decimal("70")), (2, Decimal("70.01"))], "best", 2),
        ([(1, Decimal("70.00")), (2, Decimal("70"))], "best", 1),  # equal Decimals tie
        ([(5, Decimal("0"))], "best", 5),
        ([(5, Decimal("0"))], "last", 5),
        ([(5, Decimal("0"))], "first", 5),
        ([], "best", None),
        ([], "last", None),
        ([], "first", None),
    ],
)
def test_counted_attempt(scores, rule, expected):
    assert counted_attempt(scores, rule) == expected


def test_counted_attempt_unknown_rule_raises_value_error():
    with pytest.raises(ValueError):
        counted_attempt([(1, Decimal(1))], "average")


def test_an_attempt_awaiting_marks_counts_only_when_none_has_a_score():
    assert counted_attempt([(1, None), (2, Decimal(3))], "best") == 2
    assert counted_attempt([(1, None)], "best") == 1
    assert counted_attempt([(1, None), (2, Decimal(3))], "first") == 1
