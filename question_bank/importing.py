"""Import: parse a file, check every row as the edit form does, preview, then write all
rows or none. The same path serves the trainers' page, the CLI and the demo bank."""

from dataclasses import dataclass, field

from sqlalchemy import select

from core.audit import Actor, record
from core.extensions import db
from question_bank import cases, formats
from question_bank.bank import BankError, CitationLookup, add_question
from question_bank.drafts import FIELD_LABELS, CaseDraft, ParsedRow, RowError
from question_bank.formats.template import HEADER, export_refused, template_row
from question_bank.models import Question
from question_bank.similar import Item, Similar, bank_items, find_similar


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
    #: how the file was read (which text layout, and why), shown above the preview
    notes: list[str] = field(default_factory=list)
    #: row -> template cells of a refused row, for the error file
    refused: dict[int, list[str]] = field(default_factory=dict)
    #: rows whose stems read nearly as another row's or a bank question's
    similar: list[Similar] = field(default_factory=list)

    @property
    def error_rows(self) -> list[int]:
        """The rows refused, in file order (0: the file as a whole)."""
        return sorted({error.row for error in self.errors})

    @property
    def can_skip_invalid(self) -> bool:
        """A partial import needs rows that passed, and no error about the file as a whole
        (then nothing it read can be trusted)."""
        return bool(self.rows) and bool(self.errors) and 0 not in self.error_rows

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


def plan_import(
    data: bytes, filename: str, fmt: str | None = None, *, near_duplicates: bool = True
) -> ImportPlan:
    """Parse and check a file; writes nothing. Near-duplicates are for the preview: an
    import being confirmed leaves them out (they never stop one)."""
    fmt, parsed, notes = formats.read(data, filename, fmt)
    plan = ImportPlan(
        filename,
        fmt or "",
        parsed.rows,
        list(parsed.errors),
        parsed.duplicates,
        notes=notes,
        refused=dict(parsed.refused),
    )
    fingerprints = parsed.fingerprints
    existing = _questions_with_fingerprints(set(fingerprints.values()))
    # A row repeating an earlier row counts once, as a duplicate within the file.
    in_file = {row for row, _ in parsed.duplicates}
    plan.bank_duplicates = [
        (row, existing[fp])
        for row, fp in fingerprints.items()
        if fp in existing and row not in in_file
    ]
    items = [Item(row.draft, row=row.row, fingerprint=fingerprints[row.row]) for row in parsed.rows]
    plan.similar = find_similar(items, bank_items()) if items and near_duplicates else []
    return plan


def commit_import(
    actor: Actor, plan: ImportPlan, *, keep_duplicates: bool = False, skip_invalid: bool = False
) -> list[int]:
    """Write the plan's rows (skipping duplicates unless kept); the caller commits once.

    All or nothing by default. With `skip_invalid` (chosen explicitly by the trainer) the
    rows that passed are written and the refused ones skipped: they stay in `plan.errors`
    for the error file, and the audit entry counts them.
    Laws the file cites but the registry lacks are registered, as the preview said.
    Raises BankError with every row's problem if a row fails and is not to be skipped,
    having written nothing the caller will keep (the caller rolls back).
    """
    if plan.errors and not (skip_invalid and plan.can_skip_invalid):
        raise BankError({"file": "文件有错误，未导入"})
    lookup = CitationLookup(register_missing=True)
    skip = set() if keep_duplicates else plan.duplicate_rows
    created, problems = [], []
    new_cases = _add_cases(actor, plan, lookup, created)
    for parsed in plan.rows:
        if parsed.row in skip or parsed.case is not None:
            continue
        try:
            # add_question refuses a row before adding anything of it to the session.
            created.append(add_question(actor, parsed.draft, lookup=lookup, audit=False))
        except BankError as error:
            problems.extend(
                RowError(parsed.row, FIELD_LABELS.get(name, ""), message)
                for name, message in error.fields.items()
            )
            plan.refused[parsed.row] = [str(v or "") for v in template_row(parsed.draft)]
    if problems:
        plan.errors = sorted([*plan.errors, *problems], key=lambda e: e.row)
        if not skip_invalid:
            raise BankError({"file": f"{len(problems)} 行无法导入"})
    if skip_invalid and not created:
        raise BankError({"file": "没有通过检查的试题，未导入"})
    db.session.flush()
    created = [question.id for question in created]
    skipped_invalid = len(plan.error_rows) if skip_invalid else 0
    record(
        actor,
        "question.import",
        object_type="question",
        summary=f"从「{plan.filename}」导入 {len(created)} 道试题"
        + (f"（含 {len(new_cases)} 个案例的小题）" if new_cases else "")
        + (f"，跳过 {skipped_invalid} 行有错误的" if skipped_invalid else ""),
        detail={
            "format": plan.format,
            "created": len(created),
            "cases": [case.id for case in new_cases],
            "skipped_duplicates": len(plan.rows) - len(created) - len({e.row for e in problems}),
            "skipped_invalid": skipped_invalid,
            "registered_laws": lookup.registered,
        },
    )
    return created


def _add_cases(actor: Actor, plan: ImportPlan, lookup: CitationLookup, created: list) -> list:
    """The file's cases, each with its sub-questions (never skipped one by one as
    duplicates: a case is imported whole); their questions join `created`."""
    groups: dict[int, list[ParsedRow]] = {}
    for parsed in plan.rows:
        if parsed.case is not None:
            groups.setdefault(id(parsed.case), []).append(parsed)
    new_cases = []
    for rows in groups.values():
        head = rows[0].case
        draft = CaseDraft(
            title=head.title,
            material="\n".join(head.material),
            questions=[row.draft for row in rows],
            points=[row.points for row in rows],
            table=head.table,
        )
        try:
            case = cases.add_case(actor, draft, audit=False, lookup=lookup)
        except BankError as error:
            message = f"第 {head.row} 行的案例「{head.title}」：{error.message}"
            raise BankError({"file": message}) from None
        new_cases.append(case)
        created.extend(question for question, _ in cases.parts_of(case.current_version))
    return new_cases


def error_file(plan: ImportPlan) -> bytes:
    """Every refused row in the template with where it was and why (错误原因), as .xlsx:
    fixed, it imports again. An error about the whole file is a row of its own."""
    messages: dict[int, list[str]] = {}
    for error in plan.errors:
        column = f"「{error.column}」" if error.column else ""
        messages.setdefault(error.row, []).append(f"{column}{error.message}")
    blank = [""] * len(HEADER)
    rows = [
        [*plan.refused.get(row, blank), f"第 {row} 行" if row else "整个文件", "；".join(found)]
        for row, found in sorted(messages.items())
    ]
    return export_refused(rows)


def registrations_needed(plan: ImportPlan) -> list[str]:
    """Laws and versions the import would add to the registry, for the preview: the
    import's own lookup, run in a savepoint that is rolled back."""
    lookup = CitationLookup(register_missing=True)
    with db.session.begin_nested() as savepoint:
        for parsed in plan.rows:
            lookup.resolve(parsed.draft.law_refs)
        savepoint.rollback()
    return lookup.registered
