"""Item statistics of a paper (classical test theory), as Moodle's quiz statistics report
defines them ("Quiz statistics calculations"): plain functions over a matrix of points,
or over its counts (ItemTally: how many attempts scored x on the item and T in all, which
a database adds up without sending each attempt), no database.

For an item i with points x_i on each of the s attempts that had it, and X_i = T - x_i the
rest of the attempt's total T (the sum of its items' points):

- facility F_i = mean(x_i) / max_i;
- discrimination index D_i = 100 · r(x_i, X_i), the correlation of the item with the rest;
- discriminative efficiency DE_i = 100 · cov(x_i, X_i) / cov_max(x_i, X_i), where cov_max
  pairs the sorted x_i with the sorted X_i (the covariance the item could have at most;
  from counts, the two sorted runs of values are walked side by side);
- the paper's coefficient of internal consistency (Cronbach's alpha, which is KR-20 when
  every item scores 0 or full) CIC = 100 · p/(p-1) · (1 - Σ V(x_i) / V(T)), p items;
- error ratio ER = 100 · sqrt(1 - CIC/100); standard error SE = ER/100 · SD(T).

Variances and covariances divide by s - 1, as Moodle's do (the ratios do not care).
"""

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

#: Moodle's thresholds for an item worth a look
TOO_EASY = 0.9
TOO_HARD = 0.2
LOW_EFFICIENCY = 15.0
#: fewer attempts than this and the figures say little
SMALL_SAMPLE = 30

FLAG_LABELS = {
    "too_easy": "过易（难度系数 > 0.9）",
    "too_hard": "过难（难度系数 < 0.2）",
    "low_efficiency": "区分效率低（< 15%）",
    "negative": "区分度为负",
}


@dataclass
class ItemScores:
    """One item's points on the attempts that had it."""

    key: object
    max_points: float
    #: attempt key -> points earned
    points: Mapping[object, float]


@dataclass
class ItemTally:
    """One item's points on the attempts that had it, counted rather than listed (what a
    database can add up without sending every attempt): for each pair (points on the
    item, the attempt's total), how many attempts had it."""

    key: object
    max_points: float
    #: (x, T) -> attempts
    joint: Mapping[tuple[float, float], int]


@dataclass
class ItemStatistics:
    key: object
    #: attempts that had the item
    count: int
    max_points: float
    mean: float | None
    facility: float | None
    sd: float | None
    discrimination: float | None
    efficiency: float | None
    flags: list[str] = field(default_factory=list)

    @property
    def flag_labels(self) -> list[str]:
        return [FLAG_LABELS[flag] for flag in self.flags]


@dataclass
class PaperStatistics:
    #: attempts analysed
    count: int
    mean: float | None
    sd: float | None
    #: Cronbach's alpha, in percent (Moodle's CIC); None when it cannot be computed
    alpha: float | None
    error_ratio: float | None
    standard_error: float | None
    items: list[ItemStatistics]
    #: why alpha was not computed, when it was not
    alpha_note: str = ""

    @property
    def small_sample(self) -> bool:
        return self.count < SMALL_SAMPLE

    @property
    def flagged(self) -> list[ItemStatistics]:
        return [item for item in self.items if item.flags]


def _moments(counted: Mapping[float, int]) -> tuple[int, float, float | None]:
    """Count, mean and sample variance (s - 1) of values given with how often each occurs."""
    count = sum(counted.values())
    mean = math.fsum(value * times for value, times in counted.items()) / count
    if count < 2:
        return count, mean, None
    squares = math.fsum(times * (value - mean) ** 2 for value, times in counted.items())
    return count, mean, squares / (count - 1)


def _sorted_pairs(x: Mapping[float, int], y: Mapping[float, int]) -> Iterator[tuple]:
    """The sorted values of x paired in order with the sorted values of y (both counted,
    with the same total): each run of equal pairs once, as (x, y, times)."""
    xs, ys = sorted(x.items()), sorted(y.items())
    i = j = 0
    left_x, left_y = xs[0][1], ys[0][1]
    while True:
        times = min(left_x, left_y)
        yield xs[i][0], ys[j][0], times
        left_x -= times
        left_y -= times
        if not left_x:
            i += 1
            if i == len(xs):
                return
            left_x = xs[i][1]
        if not left_y:
            j += 1
            left_y = ys[j][1]


def flags_of(
    facility: float | None, discrimination: float | None, efficiency: float | None
) -> list[str]:
    flags = []
    if facility is not None and facility > TOO_EASY:
        flags.append("too_easy")
    if facility is not None and facility < TOO_HARD:
        flags.append("too_hard")
    if efficiency is not None and efficiency < LOW_EFFICIENCY:
        flags.append("low_efficiency")
    if discrimination is not None and discrimination < 0:
        flags.append("negative")
    return flags


def item_statistics(item: ItemTally) -> ItemStatistics:
    """Facility, SD, discrimination and efficiency of one item."""
    if not item.joint:
        return ItemStatistics(item.key, 0, item.max_points, None, None, None, None, None)
    x: Counter = Counter()
    rest: Counter = Counter()
    for (points, total), times in item.joint.items():
        x[points] += times
        rest[total - points] += times
    count, mean, variance = _moments(x)
    facility = mean / item.max_points if item.max_points else None
    if variance is None:
        return ItemStatistics(
            item.key, count, item.max_points, mean, facility, None, None, None,
            flags_of(facility, None, None),
        )  # fmt: skip
    _count, rest_mean, rest_variance = _moments(rest)
    scale = count - 1
    covariance = (
        math.fsum(
            times * (points - mean) * (total - points - rest_mean)
            for (points, total), times in item.joint.items()
        )
        / scale
    )
    # The most the covariance could be with these marginals: both sorted, paired in order.
    covariance_max = (
        math.fsum(
            times * (points - mean) * (other - rest_mean)
            for points, other, times in _sorted_pairs(x, rest)
        )
        / scale
    )
    product = variance * rest_variance
    discrimination = 100 * covariance / math.sqrt(product) if product > 0 else None
    efficiency = 100 * covariance / covariance_max if covariance_max > 0 else None
    return ItemStatistics(
        item.key,
        count,
        item.max_points,
        mean,
        facility,
        math.sqrt(variance),
        discrimination,
        efficiency,
        flags_of(facility, discrimination, efficiency),
    )


def tallies(items: Iterable[ItemScores]) -> tuple[list[ItemTally], Counter]:
    """A matrix of points counted: each item's tally, and how many attempts had each total."""
    items = list(items)
    totals: dict[object, float] = {}
    for item in items:
        for key, points in item.points.items():
            totals[key] = totals.get(key, 0.0) + float(points)
    counted = [
        ItemTally(
            item.key,
            item.max_points,
            Counter((float(points), totals[key]) for key, points in item.points.items()),
        )
        for item in items
    ]
    return counted, Counter(totals.values())


def paper_statistics(items: Iterable[ItemScores]) -> PaperStatistics:
    """The statistics of a matrix of points (see paper_statistics_of_tallies)."""
    return paper_statistics_of_tallies(*tallies(items))


def paper_statistics_of_tallies(
    items: Sequence[ItemTally], totals: Mapping[float, int]
) -> PaperStatistics:
    """Every item's statistics and the paper's: mean and SD of the totals, alpha (CIC),
    error ratio and standard error. `totals`: how many attempts had each total.

    Alpha needs every attempt to have had the same items (a paper drawn per candidate gives
    each a different set, and the formula then does not hold): otherwise it is left out,
    with the reason."""
    stats = [item_statistics(item) for item in items]
    if not totals:
        return PaperStatistics(0, None, None, None, None, None, stats, "没有已交卷的答卷")
    count, mean, total_variance = _moments(totals)
    if total_variance is None:
        return PaperStatistics(count, mean, None, None, None, None, stats, "答卷少于 2 份")
    sd = math.sqrt(total_variance)
    alpha = error_ratio = standard_error = None
    note = ""
    if any(item.count != count for item in stats):
        note = "各人试卷的试题不同（随机抽题），不计算信度系数"
    elif len(stats) < 2:
        note = "试卷少于 2 题"
    elif total_variance == 0:
        note = "所有答卷总分相同"
    else:
        p = len(stats)
        item_variances = math.fsum(item.sd**2 for item in stats)
        alpha = 100 * p / (p - 1) * (1 - item_variances / total_variance)
        # Alpha can fall below 0 on a bad paper; the error ratio is then capped at 100%.
        error_ratio = 100 * math.sqrt(max(0.0, 1 - alpha / 100))
        standard_error = error_ratio / 100 * sd
    return PaperStatistics(count, mean, sd, alpha, error_ratio, standard_error, stats, note)


@dataclass
class ChoiceCount:
    #: the choice's index in the question's original order (None: left unanswered)
    index: int | None
    text: str
    correct: bool
    count: int
    #: of the attempts that had the item
    share: float


def choice_counts(
    choices: Sequence[str], key: Sequence[int], answers: Mapping[tuple, int]
) -> list[ChoiceCount]:
    """How often each choice was picked (a multiple-choice answer counts for each of its
    choices), and how often the item was left unanswered. `answers` maps each distinct
    answer (a tuple of choice indices; () unanswered) to how many attempts gave it."""
    picked = [0] * len(choices)
    unanswered = 0
    total = 0
    for answer, times in answers.items():
        total += times
        indices = {
            index for index in answer if isinstance(index, int) and 0 <= index < len(choices)
        }
        if not indices:
            unanswered += times
        for index in indices:
            picked[index] += times
    rows = [
        ChoiceCount(
            index, text, index in key, picked[index], picked[index] / total if total else 0.0
        )
        for index, text in enumerate(choices)
    ]
    rows.append(
        ChoiceCount(None, "未作答", False, unanswered, unanswered / total if total else 0.0)
    )
    return rows
