"""Assembling papers from blueprints: which questions are eligible, whether the bank can
fill a blueprint, and drawing a paper (question versions, order, choice order)."""

import random
from dataclasses import dataclass
from decimal import Decimal

from core.errors import ServiceError
from question_bank import queries, types
from question_bank.types import QUESTION_TYPES
from training.exams.models import Blueprint, BlueprintSection


class BlueprintError(ServiceError):
    """The bank cannot fill the blueprint; the message names every shortfall."""

    code = "bank_too_small"


#: a question a section may draw: (question id, current version id, number of choices)
PoolEntry = queries.Eligible


@dataclass(frozen=True)
class DrawnItem:
    version_id: int
    points: Decimal
    choice_order: tuple[int, ...]
    #: index of the blueprint section the question was drawn for
    section: int = 0


def section_label(section: BlueprintSection) -> str:
    parts = [QUESTION_TYPES[section.question_type]]
    if section.law is not None:
        parts.append(section.law.name)
    if section.topic is not None:
        parts.append(section.topic.name)
    if section.difficulty_min or section.difficulty_max:
        parts.append(f"难度{section.difficulty_min or 1}–{section.difficulty_max or 5}")
    return "，".join(parts)


def eligible_pool(section: BlueprintSection) -> list[PoolEntry]:
    """Every question in use the section may draw."""
    return queries.eligible_questions(
        section.question_type,
        law_id=section.law_id,
        topic_id=section.topic_id,
        difficulty_min=section.difficulty_min,
        difficulty_max=section.difficulty_max,
    )


def section_pools(blueprint: Blueprint) -> list[list[PoolEntry]]:
    """Each section's pool, or BlueprintError naming every section the bank cannot fill.

    Sections draw without repeating a question, so a section can only count on what the
    sections before it left over.
    """
    pools, taken, shortfalls = [], set(), []
    for number, section in enumerate(blueprint.sections, start=1):
        pool = eligible_pool(section)
        available = [entry for entry in pool if entry[0] not in taken]
        if len(available) < section.count:
            shortfalls.append(
                f"第{number}部分（{section_label(section)}）需要 {section.count} 道，"
                f"题库中只有 {len(available)} 道符合条件的在用试题"
            )
        taken.update(entry[0] for entry in available[: section.count])
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
    questions, each in their own order when shuffling is on."""
    sections = blueprint.sections
    picks = _pick(sections, pools, rng)
    drawn = []
    for number, (section, chosen) in enumerate(zip(sections, picks, strict=True)):
        for _, version_id, choice_count in chosen:
            order = list(range(choice_count))
            if blueprint.shuffle_choices and types.of(section.question_type).shuffles:
                rng.shuffle(order)
            drawn.append(DrawnItem(version_id, section.points, tuple(order), number))
    if blueprint.shuffle_questions:
        rng.shuffle(drawn)
    return drawn


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
