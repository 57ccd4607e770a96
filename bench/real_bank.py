"""Turn the real question JSONL files of ../shared/data into the Chinese bank template.

    python bench/real_bank.py OUT.csv|OUT.xlsx [--limit N] [--copies K] [JSONL ...]

Defaults to both JSONL files beside this repository. `--copies K` repeats the rows K
times with a numbered stem suffix, for banks larger than the real data (search bench).
The data is research material: it is read from ../shared, never copied into the repo.
"""

import argparse
import csv
import json
import unicodedata
from itertools import islice
from pathlib import Path

from openpyxl import Workbook

from question_bank.drafts import MAX_STEM_CHARS
from question_bank.formats.template import HEADER

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_SOURCES = [
    SHARED / "jecqa-njec" / "questions.jsonl",
    SHARED / "lexeval" / "questions.jsonl",
]
TYPES = {"single": "单选", "multi": "多选", "truefalse": "判断"}


def importable(item) -> bool:
    """Leave out the few real rows the bank refuses (repeated options, overlong stems),
    so benches measure imports that succeed; the refusals are counted by hand."""
    options = [unicodedata.normalize("NFKC", text).strip() for text in item["options"].values()]
    # Room for the numbered suffix that --copies adds to stems.
    return len(set(options)) == len(options) and len(item["stem"]) <= MAX_STEM_CHARS - 10


def template_rows(sources, limit=None, copies=1):
    def originals():
        for source in sources:
            with open(source, encoding="utf-8") as lines:
                for line in lines:
                    yield json.loads(line)

    items = list(islice(filter(importable, originals()), limit))
    for copy in range(copies):
        suffix = f"（第{copy + 1}组）" if copies > 1 else ""
        for item in items:
            options = [item["options"].get(letter, "") for letter in "ABCDEFGH"]
            topic = item.get("subject", "").replace("|", "/")[:50]
            yield [
                TYPES[item["type"]],
                item["stem"] + suffix,
                *options,
                "".join(item["answer"]),
                "",
                "",
                "",
                topic,
            ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("sources", nargs="*", type=Path, default=DEFAULT_SOURCES)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--copies", type=int, default=1)
    args = parser.parse_args()
    rows = template_rows(args.sources, args.limit, args.copies)
    if args.out.suffix == ".xlsx":
        book = Workbook(write_only=True)
        sheet = book.create_sheet("题库")
        sheet.append(HEADER)
        for row in rows:
            sheet.append(row)
        book.save(args.out)
    else:
        with open(args.out, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(HEADER)
            writer.writerows(rows)


if __name__ == "__main__":
    main()
