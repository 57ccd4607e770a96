"""WTForms for accounts, units and administration."""

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from core.forms import ChineseDateField, Form, MultiCheckboxField


class LoginForm(Form):
    login = StringField("账号", validators=[DataRequired("请输入账号"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=128)])
    captcha = StringField("验证码", validators=[Optional(), Length(max=16)])


class SecondFactorForm(Form):
    code = StringField(
        "动态验证码或恢复码", validators=[DataRequired("请输入验证码"), Length(max=16)]
    )


class DisableSecondFactorForm(SecondFactorForm):
    password = PasswordField("当前密码", validators=[DataRequired("请输入当前密码")])


class SecuritySettingsForm(Form):
    totp_required = BooleanField("系统管理员、安全管理员、审计管理员必须使用动态口令登录")


class ChangePasswordForm(Form):
    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码")])
    new = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=128)])
    confirm = PasswordField("再次输入新密码", validators=[EqualTo("new", "两次输入的新密码不一致")])


class UserForm(Form):
    login = StringField("账号", validators=[DataRequired("请填写账号"), Length(max=64)])
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=50)])
    unit_id = SelectField("单位", coerce=int)
    position = StringField("职务", validators=[Optional(), Length(max=100)])
    is_leader = BooleanField("领导干部")
    is_enforcement_officer = BooleanField("行政执法人员")
    phone = StringField("手机号", validators=[Optional(), Length(max=20)])
    id_number = StringField("身份证号", validators=[Optional(), Length(max=18)])
    roles = MultiCheckboxField("角色")


class UnitForm(Form):
    name = StringField("单位名称", validators=[DataRequired("请填写单位名称"), Length(max=100)])
    parent_id = SelectField("上级单位", coerce=int)


class RenameUnitForm(Form):
    name = StringField("新名称", validators=[DataRequired("请填写单位名称"), Length(max=100)])


class UserImportForm(Form):
    file = FileField(
        "Excel 文件",
        validators=[FileRequired("请选择文件"), FileAllowed(["xlsx"], "只支持 .xlsx 文件")],
    )


class UserFilterForm(Form):
    class Meta:
        csrf = False

    q = StringField("姓名或账号", validators=[Optional(), Length(max=64)])
    unit_id = SelectField("单位", coerce=int, validators=[Optional()])


class AuditFilterForm(Form):
    class Meta:
        csrf = False

    actor = StringField("操作人账号", validators=[Optional(), Length(max=64)])
    action = SelectField("操作", validators=[Optional()])
    object_type = SelectField("对象", validators=[Optional()])
    since = ChineseDateField("起始日期", validators=[Optional()])
    until = ChineseDateField("截止日期", validators=[Optional()])


class RolesForm(Form):
    roles = MultiCheckboxField("角色")
