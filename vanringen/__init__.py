"""Vänringen – ring så pratar vi."""

from pathlib import Path

from flask import Flask, redirect, url_for
from flask_wtf.csrf import CSRFProtect

from .config import INSTANCE_DIR, load_config

ROOT = Path(__file__).resolve().parent.parent
csrf = CSRFProtect()


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=str(INSTANCE_DIR),
    )
    app.config.from_mapping(load_config(config))
    csrf.init_app(app)

    from . import (
        access_log,
        access_views,
        audit_log,
        auth,
        cache,
        call_plans,
        call_reports,
        cli,
        db,
        demo,
        erasure_views,
        errors,
        i18n,
        imports,
        intake,
        message_log,
        pairs,
        password_reset,
        people,
        permissions,
        proposals,
        reports,
        retention,
        scheduler,
        security,
        seniors,
        staff_admin,
        tasks,
        taxonomy_admin,
        text_admin,
        totp,
        twilio_hooks,
        views,
        volunteer_page,
        volunteers,
    )

    db.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    totp.init_app(app)
    password_reset.init_app(app)
    permissions.init_app(app)
    access_log.init_app(app)  # after permissions: logs only what they let through
    people.init_app(app)
    seniors.init_app(app)
    volunteers.init_app(app)
    access_views.init_app(app)
    erasure_views.init_app(app)
    imports.init_app(app)
    intake.init_app(app)
    proposals.init_app(app)
    pairs.init_app(app)
    taxonomy_admin.init_app(app)
    tasks.init_app(app)
    call_plans.init_app(app)
    call_reports.init_app(app)
    volunteer_page.init_app(app)
    message_log.init_app(app)
    cache.init_app(app)
    reports.init_app(app)
    text_admin.init_app(app)
    staff_admin.init_app(app)
    audit_log.init_app(app)
    twilio_hooks.init_app(app)
    scheduler.init_app(app)
    retention.init_app(app)
    views.init_app(app)
    cli.init_app(app)
    demo.init_app(app)
    security.init_app(app)  # last: its limits wrap the views registered above

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/")
    def index():
        return redirect(url_for("views.home"))

    return app
