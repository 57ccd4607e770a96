"""Preview and import a generated 5,000-question Word (.docx) and text (.txt) bank through
`flask bank import`, timed, with each run's peak memory, on SQLite and (with --postgres
URL, an empty server database per run) PostgreSQL.

    python bench/text_bank_bench.py [--questions 5000] [--runs 3] [--postgres postgresql://postgres@127.0.0.1/postgres]

Per format and database, each run on an empty migrated database:
- preview: `--dry-run` (parse, every check, duplicates and near-duplicates against the
  bank, laws to register: what the preview page computes);
- import: the real import into the empty bank;
- preview again: `--dry-run` of the same file against the bank now holding it (every
  row an exact duplicate, every stem compared with the bank's).
Prints seconds and peak resident memory (MB) of the `flask` process, and the medians.

The questions are made up here from phrase lists (varied stems, four layouts mixed:
answer lines, answers in the stem's parentheses, an answer key block, section headings);
no real bank is used.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docx import Document
from import_bench import drop_database, fresh_database  # bench/ is the script's path

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask", "--app", "app"]

SUBJECTS = [
    "行政机关",
    "当事人",
    "执法人员",
    "复议机关",
    "人民法院",
    "公安机关",
    "市场监管部门",
    "乡镇人民政府",
    "被处罚人",
    "听证主持人",
    "证人",
    "鉴定机构",
    "上级机关",
    "代理人",
]
ACTIONS = [
    "作出行政处罚决定",
    "实施行政强制措施",
    "受理行政复议申请",
    "组织听证",
    "送达决定书",
    "调查取证",
    "责令改正",
    "没收违法所得",
    "暂扣许可证件",
    "公开执法信息",
    "告知陈述申辩权利",
    "制作现场笔录",
    "采取查封扣押措施",
    "申请强制执行",
]
CONDITIONS = [
    "在紧急情况下",
    "在法定期限内",
    "对于情节轻微的",
    "涉及国家秘密的",
    "案情复杂的",
    "当事人要求听证的",
    "违法事实确凿的",
    "初次违法且危害后果轻微的",
    "依法需要检测的",
]
ASKS = [
    "应当遵守的规定是",
    "下列说法正确的是",
    "依法应当如何处理",
    "期限一般为",
    "适用的程序是",
    "不得实施的行为是",
    "可以采取的措施是",
    "需要经过的审批是",
]
OPTIONS = [
    "三日",
    "五日",
    "七日",
    "十日",
    "十五日",
    "三十日",
    "六十日",
    "口头告知",
    "书面告知",
    "报请批准",
    "立即执行",
    "暂缓执行",
    "依法回避",
    "听取意见",
    "不予处罚",
    "从轻处罚",
    "减轻处罚",
    "移送司法机关",
    "制作笔录",
    "两名以上执法人员",
]


def question(rng: random.Random, n: int) -> tuple[str, list[str], str]:
    stem = (
        f"{rng.choice(CONDITIONS)}，{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)}时，"
        f"{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)}{rng.choice(ASKS)}（第{n}号）"
    )
    options = rng.sample(OPTIONS, 4)
    return stem, options, "ABCD"[rng.randrange(4)]


def bank_lines(count: int) -> list[str]:
    """Five sections of count/5 questions, numbering restarting per section, each section
    in another layout; the last takes its key from a key block at the end."""
    rng = random.Random(2026)
    lines, key_block = [], []
    per_section = count // 5
    n = 0
    for section in range(5):
        lines.append(f"{'一二三四五'[section]}、单项选择题（每题1分）")
        for number in range(1, per_section + 1):
            n += 1
            stem, options, answer = question(rng, n)
            if section == 1:
                lines.append(f"{number}．{stem.replace('（第', f'（{answer}）（第')}")
            else:
                lines.append(f"{number}、{stem}")
            if section == 2:
                lines.extend(
                    f"{letter}．{text}" for letter, text in zip("ABCD", options, strict=True)
                )
            else:
                lines.append("  ".join(f"{x}．{t}" for x, t in zip("ABCD", options, strict=True)))
            if section in (0, 2):
                lines.append(f"正确答案：{answer}")
            elif section == 3:
                lines.append(f"【答案】{answer}")
                lines.append("【解析】依照行政处罚法的规定。")
            elif section == 4:
                key_block.append(f"{number}.{answer}")
    lines.append("参考答案")
    lines.append("五、单项选择题")
    lines.extend(" ".join(key_block[i : i + 10]) for i in range(0, len(key_block), 10))
    return lines


def write_files(workdir: Path, count: int) -> dict[str, Path]:
    lines = bank_lines(count)
    text = workdir / "bank.txt"
    text.write_bytes("\r\n".join(lines).encode("gb18030"))
    document = Document()
    for line in lines:
        document.add_paragraph(line)
    docx = workdir / "bank.docx"
    document.save(docx)
    return {"txt": text, "docx": docx}


def run_measured(args, env) -> tuple[subprocess.CompletedProcess, float, float]:
    """The finished process, its seconds and its own peak resident memory in MB."""
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
        )
        stdout = process.stdout.read()  # before reaping, so a full pipe cannot block it
        _, status, usage = os.wait4(process.pid, 0)  # this process's own peak memory
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        result = subprocess.CompletedProcess(args, process.returncode, stdout, errors.read())
    return result, seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        files = write_files(workdir, args.questions)
        for path in files.values():
            print(f"{path.name}: {path.stat().st_size / 1024 / 1024:.1f} MB")
        kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
        number = 0
        for kind in kinds:
            for suffix, path in files.items():
                figures: dict[str, list[tuple[float, float]]] = {}
                for _ in range(args.runs):
                    number += 1
                    url = fresh_database(kind, args.postgres, workdir, number)
                    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
                    subprocess.run(
                        [*FLASK, "db", "upgrade"],
                        cwd=ROOT,
                        env=env,
                        check=True,
                        capture_output=True,
                    )
                    steps = [
                        ("preview", ["--dry-run"]),
                        ("import", []),
                        ("preview again", ["--dry-run", "--keep-duplicates"]),
                    ]
                    for step, options in steps:
                        result, seconds, peak = run_measured(
                            [*FLASK, "bank", "import", str(path), *options], env
                        )
                        if result.returncode != 0:
                            print(result.stdout[-2000:], result.stderr[-2000:])
                            raise SystemExit(f"{step} failed on {kind}/{suffix}")
                        figures.setdefault(step, []).append((seconds, peak))
                        if step == "import":
                            last = result.stdout.strip().splitlines()[-1]
                    drop_database(url, args.postgres)
                for step, runs in figures.items():
                    seconds = statistics.median(s for s, _ in runs)
                    peak = max(p for _, p in runs)
                    print(
                        f"{kind:10} {suffix:4} {step:13} {args.questions} questions: runs "
                        f"{', '.join(f'{s:.2f}s' for s, _ in runs)}; median {seconds:.2f}s; "
                        f"peak memory {peak:.0f} MB"
                    )
                print(f"  ({last})")


if __name__ == "__main__":
    main()
