"""The base form for every blueprint: Chinese built-in messages, choices helper."""

from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget


class Form(FlaskForm):
    class Meta:
        # WTForms ships Chinese messages ("不是有效的选项" ...); the app sets
        # WTF_I18N_ENABLED = False so Flask-WTF does not look for Flask-Babel instead.
        locales = ("zh",)

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


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    """A multiple select shown as a row of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
