"""Each learner's memory of each question, scheduled by FSRS (the `fsrs` package, 6.x).

A practice answer is one review of that person's card of that question:

- wrong → Rating.Again;
- right → Rating.Good, or Rating.Easy when it came quickly: within QUICK_BASE_SECONDS
  plus one second per READING_CHARS_PER_SECOND characters of stem and choices, counted
  from when the server served the question (ServedQuestion.served_at), never from what
  the browser says. A reader of Chinese takes in some 10 characters a second; an answer
  given in little more than the time it takes to read the question was recalled, not
  worked out. A multiple-choice answer with only some of the right choices is wrong.

Fuzzing is off, so that the due date is what the library computes for the card and
rating (reproducible, and tested against the library's own results). Times are stored as
naive UTC (core.clock) and handed to the library as UTC-aware datetimes.
"""

import functools
from datetime import UTC, datetime

from fsrs import Card, Rating, Scheduler, State

DEFAULT_RETENTION = 0.9
MIN_RETENTION, MAX_RETENTION = 0.80, 0.97
QUICK_BASE_SECONDS = 5
READING_CHARS_PER_SECOND = 10


@functools.cache
def scheduler(desired_retention: float = DEFAULT_RETENTION) -> Scheduler:
    """The library's default parameters at the person's desired retention."""
    return Scheduler(desired_retention=desired_retention, enable_fuzzing=False)


def aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def naive(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def quick_seconds(version) -> float:
    """How soon a right answer to the version counts as quick (Easy)."""
    characters = len(version.stem) + sum(len(choice) for choice in version.choices)
    return QUICK_BASE_SECONDS + characters / READING_CHARS_PER_SECOND


def rating_for(correct: bool, seconds: float | None, quick_within: float) -> Rating:
    if not correct:
        return Rating.Again
    if seconds is not None and seconds <= quick_within:
        return Rating.Easy
    return Rating.Good


def card_of(stored: dict) -> Card:
    """The library's card of a stored card's columns (practice.CARD_COLUMNS). A card not
    stored yet (id None) is reviewed under id 0: the library schedules nothing by id; its
    log is stored under the row's id."""
    return Card(
        card_id=stored["id"] or 0,
        state=State(stored["state"]),
        step=stored["step"],
        stability=stored["stability"],
        difficulty=stored["difficulty"],
        due=aware(stored["due"]),
        last_review=aware(stored["last_review"]),
    )


def review(stored: dict, rating: Rating, now: datetime, retention: float, duration_ms=None):
    """Apply one review to a stored card's columns: (the card's new columns, the
    library's ReviewLog)."""
    card, log = scheduler(retention).review_card(
        card_of(stored), rating, review_datetime=aware(now), review_duration=duration_ms
    )
    reviewed = {
        "state": card.state.value,
        "step": card.step,
        "stability": card.stability,
        "difficulty": card.difficulty,
        "due": naive(card.due),
        "last_review": naive(card.last_review),
        "reviews": stored["reviews"] + 1,
    }
    return reviewed, log


def retrievability(
    stability: float | None, last_review: datetime | None, now: datetime, retention: float
) -> float:
    """The probability of recall now, as the library computes it (0 for an unreviewed card)."""
    card = Card(card_id=0, stability=stability, last_review=aware(last_review))
    return scheduler(retention).get_card_retrievability(card, aware(now))


def recall_days(stability: float, retention: float) -> float:
    """How many whole days after a review the card's retrievability stays at or above
    `retention`: the library's (1 + FACTOR·t/S)^DECAY ≥ r solved for t, so that a page
    can judge thousands of cards without building a Card each (tested against
    get_card_retrievability)."""
    decay = -scheduler(retention).parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    return stability * (retention ** (1 / decay) - 1) / factor
