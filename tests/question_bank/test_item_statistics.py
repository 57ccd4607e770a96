"""Item statistics against figures worked out by hand on small made-up matrices, with
the definitions of Moodle's "Quiz statistics calculations" (sample variances, s - 1)."""

import math
import random
import statistics

import pytest

from question_bank.item_statistics import ItemScores, choice_counts, paper_statistics

# Five attempts (A-E), three one-point items:
#        item1 item2 item3  total
#   A      1     1     1      3
#   B      1     1     0      2
#   C      1     0     1      2
#   D      1     0     0      1
#   E      0     0     0      0
MATRIX = {
    "item1": {"A": 1, "B": 1, "C": 1, "D": 1, "E": 0},
    "item2": {"A": 1, "B": 1, "C": 0, "D": 0, "E": 0},
    "item3": {"A": 1, "B": 0, "C": 1, "D": 0, "E": 0},
}


def _paper(matrix, max_points=1):
    return paper_statistics(ItemScores(key, max_points, points) for key, points in matrix.items())


def test_paper_figures_match_hand_computation():
    paper = _paper(MATRIX)
    assert paper.count == 5
    # Totals 3, 2, 2, 1, 0: mean 1.6; squared deviations 1.96 + .16 + .16 + .36 + 2.56 =
    # 5.2, so V(T) = 5.2 / 4 = 1.3 and SD = sqrt(1.3).
    assert paper.mean == pytest.approx(1.6)
    assert paper.sd == pytest.approx(math.sqrt(1.3))
    # Item variances .2, .3, .3 (sum .8); KR-20 = 3/2 · (1 - .8/1.3) = .75/1.3.
    assert paper.alpha == pytest.approx(100 * 0.75 / 1.3)
    # ER = sqrt(1 - .75/1.3) = sqrt(.55/1.3); SE = ER · SD = sqrt(.55).
    assert paper.error_ratio == pytest.approx(100 * math.sqrt(0.55 / 1.3))
    assert paper.standard_error == pytest.approx(math.sqrt(0.55))
    assert paper.alpha_note == ""
    assert not paper.flagged
    assert paper.small_sample


def test_item_figures_match_hand_computation():
    item1, item2, item3 = _paper(MATRIX).items
    # item1: x = 1,1,1,1,0 (mean .8), rest = 2,1,1,0,0 (mean .8): cov = .8/4 = .2,
    # V(x) = .2, V(rest) = 2.8/4 = .7, so D = 100 · .2 / sqrt(.14).
    assert item1.facility == pytest.approx(0.8)
    assert item1.sd == pytest.approx(math.sqrt(0.2))
    assert item1.discrimination == pytest.approx(100 * 0.2 / math.sqrt(0.14))
    # sorted pairs (-.8,-.8) (.2,-.8) (.2,.2) (.2,.2) (.2,1.2) sum to .8: cov_max = cov.
    assert item1.efficiency == pytest.approx(100.0)
    # item2: x = 1,1,0,0,0 (mean .4), rest = 2,1,2,1,0 (mean 1.2): cov = .6/4 = .15,
    # V(x) = .3, V(rest) = .7; sorted pairs give 1.6/4 = .4, so DE = .15/.4 = 37.5%.
    assert item2.facility == pytest.approx(0.4)
    assert item2.discrimination == pytest.approx(100 * 0.15 / math.sqrt(0.21))
    assert item2.efficiency == pytest.approx(37.5)
    # item3 is item2 with B and C swapped: the same figures.
    assert (item3.facility, item3.discrimination, item3.efficiency) == pytest.approx(
        (item2.facility, item2.discrimination, item2.efficiency)
    )


def test_discrimination_is_the_correlation_with_the_rest_of_the_test():
    """The same figure from the standard library's Pearson correlation."""
    paper = _paper(MATRIX)
    totals = {key: sum(MATRIX[item][key] for item in MATRIX) for key in "ABCDE"}
    for stats in paper.items:
        x = [MATRIX[stats.key][key] for key in "ABCDE"]
        rest = [totals[key] - MATRIX[stats.key][key] for key in "ABCDE"]
        assert stats.discrimination == pytest.approx(100 * statistics.correlation(x, rest))


def test_alpha_with_partial_credit_is_cronbachs():
    """Items of 2 and 4 points with partial marks: alpha from the variances directly."""
    matrix = {
        "a": {"A": 2, "B": 1, "C": 2, "D": 0},
        "b": {"A": 4, "B": 2, "C": 3, "D": 1},
    }
    paper = paper_statistics([ItemScores("a", 2, matrix["a"]), ItemScores("b", 4, matrix["b"])])
    # V(a): mean 1.25, squared deviations .5625+.0625+.5625+1.5625 = 2.75 → 2.75/3.
    # V(b): mean 2.5, 2.25+.25+.25+2.25 = 5 → 5/3. Totals 6,3,5,1: mean 3.75,
    # 5.0625+.5625+1.5625+7.5625 = 14.75 → 14.75/3. alpha = 2 · (1 - 7.75/14.75).
    assert paper.alpha == pytest.approx(100 * 2 * (1 - 7.75 / 14.75))
    assert paper.items[1].facility == pytest.approx(2.5 / 4)


def test_flags_as_moodle_highlights_them():
    # Four attempts, each scoring exactly one of a/b: a discriminates perfectly wrongly;
    # everyone gets c (too easy, no spread); nobody gets d (too hard).
    matrix = {
        "a": {"A": 1, "B": 1, "C": 0, "D": 0},
        "b": {"A": 0, "B": 0, "C": 1, "D": 1},
        "c": {"A": 1, "B": 1, "C": 1, "D": 1},
        "d": {"A": 0, "B": 0, "C": 0, "D": 0},
    }
    paper = _paper(matrix)
    a, _b, c, d = paper.items
    assert a.discrimination == pytest.approx(-100)
    assert a.efficiency == pytest.approx(-100)
    assert a.flags == ["low_efficiency", "negative"]
    assert c.flags == ["too_easy"] and c.discrimination is None and c.efficiency is None
    assert d.flags == ["too_hard"]
    assert [item.key for item in paper.flagged] == ["a", "b", "c", "d"]
    # Every total is 2: no spread, no alpha, and the page says why.
    assert paper.alpha is None and paper.alpha_note


def test_papers_drawn_per_candidate_have_no_alpha():
    paper = paper_statistics(
        [ItemScores("a", 1, {"A": 1, "B": 0}), ItemScores("b", 1, {"B": 1, "C": 0})]
    )
    assert paper.count == 3
    assert paper.alpha is None and "随机" in paper.alpha_note
    assert paper.items[0].count == 2


def test_no_attempts_and_one_attempt():
    empty = paper_statistics([])
    assert empty.count == 0 and empty.mean is None and empty.alpha is None
    one = _paper({"a": {"A": 1}, "b": {"A": 0}})
    assert one.count == 1 and one.sd is None
    assert one.items[0].facility == 1.0 and one.items[0].discrimination is None


def test_choice_counts_count_each_picked_choice_and_blanks():
    rows = choice_counts(
        ["甲", "乙", "丙", "丁"],
        [0, 2],
        {(0, 2): 3, (0,): 1, (1, 3): 1, (): 2, (9,): 1},
    )
    assert [(row.index, row.count, row.correct) for row in rows] == [
        (0, 4, True),
        (1, 1, False),
        (2, 3, True),
        (3, 1, False),
        (None, 3, False),
    ]
    assert rows[0].share == pytest.approx(4 / 8)


def test_counted_figures_equal_the_definitions_on_a_larger_matrix():
    """Computed from counts (ItemTally), the figures equal the definitions applied to the
    listed points: a made-up matrix of 40 attempts, partial credit in halves, ties."""
    rng = random.Random(7)
    keys = range(40)
    matrix = {
        item: {key: rng.choice([0, 0.5, 1, 1.5, 2][: 3 + item % 3]) for key in keys}
        for item in range(6)
    }
    paper = _paper(matrix, max_points=2)
    totals = {key: sum(matrix[item][key] for item in matrix) for key in keys}
    for stats in paper.items:
        x = [matrix[stats.key][key] for key in keys]
        rest = [totals[key] - value for key, value in zip(keys, x, strict=True)]
        mx, mr = statistics.fmean(x), statistics.fmean(rest)
        cov = sum((a - mx) * (b - mr) for a, b in zip(x, rest, strict=True)) / 39
        cov_max = (
            sum((a - mx) * (b - mr) for a, b in zip(sorted(x), sorted(rest), strict=True)) / 39
        )
        assert stats.facility == pytest.approx(mx / 2)
        assert stats.sd == pytest.approx(statistics.stdev(x))
        assert stats.discrimination == pytest.approx(100 * statistics.correlation(x, rest))
        assert stats.efficiency == pytest.approx(100 * cov / cov_max)
    variances = sum(statistics.variance(list(points.values())) for points in matrix.values())
    alpha = 6 / 5 * (1 - variances / statistics.variance(list(totals.values())))
    assert paper.alpha == pytest.approx(100 * alpha)
