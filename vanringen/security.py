"""Security headers (Flask-Talisman) and rate limits (Flask-Limiter).

Both are made anew for every app, not once per module: their settings differ between apps
(production sends HSTS, each test has its own limits), and a fresh limiter with memory
storage starts every test's count at zero.

HTTPS: production runs behind an HTTPS proxy (the platform's router, nginx …) that ends TLS.
By default the app never redirects to https itself: the proxy does, and a redirect from the
app would turn Twilio's webhook POSTs into GETs (and loop) whenever a proxy does not pass
X-Forwarded-Proto on. FORCE_HTTPS turns the app's redirect on for a proxy that passes the
header but does not redirect. HSTS (production only) tells browsers to stay on https.
"""

from flask import Flask, abort, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_talisman import Talisman
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import permissions

# No inline scripts or styles anywhere (the app has no <script> and no style= attributes):
# everything comes from the app's own origin. media-src for the intake inbox's <audio>.
CSP = {
    "default-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
    "media-src": "'self'",
    "img-src": "'self' data:",
}
REFERRER_POLICY = "strict-origin-when-cross-origin"


class _Talisman(Talisman):
    def _set_referrer_policy_headers(self, headers):
        # Talisman overwrites the header; the volunteer's page sets a stricter one (no-referrer,
        # its address is a key) and must keep it.
        headers.setdefault("Referrer-Policy", self.referrer_policy)


def init_headers(app: Flask) -> None:
    config = app.config
    _Talisman(
        app,
        force_https=config["FORCE_HTTPS"],
        strict_transport_security=config["VANRINGEN_ENV"] == "production",
        frame_options="DENY",
        content_security_policy=CSP,
        referrer_policy=REFERRER_POLICY,
        x_content_type_options=True,
        # The cookie settings are config.py's; Talisman would otherwise force Secure in
        # development too, and sign-in over http://127.0.0.1 would stop working.
        session_cookie_secure=config.get("SESSION_COOKIE_SECURE", False),
        session_cookie_http_only=config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=config["SESSION_COOKIE_SAMESITE"],
    )


def init_limits(app: Flask) -> None:
    """Limits per client address on what strangers can reach: sign-in, the application form,
    the volunteers' signed-link pages. Twilio's webhooks are never limited (Twilio retries)."""
    config = app.config
    limiter = Limiter(
        get_remote_address,
        storage_uri=config["REDIS_URL"] or "memory://",
        key_prefix="vanringen",
        # Redis gone: count in this process's memory rather than refuse every sign-in.
        in_memory_fallback_enabled=True,
    )
    limiter.init_app(app)
    app.extensions["vanringen.limiter"] = limiter
    # Decorating the registered views (not the module's functions) keeps each app's limits
    # in its own limiter; only the POST counts, so showing the form again is never refused.
    # The code step and the reset form are sign-in too: same limit as the password.
    for endpoint, limit in (("auth.login", config["RATELIMIT_LOGIN"]),
                            ("auth.login_code", config["RATELIMIT_LOGIN"]),
                            ("password_reset.request_link", config["RATELIMIT_LOGIN"]),
                            ("public.apply", config["RATELIMIT_APPLY"])):
        app.view_functions[endpoint] = limiter.limit(limit, methods=["POST"])(
            app.view_functions[endpoint])
    limiter.limit(config["RATELIMIT_LINK"])(app.blueprints["volunteer_page"])
    limiter.exempt(app.blueprints["twilio"])


def _trust_proxies(app: Flask) -> None:
    """Behind a proxy every request comes from the proxy's address: the limits would count all
    clients as one. X-Forwarded-For is believed only from the configured number of proxies."""
    if app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"])


def refuse_nul() -> None:
    """PostgreSQL cannot store NUL in text and fails the query, so a value carrying one
    (nobody types it) is refused at the door on every staff form and search, not as a 500
    in whichever query meets it first. The public pages answer it themselves: the
    application form by the field, the webhooks after their signature check."""
    if permissions.required_role(request.endpoint or "") == "public":
        return
    try:
        values = [*request.args.values(), *request.form.values()]
    except HTTPException:
        return  # too large: the view answers 413 itself
    if any("\x00" in value for value in values):
        abort(400)


def init_app(app: Flask) -> None:
    """After every blueprint is registered: the limits wrap their views."""
    _trust_proxies(app)
    init_headers(app)
    init_limits(app)
    app.before_request(refuse_nul)
