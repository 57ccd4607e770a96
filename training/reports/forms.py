"""The report's filters (GET, so a report can be bookmarked and printed)."""

from wtforms import BooleanField, SelectField

from core.forms import Form


class ReportFilterForm(Form):
    class Meta:
        csrf = False

    year = SelectField("年度", coerce=int, default=0)
    kind = SelectField("考试类型", default="")
    exam_id = SelectField("考试", coerce=int, default=0)
    unit_id = SelectField("单位（含下级）", coerce=int, default=0)
    leaders = BooleanField("仅领导干部")
