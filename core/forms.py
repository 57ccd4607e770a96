"""The base form for every blueprint: Chinese built-in messages, choices helper."""

import re

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectChoice, SelectMultipleField
from wtforms.i18n import get_translations
from wtforms.widgets import CheckboxInput, ListWidget

CHINESE = re.compile(r"[\u4e00-\u9fff]")
BAD_CHOICE = "所选的选项无效，请重新选择。"
# Messages WTForms 3.x added after its Chinese catalogue was last updated, and two it
# words as a programmer would ("无法转化类型").
MISSING_MESSAGES = {
    "Invalid Choice: could not coerce.": BAD_CHOICE,
    "Invalid choice(s): one or more data inputs could not be coerced.": BAD_CHOICE,
    "'%(value)s' is not a valid choice for this field.": BAD_CHOICE,
    "'%(value)s' are not valid choices for this field.": BAD_CHOICE,
    "Date must be at least %(min)s.": "日期不能早于 %(min)s。",
    "Date must be at most %(max)s.": "日期不能晚于 %(max)s。",
    "Date must be between %(min)s and %(max)s.": "日期应在 %(min)s 至 %(max)s 之间。",
    "Not a valid week value.": "不是有效的周。",
    "This field cannot be edited.": "该项不能修改。",
    "This field is disabled and cannot have a value.": "该项不能填写。",
    "File does not have an approved extension.": "不支持该文件类型。",
}


class ChineseMessages:
    """WTForms' own Chinese catalogue plus the messages it lacks; a message still in
    English after both (a newer WTForms, Flask-WTF's file checks) becomes a plain Chinese
    one, so no English reaches a user."""

    FALLBACK = "输入的内容无效。"

    def __init__(self):
        self._zh = get_translations(["zh"])

    def _chinese(self, english: str, text: str) -> str:
        text = MISSING_MESSAGES.get(english, text)
        return text if CHINESE.search(text) else self.FALLBACK

    def gettext(self, string: str) -> str:
        return self._chinese(string, self._zh.gettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        english = singular if n == 1 else plural
        return self._chinese(english, self._zh.ngettext(singular, plural, n))


MESSAGES = ChineseMessages()


class Form(FlaskForm):
    class Meta:
        # The app sets WTF_I18N_ENABLED = False so Flask-WTF does not look for Flask-Babel.
        def get_translations(self, form):
            return MESSAGES

    def attach_errors(self, errors: dict[str, str]) -> list[str]:
        """Show each message by the field it names; return the messages no field took."""
        unplaced = []
        for name, message in errors.items():
            field = self._fields.get(name)
            if field is None:
                unplaced.append(message)
            else:
                field.errors = [*field.errors, message]
        return unplaced


class EmptyForm(Form):
    """CSRF protection for buttons that POST."""


class ChineseDateField(DateField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError("日期格式应为 年-月-日，如 2026-01-31") from error


class FiniteDecimalField(DecimalField):
    """A decimal number, never NaN or infinite: WTForms reads `sNaN` as a Decimal, and
    NumberRange then raised on it (a 500 instead of a message)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError("请输入数字。")


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    """A multiple select shown as a row of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
