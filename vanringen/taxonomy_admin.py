"""The interest areas the matcher sorts free-text interests into, edited by coordinators.

A change takes effect at the next matching run. Each row keeps who changed it last and
when; a deletion is logged.
"""

import logging
import re

import sqlalchemy as sa
from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import IntegerField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from matching import Taxonomy

from .db import get_session, utcnow
from .matches import load_taxonomy, parse_terms
from .models import InterestCategory, StaffUser

bp = Blueprint("taxonomy", __name__, url_prefix="/matchning/intressen")
log = logging.getLogger(__name__)
_FOLD = str.maketrans("åäöéü", "aaoeu")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CategoryForm(FlaskForm):
    label = StringField(_l("Namn"), filters=[_strip], validators=[
        DataRequired(_l("Ange ett namn.")),
        Length(max=80, message=_l("Namnet får vara högst 80 tecken."))])
    terms = TextAreaField(
        _l("Ord som hör hit"), description=_l(
            "Ett ord eller uttryck per rad, t.ex. Hammarby, fotboll. Ett ord räknas också med "
            "ändelser (fotbollen). =kör: bara ordet och dess böjningar; *kör: också sist i "
            "sammansatta ord (kyrkokör); !körkort: aldrig hit; @nyckel: allt som räknas till "
            "ett annat område räknas också hit."),
        validators=[DataRequired(_l("Ange minst ett ord."))], render_kw={"rows": 8})
    sort_order = IntegerField(_l("Ordning i listan"), validators=[
        Optional(), NumberRange(min=0, max=100000, message=_l("Ange ett tal från 0."))])

    def validate_terms(self, field):
        terms = parse_terms(field.data)
        if not terms:
            raise ValidationError(_("Ange minst ett ord."))
        long = [t for t in terms if len(t) > 80]
        if long:
            raise ValidationError(_("Ett ord får vara högst 80 tecken: %(term)s",
                                    term=long[0][:40] + "…"))


def make_key(label: str, taken: set[str]) -> str:
    """A stable, readable key from the name: 'Fotboll & idrott' → 'fotboll_idrott'."""
    base = re.sub(r"[^a-z0-9]+", "_", label.lower().translate(_FOLD)).strip("_")[:36] or "omrade"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _label_taken(label: str, exclude_id: int | None = None) -> bool:
    query = select(InterestCategory.id).where(
        sa.func.lower(InterestCategory.label) == label.lower())
    if exclude_id is not None:
        query = query.where(InterestCategory.id != exclude_id)
    return get_session().exec(query).first() is not None


def _mapping(*, session, without: int | None = None) -> dict:
    rows = session.exec(select(InterestCategory)
                        .order_by(InterestCategory.sort_order, InterestCategory.id)).all()
    return {r.key: {"label": r.label, "terms": parse_terms(r.terms)}
            for r in rows if r.id != without}


def taxonomy_problem(mapping: dict) -> str | None:
    """Why the matcher could not use this taxonomy (e.g. @ to a missing area), or None."""
    try:
        Taxonomy.from_mapping(mapping)
    except ValueError as exc:
        return str(exc)
    return None


def _check_terms(form: CategoryForm, key: str, *, session) -> bool:
    mapping = _mapping(session=session)
    mapping[key] = {"label": form.label.data, "terms": parse_terms(form.terms.data)}
    problem = taxonomy_problem(mapping)
    if problem:
        form.terms.errors.append(_("Orden går inte att använda: %(problem)s", problem=problem))
    return problem is None


def _store(category: InterestCategory, form: CategoryForm) -> None:
    category.label = form.label.data
    category.terms = "\n".join(parse_terms(form.terms.data))
    if form.sort_order.data is not None:
        category.sort_order = form.sort_order.data
    category.updated_at, category.updated_by_id = utcnow(), current_user.id
    get_session().add(category)


def _index_page(form: CategoryForm, code: int = 200):
    session = get_session()
    categories = session.exec(select(InterestCategory)
                              .order_by(InterestCategory.sort_order, InterestCategory.id)).all()
    staff = {u.id: u for u in session.exec(select(StaffUser)).all()}
    text = request.args.get("prova", "").strip()
    found = None
    if text:
        taxonomy = load_taxonomy(session=session)
        found = [(taxonomy.label(key), words)
                 for key, words in taxonomy.categorize(text).items()]
    return render_template("taxonomy/index.html", categories=categories, staff=staff,
                           form=form, text=text, found=found), code


@bp.get("/")
def index():
    return _index_page(CategoryForm(formdata=None))


@bp.post("/ny")
def create():
    form = CategoryForm()
    if form.validate_on_submit():
        session = get_session()
        key = make_key(form.label.data, set(session.exec(select(InterestCategory.key)).all()))
        if _label_taken(form.label.data):
            form.label.errors.append(_("Det finns redan ett område som heter så."))
        elif _check_terms(form, key, session=session):
            if form.sort_order.data is None:
                highest = session.exec(select(sa.func.max(InterestCategory.sort_order))).one()
                form.sort_order.data = (highest or 0) + 10
            category = InterestCategory(key=key, label="")
            _store(category, form)
            session.commit()
            flash(_("Området %(label)s är tillagt. Det används från nästa matchning.",
                    label=category.label), "success")
            return redirect(url_for(".index"))
    return _index_page(form, 422)


def _get(category_id: int) -> InterestCategory:
    category = get_session().get(InterestCategory, category_id)
    if category is None:
        abort(404)
    return category


@bp.route("/<int:category_id>", methods=["GET", "POST"])
def edit(category_id: int):
    category = _get(category_id)
    form = CategoryForm(data={"label": category.label, "terms": category.terms,
                              "sort_order": category.sort_order})
    if form.validate_on_submit():
        if _label_taken(form.label.data, exclude_id=category.id):
            form.label.errors.append(_("Det finns redan ett område som heter så."))
        elif _check_terms(form, category.key, session=get_session()):
            _store(category, form)
            get_session().commit()
            flash(_("Området %(label)s är sparat. Ändringen gäller från nästa matchning.",
                    label=category.label), "success")
            return redirect(url_for(".index"))
    return render_template("taxonomy/edit.html", category=category, form=form), \
        422 if form.errors else 200


@bp.post("/<int:category_id>/ta-bort")
def delete(category_id: int):
    session = get_session()
    category = _get(category_id)
    label = category.label
    problem = taxonomy_problem(_mapping(session=session, without=category.id))
    if problem:
        flash(_("%(label)s kan inte tas bort: %(problem)s. Ta först bort @%(key)s ur det "
                "området.", label=label, problem=problem, key=category.key), "error")
        return redirect(url_for(".edit", category_id=category.id))
    session.delete(category)
    session.commit()
    log.info("interest category %r (%s) deleted by staff %s; terms were: %s", category.key,
             label, current_user.id, category.terms.replace("\n", "; "))
    flash(_("Området %(label)s är borttaget.", label=label), "success")
    return redirect(url_for(".index"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
