"""WTForms for accounts, units and administration."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class EmptyForm(FlaskForm):
    """CSRF protection for buttons that POST."""


class LoginForm(FlaskForm):
    login = StringField("账号", validators=[DataRequired("请输入账号"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=128)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码")])
    new = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=128)])
    confirm = PasswordField("再次输入新密码", validators=[EqualTo("new", "两次输入的新密码不一致")])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    login = StringField("账号", validators=[DataRequired("请填写账号"), Length(max=64)])
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=50)])
    unit_id = SelectField("单位", coerce=int)
    position = StringField("职务", validators=[Optional(), Length(max=100)])
    is_leader = BooleanField("领导干部")
    is_enforcement_officer = BooleanField("行政执法人员")
    phone = StringField("手机号", validators=[Optional(), Length(max=20)])
    id_number = StringField("身份证号", validators=[Optional(), Length(max=18)])
    roles = MultiCheckboxField("角色")


class UnitForm(FlaskForm):
    name = StringField("单位名称", validators=[DataRequired("请填写单位名称"), Length(max=100)])
    parent_id = SelectField("上级单位", coerce=int)


class RenameUnitForm(FlaskForm):
    name = StringField("新名称", validators=[DataRequired("请填写单位名称"), Length(max=100)])


class UserImportForm(FlaskForm):
    file = FileField(
        "Excel 文件",
        validators=[FileRequired("请选择文件"), FileAllowed(["xlsx"], "只支持 .xlsx 文件")],
    )


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("姓名或账号", validators=[Optional(), Length(max=64)])
    unit_id = SelectField("单位", coerce=int, validators=[Optional()])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    actor = StringField("操作人账号", validators=[Optional(), Length(max=64)])
    action = SelectField("操作", validators=[Optional()])
    object_type = SelectField(
        "对象",
        choices=choices([("", "全部"), ("user", "用户"), ("unit", "单位"), ("question", "试题")]),
        validators=[Optional()],
    )
    since = DateField("起始日期", validators=[Optional()])
    until = DateField("截止日期", validators=[Optional()])
