"""Assembling papers from blueprints: which questions are eligible, whether the bank can
fill a blueprint, and drawing a paper (question versions, order, choice order)."""

import random
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from core.errors import ServiceError
from question_bank import queries, types
from question_bank.types import QUESTION_TYPES
from training.exams.models import CASE_SECTION, CASE_SECTION_LABEL, Blueprint, BlueprintSection


class BlueprintError(ServiceError):
    """The bank cannot fill the blueprint; the message names every shortfall."""

    code = "bank_too_small"


#: what a section may draw: a question (question id, current version id, number of
#: choices), or in a case section a case (case id, case version id, its sub-questions
#: ((version id, number of choices, points on this paper as text, type id), ...))
PoolEntry = queries.Eligible | queries.EligibleCase
CENT = Decimal("0.01")


@dataclass(frozen=True)
class DrawnItem:
    version_id: int
    points: Decimal
    choice_order: tuple[int, ...]
    #: index of the blueprint section the question was drawn for
    section: int = 0
    #: the case version whose sub-question this is
    case_version_id: int | None = None


def is_case_section(section: BlueprintSection) -> bool:
    return section.question_type == CASE_SECTION


def section_label(section: BlueprintSection) -> str:
    kind = CASE_SECTION_LABEL if is_case_section(section) else QUESTION_TYPES[section.question_type]
    parts = [kind]
    if section.law is not None:
        parts.append(section.law.name)
    if section.topic is not None:
        parts.append(section.topic.name)
    if section.difficulty_min or section.difficulty_max:
        parts.append(f"难度{section.difficulty_min or 1}–{section.difficulty_max or 5}")
    return "，".join(parts)


def eligible_pool(section: BlueprintSection) -> list[PoolEntry]:
    """Every question (case) in use the section may draw."""
    if is_case_section(section):
        return [
            (case_id, version_id, scaled_parts(parts, section.points))
            for case_id, version_id, parts in queries.eligible_cases(
                law_id=section.law_id, topic_id=section.topic_id
            )
        ]
    return queries.eligible_questions(
        section.question_type,
        law_id=section.law_id,
        topic_id=section.topic_id,
        difficulty_min=section.difficulty_min,
        difficulty_max=section.difficulty_max,
    )


def scaled_parts(parts, total: Decimal) -> tuple:
    """A case's sub-questions with their points scaled so the case is worth `total`, in
    proportion to the points the case gives each; cents left by rounding down go to the
    sub-questions that lost the most (so the case sums to `total` exactly)."""
    weights = [Decimal(points) for _, _, points, _ in parts]
    whole = sum(weights, Decimal(0))
    exact = [total * weight / whole for weight in weights]
    scaled = [value.quantize(CENT, ROUND_DOWN) for value in exact]
    left = int((total - sum(scaled, Decimal(0))) / CENT)
    for index in sorted(range(len(parts)), key=lambda i: scaled[i] - exact[i])[:left]:
        scaled[index] += CENT
    return tuple(
        (version_id, choices, str(points), type_id)
        for (version_id, choices, _, type_id), points in zip(parts, scaled, strict=True)
    )


def section_pools(blueprint: Blueprint) -> list[list[PoolEntry]]:
    """Each section's pool, or BlueprintError naming every section the bank cannot fill.

    Sections draw without repeating a question (a case), so a section can only count on
    what the sections before it left over. Question and case sections never compete: a
    case's sub-questions are not drawn on their own.
    """
    pools, shortfalls = [], []
    taken: dict[bool, set[int]] = {False: set(), True: set()}
    for number, section in enumerate(blueprint.sections, start=1):
        pool = eligible_pool(section)
        cases = is_case_section(section)
        available = [entry for entry in pool if entry[0] not in taken[cases]]
        if len(available) < section.count:
            what = "个" if cases else "道"
            shortfalls.append(
                f"第{number}部分（{section_label(section)}）需要 {section.count} {what}，"
                f"题库中只有 {len(available)} {what}符合条件的在用" + ("案例" if cases else "试题")
            )
        taken[cases].update(entry[0] for entry in available[: section.count])
        pools.append(pool)
    if not blueprint.sections:
        shortfalls.append("组卷规则至少需要一个部分")
    if shortfalls:
        raise BlueprintError("；".join(shortfalls))
    return pools


def draw(blueprint: Blueprint, pools: list[list[PoolEntry]], rng: random.Random) -> list[DrawnItem]:
    """A paper: `count` questions per section from its pool, no question twice, in section
    order unless the blueprint shuffles questions; choices shuffled when it says so.

    A fixed-paper exam passes pools that hold exactly its paper, so everyone gets the same
    questions, each in their own order when shuffling is on.

    A case is drawn as a unit: its sub-questions follow one another in the case's order
    (shuffled among themselves when the blueprint says so), and shuffling the questions
    moves the case as a whole."""
    sections = blueprint.sections
    picks = _pick_apart(sections, pools, rng)
    units: list[list[DrawnItem]] = []
    for number, (section, chosen) in enumerate(zip(sections, picks, strict=True)):
        for entry in chosen:
            if is_case_section(section):
                _, case_version_id, parts = entry
                unit = [
                    DrawnItem(
                        version_id,
                        Decimal(points),
                        _choice_order(blueprint, type_id, choice_count, rng),
                        number,
                        case_version_id,
                    )
                    for version_id, choice_count, points, type_id in parts
                ]
                if blueprint.shuffle_within_case:
                    rng.shuffle(unit)
            else:
                _, version_id, choice_count = entry
                order = _choice_order(blueprint, section.question_type, choice_count, rng)
                unit = [DrawnItem(version_id, section.points, order, number)]
            units.append(unit)
    if blueprint.shuffle_questions:
        rng.shuffle(units)
    return [item for unit in units for item in unit]


def _choice_order(blueprint: Blueprint, type_id: str, count: int, rng) -> tuple[int, ...]:
    order = list(range(count))
    if blueprint.shuffle_choices and types.of(type_id).shuffles:
        rng.shuffle(order)
    return tuple(order)


def _pick_apart(
    sections: list[BlueprintSection], pools: list[list[PoolEntry]], rng: random.Random
) -> list[list[PoolEntry]]:
    """_pick for the question sections and for the case sections, each on their own (a
    question id and a case id may be the same number)."""
    picks: list[list[PoolEntry]] = [[] for _ in sections]
    for cases in (False, True):
        chosen = [i for i, section in enumerate(sections) if is_case_section(section) == cases]
        if chosen:
            found = _pick([sections[i] for i in chosen], [pools[i] for i in chosen], rng)
            for i, pick in zip(chosen, found, strict=True):
                picks[i] = pick
    return picks


def _pick(
    sections: list[BlueprintSection], pools: list[list[PoolEntry]], rng: random.Random
) -> list[list[PoolEntry]]:
    """Each section's questions, no question twice.

    Sections whose filters overlap (say 单选 from any law, and 单选 from 宪法) compete for
    the same questions: drawing the narrowest pool first avoids most conflicts, and when a
    random draw still leaves a section short, an exact matching finds a paper, which
    section_pools has shown to exist."""
    counts = [section.count for section in sections]
    order = sorted(range(len(sections)), key=lambda i: len(pools[i]))
    picks: list[list[PoolEntry]] = [[] for _ in sections]
    taken: set[int] = set()
    for i in order:
        chosen = _sample_untaken(pools[i], counts[i], taken, rng)
        if chosen is None:
            return _match(counts, pools, rng)
        # Bank order within a section, so a fixed paper reads the same for everyone
        # unless the blueprint shuffles.
        picks[i] = [pools[i][j] for j in sorted(chosen)]
        taken.update(entry[0] for entry in picks[i])
    return picks


def _sample_untaken(
    pool: list[PoolEntry], count: int, taken: set[int], rng: random.Random
) -> list[int] | None:
    """`count` random positions in `pool` whose questions are not taken; None if too few.

    A large pool is sampled by drawing positions and skipping taken ones, so a start does
    not copy a 20,000-question pool; a pool that is mostly taken is filtered instead."""
    if len(pool) >= 4 * (count + len(taken)):
        chosen: set[int] = set()
        while len(chosen) < count:
            position = rng.randrange(len(pool))
            if pool[position][0] not in taken:
                chosen.add(position)
        return list(chosen)
    free = [position for position, entry in enumerate(pool) if entry[0] not in taken]
    if len(free) < count:
        return None
    return rng.sample(free, count)


def _match(
    counts: list[int], pools: list[list[PoolEntry]], rng: random.Random
) -> list[list[PoolEntry]]:
    """Fill every section's slots by augmenting paths (Kuhn's algorithm), trying each
    section's questions in random order."""
    slots = [i for i, count in enumerate(counts) for _ in range(count)]
    options = []
    for pool in pools:
        shuffled = list(pool)
        rng.shuffle(shuffled)
        options.append(shuffled)
    holder: dict[int, int] = {}  # question id -> slot
    entry_of: dict[int, PoolEntry] = {}

    def place(slot: int, seen: set[int]) -> bool:
        for entry in options[slots[slot]]:
            question_id = entry[0]
            if question_id in seen:
                continue
            seen.add(question_id)
            if question_id not in holder or place(holder[question_id], seen):
                holder[question_id] = slot
                entry_of[question_id] = entry
                return True
        return False

    for slot in range(len(slots)):
        if not place(slot, set()):
            raise BlueprintError("题库中符合条件的试题不足以组成一份试卷")
    picks: list[list[PoolEntry]] = [[] for _ in counts]
    for question_id, slot in holder.items():
        picks[slots[slot]].append(entry_of[question_id])
    for pick, pool in zip(picks, pools, strict=True):
        rank = {entry[0]: n for n, entry in enumerate(pool)}
        pick.sort(key=lambda entry: rank[entry[0]])
    return picks
