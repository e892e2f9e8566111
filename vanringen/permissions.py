"""Who may open which page: the one place the app decides it.

Three kinds of visitor: strangers (the public pages, Twilio's signed webhooks and a
volunteer's signed link, each proving itself another way), coordinators (the daily
work) and admins (that, plus accounts, texts and the audit log). Every endpoint falls
under exactly one rule below; tests/test_permissions.py visits every route as each.
"""

from flask import Flask, abort, request
from flask_login import current_user

from .auth import login_manager

# The sign-in steps come before there is anyone signed in: the TOTP code step checks the
# half-done sign-in kept in the session itself.
PUBLIC_ENDPOINTS = {"auth.login", "auth.login_code", "static", "i18n.set_locale", "health"}
# Twilio's webhooks prove who calls with a signature instead (twilio_hooks); a volunteer's
# page with the signed link in its address (volunteer_page).
# A forgotten password is reset through a link by e-mail, before anyone is signed in.
PUBLIC_PREFIXES = ("password_reset.", "public.", "twilio.", "volunteer_page.")
# Admin only: whole blueprints, or single endpoints. Staff accounts and the message texts
# change what everyone may do or what every senior hears; the audit log shows what every
# coordinator did. Erasure and access requests ("erasure", "access") are daily work.
ADMIN_PREFIXES = ("audit_log.", "staff_admin.", "text_admin.")
ADMIN_ENDPOINTS: set[str] = set()


def required_role(endpoint: str) -> str:
    """'public', 'coordinator' or 'admin' for an endpoint name."""
    if endpoint in PUBLIC_ENDPOINTS or endpoint.startswith(PUBLIC_PREFIXES):
        return "public"
    if endpoint in ADMIN_ENDPOINTS or endpoint.startswith(ADMIN_PREFIXES):
        return "admin"
    return "coordinator"


def check_access():
    role = required_role(request.endpoint or "")
    if role == "public":
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if role == "admin" and not current_user.is_admin:
        abort(403)
    return None


def init_app(app: Flask) -> None:
    app.before_request(check_access)
