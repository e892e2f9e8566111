"""Forms for volunteers: the public application, the coordinator's edit form, the list filters.

The application and the edit form share their profile fields, so a value a volunteer may
enter on the phone is exactly a value the coordinator may enter on the laptop.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    RadioField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, InputRequired, Length, Optional

from . import fields, vocab
from .phones import display_phone

VOLUNTEER_CONSENT_VERSION = "volunteer-v1"
# Stored verbatim with each Consent row, so it is never translated: what the person agreed
# to must stay exactly what they read. A changed text needs a new version.
VOLUNTEER_CONSENT_TEXT = (
    "Vänringen sparar de uppgifter du lämnar i det här formuläret: namn, mobilnummer, "
    "e-postadress, födelseår, kön, språk, intressen, när du kan ringa, hur många du vill "
    "ringa och varför du vill bli telefonvän. Vi använder dem för att handlägga din "
    "ansökan, för att hitta en äldre person som passar dig och för att kontakta dig om "
    "uppdraget. Om du går vidare antecknar vi också datum för intervju och utbildning och "
    "vilket datum vi såg ditt utdrag ur belastningsregistret; själva utdraget sparar vi inte. "
    "Bara Vänringens samordnare ser uppgifterna, och de lämnas inte till någon annan. "
    "Vi skickar ett SMS som "
    "bekräftar att vi har fått ansökan. Uppgifterna sparas så länge du är sökande eller "
    "volontär och raderas senast 24 månader efter att ansökan avslutats eller du slutat som "
    "volontär. Du kan när som helst återkalla ditt samtycke och få dina uppgifter raderade: "
    "kontakta samordnaren."
)

# Column names as the coordinator reads them; edit events store the column names.
FIELD_LABELS = {
    "first_name": _l("Förnamn"), "last_name": _l("Efternamn"), "phone": _l("Mobilnummer"),
    "email": _l("E-post"), "birth_year": _l("Födelseår"), "gender": _l("Kön"),
    "languages": _l("Språk"), "interests": _l("Intressen"),
    "availability": _l("När kan du ringa?"), "capacity": _l("Antal seniorer"),
    "motivation": _l("Varför vill du bli telefonvän?"),
}
PROFILE_COLUMNS = tuple(FIELD_LABELS)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class RequiredRadioField(RadioField):
    """A radio group whose only error, when nothing is chosen, is its InputRequired message."""

    def pre_validate(self, form):
        if self.raw_data:
            super().pre_validate(form)


class VolunteerProfileForm(FlaskForm):
    first_name = StringField(
        FIELD_LABELS["first_name"], filters=[_strip],
        validators=[InputRequired(_l("Ange förnamn.")),
                    Length(max=80, message=_l("Förnamnet får vara högst 80 tecken."))],
        render_kw={"autocomplete": "given-name"})
    last_name = StringField(
        FIELD_LABELS["last_name"], filters=[_strip],
        validators=[InputRequired(_l("Ange efternamn.")),
                    Length(max=80, message=_l("Efternamnet får vara högst 80 tecken."))],
        render_kw={"autocomplete": "family-name"})
    mobile = fields.PhoneField(FIELD_LABELS["phone"], mobile=True,
                               validators=[InputRequired(_l("Ange mobilnummer."))])
    email = EmailField(
        FIELD_LABELS["email"], filters=[_strip],
        validators=[InputRequired(_l("Ange e-postadress.")),
                    Email(_l("Ange en giltig e-postadress, t.ex. namn@exempel.se.")),
                    Length(max=254, message=_l("E-postadressen är för lång."))],
        render_kw={"autocomplete": "email"})
    birth_year = fields.birth_year_field(min_age=18)
    gender = RequiredRadioField(
        FIELD_LABELS["gender"],
        choices=[SelectChoice(code, label) for code, label in vocab.GENDERS.items()],
        validators=[InputRequired(_l("Välj kön."))])
    languages = fields.languages_field(_l("Språk du kan prata"))
    other_languages = fields.other_languages_field()
    interests = TextAreaField(
        FIELD_LABELS["interests"], filters=[_strip],
        validators=[Optional(), Length(max=2000, message=_l("Skriv högst 2000 tecken."))])
    availability = fields.availability_field(FIELD_LABELS["availability"])
    capacity = RequiredRadioField(
        _l("Hur många seniorer vill du ringa?"), coerce=int, default=1,
        choices=[SelectChoice("1", _l("En")), SelectChoice("2", _l("Två"))],
        validators=[InputRequired(_l("Välj hur många seniorer du vill ringa."))])
    motivation = TextAreaField(
        FIELD_LABELS["motivation"], filters=[_strip],
        validators=[Optional(), Length(max=4000, message=_l("Skriv högst 4000 tecken."))])


class VolunteerEditForm(VolunteerProfileForm):
    """The coordinator's form. Volunteers from the old registers may lack a surname or an
    e-mail address, and that must not stop anyone from correcting their other details."""

    last_name = StringField(
        FIELD_LABELS["last_name"], filters=[_strip],
        validators=[Optional(),
                    Length(max=80, message=_l("Efternamnet får vara högst 80 tecken."))])
    email = EmailField(
        FIELD_LABELS["email"], filters=[_strip],
        validators=[Optional(), Email(_l("Ange en giltig e-postadress, t.ex. namn@exempel.se.")),
                    Length(max=254, message=_l("E-postadressen är för lång."))])


class ApplicationForm(VolunteerProfileForm):
    consent = BooleanField(
        _l("Jag har läst texten ovan och samtycker till att Vänringen sparar mina uppgifter."),
        validators=[InputRequired(_l("Kryssa i samtycket för att kunna skicka ansökan."))])


def profile_values(form: VolunteerProfileForm) -> dict:
    """Model column values from a validated form; raises ValidationError on bad language codes."""
    chosen = set(form.availability.data or [])
    return {
        "first_name": form.first_name.data,
        "last_name": form.last_name.data,
        "phone": form.mobile.data,
        "email": form.email.data or None,
        "birth_year": form.birth_year.data,
        "gender": form.gender.data,
        "languages": fields.merge_languages(form),
        "interests": form.interests.data or "",
        "availability": ";".join(s for s in vocab.SLOTS if s in chosen),
        "capacity": form.capacity.data,
        "motivation": form.motivation.data or "",
    }


def form_data(volunteer) -> dict:
    """A volunteer as the edit form's initial data: ticked common languages, the rest typed."""
    common = [c for c in volunteer.language_list if c in vocab.COMMON_LANGUAGES]
    other = [c for c in volunteer.language_list if c not in vocab.COMMON_LANGUAGES]
    return {
        "first_name": volunteer.first_name, "last_name": volunteer.last_name,
        "mobile": display_phone(volunteer.phone), "email": volunteer.email or "",
        "birth_year": volunteer.birth_year, "gender": volunteer.gender,
        "languages": common, "other_languages": ";".join(other),
        "interests": volunteer.interests, "availability": volunteer.slot_list,
        "capacity": volunteer.capacity, "motivation": volunteer.motivation,
    }


class VolunteerFilterForm(FlaskForm):
    """The list's GET filters; a bookmarkable search needs no CSRF token."""

    class Meta:
        csrf = False

    q = SearchField(_l("Sök namn, e-post, telefon eller id"), validators=[Optional()])
    status = SelectField(
        _l("Status"), validators=[Optional()],
        choices=[SelectChoice("", _l("Alla"))]
        + [SelectChoice(code, label) for code, label in vocab.VOLUNTEER_STATUSES.items()])
    language = SelectField(
        _l("Språk"), validators=[Optional()],
        choices=[SelectChoice("", _l("Alla"))]
        + [SelectChoice(c, vocab.lazy_language_name(c)) for c in vocab.COMMON_LANGUAGES])
    since = DateField(_l("Ansökt från och med"), validators=[Optional()])
    renew = BooleanField(_l("Utdrag behöver förnyas"))
