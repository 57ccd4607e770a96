"""After a load run: does the database hold what the server acknowledged?

    python bench/check_exam_day.py --database-url URL --log /tmp/exam_day_….jsonl [--plant]

Reads the acknowledgement log of bench/exam_day.py and checks, exiting non-zero on any
discrepancy:
- every acknowledged save is in `responses` with its newest value: per item, the seq held
  is at least the highest seq the server ever acknowledged, and its answer is the one sent
  with that seq (a higher seq is allowed only if the client sent it and lost the reply);
- every submitted attempt is submitted and scored once: status submitted, submitted_at set
  and no later than the first acknowledged submit (a second scoring would move it), score
  set and equal to the sum of its items' points, every item scored, no attempt audited as
  submitted or scored twice, one attempt per logged start;
- no attempt is left in progress past its deadline plus the grace (EXAM_GRACE_SECONDS, 30);
- the run itself answered no 5xx and finished (its summary line is in the log).

--plant first checks, then, inside a transaction that is rolled back, deletes one
acknowledged answer and alters another, and checks again: both must be caught.
"""

import argparse
import json
import os
import random
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import create_engine, text


def engine_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


class Log:
    """What the driver saw: acknowledgements, sends without reply, starts, submits."""

    def __init__(self, path: str):
        self.acked: dict[tuple[int, int], int] = {}  # (attempt, item) -> highest seq held
        self.sent: dict[tuple[int, int], dict[int, list]] = defaultdict(dict)
        self.starts: dict[int, str] = {}  # attempt -> login
        self.submits: dict[int, datetime] = {}  # attempt -> first acknowledged submit
        self.summary: dict | None = None
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                entry = json.loads(line)
                kind = entry["t"]
                if kind in ("save", "sent"):
                    key = (entry["a"], entry["i"])
                    self.sent[key][entry["s"]] = entry["v"]
                    if kind == "save":
                        self.acked[key] = max(self.acked.get(key, 0), entry["ack"])
                elif kind == "start":
                    self.starts[entry["a"]] = entry["u"]
                elif kind == "submit":
                    self.submits.setdefault(entry["a"], datetime.fromisoformat(entry["at"]))
                elif kind == "summary":
                    self.summary = entry

    @property
    def attempts(self) -> set[int]:
        return set(self.starts) | {attempt for attempt, _ in self.acked}


def as_list(value):
    return json.loads(value) if isinstance(value, str) else value


def check_responses(connection, log: Log) -> list[str]:
    held = {}
    attempts = sorted(log.attempts)
    for start in range(0, len(attempts), 1000):
        chunk = attempts[start : start + 1000]
        rows = connection.execute(
            text(
                "SELECT attempt_id, item_id, answer, seq FROM responses "
                f"WHERE attempt_id IN ({', '.join(str(int(a)) for a in chunk)})"
            )
        )
        for attempt, item, answer, seq in rows:
            held[(attempt, item)] = (seq, as_list(answer))
    problems = []
    for key, seq in sorted(log.acked.items()):
        where = f"attempt {key[0]} item {key[1]}"
        if key not in held:
            problems.append(f"LOST: {where}: acknowledged seq {seq}, nothing in the database")
            continue
        db_seq, db_answer = held[key]
        sent = log.sent[key]
        if db_seq < seq:
            problems.append(f"LOST: {where}: acknowledged seq {seq}, database holds {db_seq}")
        elif db_seq not in sent:
            problems.append(f"UNKNOWN: {where}: database seq {db_seq} was never sent")
        elif db_answer != sent[db_seq]:
            problems.append(
                f"WRONG: {where}: seq {db_seq} was sent as {sent[db_seq]}, "
                f"database holds {db_answer}"
            )
    return problems


def check_attempts(connection, log: Log, grace: timedelta) -> list[str]:
    problems = []
    now = datetime.now(UTC).replace(tzinfo=None)
    attempts = {}
    for row in connection.execute(
        text("SELECT id, user_id, exam_id, status, score, submitted_at, deadline_at FROM attempts")
    ):
        attempts[row.id] = row
    items = {
        row.attempt_id: row
        for row in connection.execute(
            text(
                "SELECT attempt_id, COUNT(*) AS n, COUNT(earned) AS scored, "
                "SUM(earned) AS total FROM paper_items GROUP BY attempt_id"
            )
        )
    }
    for attempt_id in sorted(log.starts):
        if attempt_id not in attempts:
            problems.append(f"MISSING: attempt {attempt_id} was started but is not stored")
    for attempt_id, acknowledged_at in sorted(log.submits.items()):
        row = attempts.get(attempt_id)
        if row is None:
            continue
        if row.status != "submitted" or row.submitted_at is None:
            problems.append(f"NOT SUBMITTED: attempt {attempt_id} is {row.status}")
            continue
        submitted_at = row.submitted_at
        if isinstance(submitted_at, str):
            submitted_at = datetime.fromisoformat(submitted_at)
        if submitted_at > acknowledged_at + timedelta(milliseconds=50):
            problems.append(
                f"SCORED TWICE: attempt {attempt_id} submitted_at {submitted_at} is after "
                f"the first acknowledged submit {acknowledged_at}"
            )
    for attempt_id, row in attempts.items():
        if row.status == "submitted":
            scored = items.get(attempt_id)
            if row.score is None:
                problems.append(f"UNSCORED: attempt {attempt_id} submitted without a score")
            elif scored is None or scored.scored != scored.n:
                problems.append(f"UNSCORED: attempt {attempt_id} has unscored items")
            elif Decimal(str(row.score)) != Decimal(str(scored.total or 0)):
                problems.append(
                    f"SCORE: attempt {attempt_id} score {row.score} != items {scored.total}"
                )
        deadline = row.deadline_at
        if isinstance(deadline, str):
            deadline = datetime.fromisoformat(deadline)
        if row.status == "in_progress" and deadline + grace < now:
            problems.append(f"EXPIRED: attempt {attempt_id} in progress past its deadline")
    per_user = Counter((row.exam_id, row.user_id) for row in attempts.values())
    logged_per_user = Counter(
        (attempts[a].exam_id, attempts[a].user_id) for a in log.starts if a in attempts
    )
    for key, count in logged_per_user.items():
        if per_user[key] != count:
            problems.append(
                f"ATTEMPTS: user {key[1]} has {per_user[key]} attempts, {count} were started"
            )
    for action, object_id, count in connection.execute(
        text(
            "SELECT action, object_id, COUNT(*) FROM audit_log WHERE object_type = 'attempt' "
            "GROUP BY action, object_id HAVING COUNT(*) > 1"
        )
    ):
        if any(word in action for word in ("submit", "score", "finalize")):
            problems.append(f"AUDIT: attempt {object_id} has {count} «{action}» entries")
    return problems


def check_run(log: Log) -> list[str]:
    if log.summary is None:
        return ["RUN: the log has no summary line: the run did not finish"]
    problems = []
    if log.summary.get("fivexx"):
        problems.append(f"RUN: {log.summary['fivexx']} responses with status 5xx")
    if log.summary.get("hard_stop"):
        problems.append("RUN: the run was stopped by its time limit")
    for name, count in (log.summary.get("problems") or {}).items():
        problems.append(f"RUN: {count} × {name}")
    return problems


def check(connection, log: Log, grace: timedelta) -> list[str]:
    return (
        check_run(log) + check_responses(connection, log) + check_attempts(connection, log, grace)
    )


def plant(connection, log: Log) -> bool:
    """Delete one acknowledged answer and alter another; True if both are caught."""
    if len(log.acked) < 2:
        print("plant: fewer than two acknowledged saves in the log")
        return False
    rng = random.Random()
    lost, altered = rng.sample(sorted(log.acked), 2)
    transaction = connection.begin()
    try:
        connection.execute(
            text("DELETE FROM responses WHERE attempt_id = :a AND item_id = :i"),
            {"a": lost[0], "i": lost[1]},
        )
        connection.execute(
            text(
                "UPDATE responses SET answer = :v, seq = seq WHERE attempt_id = :a AND item_id = :i"
            ),
            {"a": altered[0], "i": altered[1], "v": json.dumps(["planted"])},
        )
        problems = check_responses(connection, log)
    finally:
        transaction.rollback()
    caught = [
        any(f"attempt {a} item {i}:" in problem for problem in problems) for a, i in (lost, altered)
    ]
    print(f"plant: deleted attempt {lost[0]} item {lost[1]}: caught {caught[0]}")
    print(f"plant: altered attempt {altered[0]} item {altered[1]}: caught {caught[1]}")
    print("plant: rolled back; the database is as it was")
    return all(caught)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--plant", action="store_true", help="also plant a lost answer")
    args = parser.parse_args()
    grace = timedelta(seconds=int(os.environ.get("EXAM_GRACE_SECONDS", 30)))
    log = Log(args.log)
    engine = create_engine(engine_url(args.database_url))
    with engine.connect() as connection:
        problems = check(connection, log, grace)
        connection.rollback()
        print(
            f"checked {len(log.acked)} acknowledged answers in {len(log.attempts)} attempts, "
            f"{len(log.submits)} submits: {len(problems)} discrepancies"
        )
        for problem in problems[:50]:
            print("  " + problem)
        if len(problems) > 50:
            print(f"  … and {len(problems) - 50} more")
        planted_caught = plant(connection, log) if args.plant else True
    engine.dispose()
    if args.plant and not planted_caught:
        print("FAILED: the planted discrepancy was not caught")
    return 1 if problems or not planted_caught else 0


if __name__ == "__main__":
    sys.exit(main())
