"""Forms for the senior pages: intake by phone, edit, status, and the list filters."""


from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Form,
    RadioField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from . import fields, vocab
from .people import local_today
from .phones import display_phone, is_mobile

# Statuses a coordinator may set by hand; "matched" belongs to the matching feature.
MANUAL_STATUSES = ("waiting", "paused", "ended")
REASON_REQUIRED = ("paused", "ended")


def _options(mapping) -> list[SelectChoice]:
    # SelectChoice, not tuples: WTForms 3.3 deprecates tuple choices.
    return [SelectChoice(code, label) for code, label in mapping.items()]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class NotInFuture:
    def __call__(self, form, field):
        if field.data and field.data > local_today():
            raise ValidationError(_l("Datumet kan inte ligga i framtiden."))


class SeniorForm(FlaskForm):
    """What the coordinator asks on the phone; also the edit form."""

    first_name = StringField(
        _l("Förnamn"), filters=[_strip],
        validators=[DataRequired(_l("Ange förnamn.")),
                    Length(max=80, message=_l("Förnamnet får vara högst 80 tecken."))],
        render_kw={"autocomplete": "off"})
    last_name = StringField(
        _l("Efternamn"), filters=[_strip],
        validators=[Optional(),
                    Length(max=80, message=_l("Efternamnet får vara högst 80 tecken."))],
        render_kw={"autocomplete": "off"})
    phone = fields.PhoneField(
        _l("Telefonnummer"), validators=[InputRequired(_l("Ange telefonnummer."))])
    birth_year = fields.birth_year_field(min_age=18, required=False)
    gender = RadioField(_l("Kön"), choices=_options(vocab.GENDERS),
                        validators=[InputRequired(_l("Välj kön."))])
    languages = fields.languages_field()
    other_languages = fields.other_languages_field()
    interests = TextAreaField(_l("Intressen, i egna ord"), filters=[_strip])
    availability = fields.availability_field(_l("Önskade samtalstider"), required=False)
    preferred_gender = RadioField(_l("Önskar telefonvän som är"),
                                  choices=_options(vocab.PREFERRED_GENDERS), default="any",
                                  validators=[InputRequired(_l("Välj önskemål om telefonvän."))])
    district = SelectField(
        _l("Stadsdel"), choices=[SelectChoice("", _l("Välj stadsdel"))]
        + [SelectChoice(d) for d in vocab.DISTRICTS],
        validators=[InputRequired(_l("Välj stadsdel."))])
    referral_source = SelectField(_l("Hur fick seniorn höra om oss?"),
                                  choices=_options(vocab.REFERRAL_SOURCES), default="sjalv")
    reminder_channel = RadioField(_l("Påminnelser via"),
                                  choices=_options(vocab.REMINDER_CHANNELS), default="sms",
                                  validators=[InputRequired(_l("Välj hur påminnelser skickas."))])
    notes = TextAreaField(_l("Anteckningar"), filters=[_strip])
    call_in = BooleanField(_l("Får ringa Vänringens nummer och kopplas till sin telefonvän"))
    # Only rendered (and only needed) when another senior has the same number.
    confirm_duplicate = BooleanField(_l("Registrera ändå"))

    languages_value = ""

    def validate_reminder_channel(self, field):
        if field.data == "sms" and self.phone.data and not self.phone.errors \
                and not is_mobile(self.phone.data):
            raise ValidationError(_l("Ett fast telefonnummer kan inte ta emot SMS. "
                                     "Välj röstsamtal i stället."))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        try:
            self.languages_value = fields.merge_languages(self)
        except ValidationError:
            ok = False
        return ok

    def prefill(self, senior) -> None:
        """Fill a GET form from the stored senior; codes not offered as boxes go to free text."""
        for name in ("first_name", "last_name", "birth_year", "gender", "interests",
                     "preferred_gender", "district", "referral_source", "reminder_channel",
                     "notes", "call_in"):
            getattr(self, name).data = getattr(senior, name)
        self.phone.data = display_phone(senior.phone)
        codes = senior.language_list
        self.languages.data = [c for c in codes if c in vocab.COMMON_LANGUAGES]
        self.other_languages.data = ";".join(c for c in codes
                                             if c not in vocab.COMMON_LANGUAGES)
        self.availability.data = senior.slot_list

    def values(self) -> dict:
        """The validated form as Senior attributes."""
        return {
            "first_name": self.first_name.data,
            "last_name": self.last_name.data or "",
            "phone": self.phone.data,
            "birth_year": self.birth_year.data,
            "gender": self.gender.data,
            "languages": self.languages_value,
            "interests": self.interests.data or "",
            "availability": ";".join(s for s in vocab.SLOTS
                                     if s in (self.availability.data or [])),
            "preferred_gender": self.preferred_gender.data,
            "district": self.district.data or None,
            "referral_source": self.referral_source.data,
            "reminder_channel": self.reminder_channel.data,
            "notes": self.notes.data or "",
            "call_in": bool(self.call_in.data),
        }


class IntakeForm(SeniorForm):
    consent = BooleanField(
        _l("Seniorn har muntligt samtyckt till texten ovan"),
        validators=[DataRequired(_l("Bekräfta att seniorn har samtyckt muntligt."))])
    consent_date = DateField(
        _l("Datum för samtycket"), default=local_today,
        validators=[InputRequired(_l("Ange datum för samtycket.")), NotInFuture()])
    consent_by = StringField(
        _l("Samtycket togs emot av"), filters=[_strip],
        validators=[DataRequired(_l("Ange vem som tog emot samtycket.")),
                    Length(max=120, message=_l("Högst 120 tecken."))])


class StatusForm(FlaskForm):
    status = SelectField(_l("Ny status"), choices=[SelectChoice(s, vocab.SENIOR_STATUSES[s])
                                                   for s in MANUAL_STATUSES])
    reason = TextAreaField(_l("Anledning"), filters=[_strip],
                           description=_l("Krävs för pausad och avslutad."))

    def validate_reason(self, field):
        if self.status.data in REASON_REQUIRED and not field.data:
            raise ValidationError(_l("Ange en anledning för att pausa eller avsluta."))


class FilterForm(Form):
    """GET filters of the list: no CSRF, nothing is changed."""

    q = SearchField(_l("Sök namn, telefon eller id"), filters=[_strip])
    status = SelectField(_l("Status"), choices=[SelectChoice("", _l("Alla"))]
                         + _options(vocab.SENIOR_STATUSES), validate_choice=False)
    district = SelectField(_l("Stadsdel"), choices=[SelectChoice("", _l("Alla"))]
                           + [SelectChoice(d) for d in vocab.DISTRICTS], validate_choice=False)
    language = SelectField(_l("Språk"), validate_choice=False)
    waiting_before = DateField(_l("Väntat sedan före"), validators=[Optional()])
