"""Import: parse a file, check every row as the edit form does, preview, then write all
rows or none. The same path serves the trainers' page, the CLI and the demo bank."""

from dataclasses import dataclass, field

from sqlalchemy import select

from core.audit import Actor, record
from core.extensions import db
from question_bank import formats
from question_bank.bank import BankError, CitationLookup, add_question
from question_bank.drafts import FIELD_LABELS, ParsedRow, RowError, fingerprint
from question_bank.models import Question


@dataclass
class ImportPlan:
    """What an import would do: the rows it would add, and every reason it cannot."""

    filename: str
    format: str
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    #: (row, first row) within the file
    file_duplicates: list[tuple[int, int]] = field(default_factory=list)
    #: (row, question id) already in the bank, for rows not in file_duplicates
    bank_duplicates: list[tuple[int, int]] = field(default_factory=list)

    @property
    def duplicate_rows(self) -> set[int]:
        return {row for row, _ in self.file_duplicates} | {row for row, _ in self.bank_duplicates}

    def count(self, keep_duplicates: bool) -> int:
        if keep_duplicates:
            return len(self.rows)
        return len([r for r in self.rows if r.row not in self.duplicate_rows])


def _questions_with_fingerprints(fingerprints: set[str]) -> dict[str, int]:
    """Fingerprint → id of a question in the bank, for the given fingerprints."""
    wanted, found = sorted(fingerprints), {}
    for start in range(0, len(wanted), 500):  # stay under the database's bound-parameter cap
        chunk = wanted[start : start + 500]
        stmt = select(Question.fingerprint, Question.id).where(Question.fingerprint.in_(chunk))
        found.update(db.session.execute(stmt).all())
    return found


def plan_import(data: bytes, filename: str, fmt: str | None = None) -> ImportPlan:
    """Parse and check a file; writes nothing."""
    fmt = fmt or formats.detect_format(filename, data)
    if fmt not in formats.FORMATS:
        names = "、".join(spec.label for spec in formats.FORMATS.values())
        return ImportPlan(
            filename,
            fmt or "",
            errors=[RowError(0, "", f"无法识别文件格式「{filename}」，支持：{names}")],
        )
    parsed = formats.parse(data, fmt)
    plan = ImportPlan(filename, fmt, parsed.rows, list(parsed.errors), parsed.duplicates)
    fingerprints = {row.row: fingerprint(row.draft) for row in parsed.rows}
    existing = _questions_with_fingerprints(set(fingerprints.values()))
    # A row repeating an earlier row counts once, as a duplicate within the file.
    in_file = {row for row, _ in parsed.duplicates}
    plan.bank_duplicates = [
        (row, existing[fp])
        for row, fp in fingerprints.items()
        if fp in existing and row not in in_file
    ]
    return plan


def commit_import(actor: Actor, plan: ImportPlan, *, keep_duplicates: bool = False) -> list[int]:
    """Write the plan's rows (skipping duplicates unless kept); the caller commits once.

    Laws the file cites but the registry lacks are registered, as the preview said.
    Raises BankError with every row's problem if any row fails, having written nothing
    the caller will keep (the caller rolls back).
    """
    if plan.errors:
        raise BankError({"file": "文件有错误，未导入"})
    lookup = CitationLookup(register_missing=True)
    skip = set() if keep_duplicates else plan.duplicate_rows
    created, problems = [], []
    for parsed in plan.rows:
        if parsed.row in skip:
            continue
        try:
            created.append(add_question(actor, parsed.draft, lookup=lookup, audit=False))
        except BankError as error:
            problems.extend(
                RowError(parsed.row, FIELD_LABELS.get(name, ""), message)
                for name, message in error.fields.items()
            )
    if problems:
        plan.errors = problems
        raise BankError({"file": f"{len(problems)} 行无法导入"})
    db.session.flush()
    created = [question.id for question in created]
    record(
        actor,
        "question.import",
        object_type="question",
        summary=f"从「{plan.filename}」导入 {len(created)} 道试题",
        detail={
            "format": plan.format,
            "created": len(created),
            "skipped_duplicates": len(plan.rows) - len(created),
            "registered_laws": lookup.registered,
        },
    )
    return created


def registrations_needed(plan: ImportPlan) -> list[str]:
    """Laws and versions the import would add to the registry, for the preview: the
    import's own lookup, run in a savepoint that is rolled back."""
    lookup = CitationLookup(register_missing=True)
    with db.session.begin_nested() as savepoint:
        for parsed in plan.rows:
            lookup.resolve(parsed.draft.law_refs)
        savepoint.rollback()
    return lookup.registered
