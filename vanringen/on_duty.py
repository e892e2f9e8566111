"""The coordinator on duty ("jour"): the one who gets an SMS the moment a volunteer reports a
concern (call_log.raise_concern). One at a time: taking over clears the others. With nobody
on duty a concern is still an urgent task at the top of Att göra, and nothing more.
"""

import sqlalchemy as sa
from flask import Blueprint, Flask, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import Session, select
from wtforms.validators import InputRequired

from .db import get_session
from .fields import PhoneField
from .models import StaffUser
from .phones import display_phone

bp = Blueprint("on_duty", __name__, url_prefix="/jour")


class OnDutyForm(FlaskForm):
    phone = PhoneField(_l("Ditt mobilnummer"), mobile=True, validators=[
        InputRequired(_l("Fyll i ditt mobilnummer: dit skickas SMS om oro."))])


def on_duty(*, session: Session) -> StaffUser | None:
    return session.exec(select(StaffUser).where(StaffUser.on_duty, StaffUser.active)
                        .order_by(StaffUser.id)).first()


def take_duty(user: StaffUser, phone: str, *, session: Session) -> None:
    """`user` is on duty from now on, reached at `phone` (E.164); nobody else is."""
    # Two coordinators taking over at the same moment would each clear only the other's old
    # flag; locking every staff row (a handful) makes the second wait and clear the first.
    session.exec(select(StaffUser.id).with_for_update()).all()
    session.execute(sa.update(StaffUser).where(StaffUser.id != user.id, StaffUser.on_duty)
                    .values(on_duty=False).execution_options(synchronize_session=False))
    user.phone, user.on_duty = phone, True
    session.add(user)


def leave_duty(user: StaffUser, *, session: Session) -> None:
    user.on_duty = False
    session.add(user)


def _me(session: Session) -> StaffUser:
    return session.get(StaffUser, current_user.id)


@bp.route("/", methods=["GET", "POST"])
def index():
    session = get_session()
    me = _me(session)
    form = OnDutyForm(data={"phone": display_phone(me.phone)})
    if form.validate_on_submit():
        take_duty(me, form.phone.data, session=session)
        session.commit()
        flash(_("Du har jour. SMS om oro skickas till %(phone)s.",
                phone=display_phone(me.phone)), "success")
        return redirect(url_for(".index"))
    return render_template("on_duty/index.html", form=form, me=me,
                           duty=on_duty(session=session)), 422 if form.errors else 200


@bp.post("/avsluta")
def leave():
    session = get_session()
    me = _me(session)
    if me.on_duty:
        leave_duty(me, session=session)
        session.commit()
        flash(_("Du har inte längre jour."), "success")
    return redirect(url_for(".index"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["on_duty_user"] = lambda: on_duty(session=get_session())
