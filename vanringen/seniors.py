from flask import Blueprint, Flask

bp = Blueprint("seniors", __name__, url_prefix="/seniorer")


@bp.get("/")
def index():
    return "TODO"


@bp.get("/ny")
def new():
    return "TODO"


@bp.get("/<int:senior_id>")
def detail(senior_id):
    return "TODO"


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
