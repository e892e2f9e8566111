from flask import Blueprint, Flask

bp = Blueprint("imports", __name__, url_prefix="/import")


@bp.get("/")
def upload():
    return "TODO"


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
