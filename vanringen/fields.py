"""Form fields shared by the senior intake, the volunteer application and the edit forms.

They validate with the same parsers the CSV import uses (vocab, phones), so a value is
valid in a form exactly when it is valid in a file.
"""

from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectMultipleField, StringField, ValidationError, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from . import vocab
from .phones import parse_phone


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PhoneField(StringField):
    """Accepts 08-123 456 78, 070-123 45 67, +46 70…, 0046…; `data` becomes E.164."""

    def __init__(self, label=None, validators=None, *, mobile=False, **kwargs):
        super().__init__(label, validators, render_kw={"type": "tel", "autocomplete": "tel"},
                         **kwargs)
        self.mobile = mobile

    def _value(self):
        # Show the number as the person typed it, not the E.164 form it was turned into.
        if self.raw_data:
            return self.raw_data[0]
        return super()._value()

    def pre_validate(self, form):
        if not self.data:
            return
        try:
            self.data = parse_phone(self.data, current_app.config["PHONE_REGION"],
                                    mobile=self.mobile)
        except ValueError as exc:
            raise ValidationError(_l("Ange ett giltigt mobilnummer, t.ex. 070-123 45 67.")
                                  if self.mobile else
                                  _l("Ange ett giltigt telefonnummer, t.ex. 08-123 456 78 "
                                     "eller 070-123 45 67.")) from exc


def languages_field(label=None):
    return MultiCheckboxField(
        label or _l("Språk"),
        choices=[SelectChoice(c, vocab.lazy_language_name(c)) for c in vocab.COMMON_LANGUAGES],
        validators=[InputRequired(_l("Välj minst ett språk."))], default=["sv"])


def other_languages_field():
    return StringField(_l("Andra språk (ISO-koder, t.ex. et;lv)"), validators=[Optional()])


def merge_languages(form) -> str:
    """The ticked languages plus any typed as codes, checked against ISO 639-1."""
    typed = form.other_languages.data or ""
    try:
        extra = vocab.parse_languages(typed) if typed.strip() else []
    except ValueError as exc:
        form.other_languages.errors.append(_l("Okänd språkkod. Använd ISO 639-1, t.ex. et."))
        raise ValidationError(str(exc)) from exc
    return ";".join(dict.fromkeys([*(form.languages.data or []), *extra]))


def availability_field(label, required=True):
    validators = [InputRequired(_l("Välj minst en tid."))] if required else [Optional()]
    # SelectChoice, not tuples: WTForms 3.3 deprecates tuple choices (a warning is an error
    # under pytest).
    return MultiCheckboxField(label, choices=[SelectChoice(s) for s in vocab.SLOTS],
                              validators=validators)


class BirthYear:
    """Between 1900 and this year minus `min_age`, computed when the form is checked."""

    def __init__(self, min_age: int):
        self.min_age = min_age

    def __call__(self, form, field):
        latest = date.today().year - self.min_age
        if field.data is not None and not 1900 <= field.data <= latest:
            raise ValidationError(_l("Ange ett födelseår mellan 1900 och %(latest)s.",
                                     latest=latest))


def birth_year_field(min_age: int = 18, required: bool = True):
    return IntegerField(
        _l("Födelseår"),
        validators=[InputRequired(_l("Ange födelseår.")) if required else Optional(),
                    BirthYear(min_age)],
        render_kw={"inputmode": "numeric"},
    )
