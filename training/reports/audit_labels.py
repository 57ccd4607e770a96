"""How the audit log shows what the reports did."""

from core.audit import Action, Detail, Labels
from training.exams.models import EXAM_KIND_LABELS

#: the report's filters, as a report's entries keep them
FILTERS = {
    "year": Detail("年度"),
    "kind": Detail("考试类型", format=lambda value: EXAM_KIND_LABELS.get(value, value)),
    "exam_id": Detail("考试", refers_to="exam"),
    "unit_id": Detail("单位（含下级）", refers_to="unit"),
    "leaders": Detail("仅领导干部", format=lambda value: "是" if value else "否"),
}

LABELS = Labels(
    actions={
        "report.export": Action("导出统计报表", details=FILTERS),
        "report.person": "查看个人考试记录",
        "report.small_groups": Action(
            "查看含少数人分组的统计报表",
            details=FILTERS | {"groups": Detail("人数很少的分组", format="、".join)},
        ),
    },
)
