from flask import Blueprint, Flask

bp = Blueprint("volunteers", __name__, url_prefix="/volontarer")
public = Blueprint("public", __name__)


@bp.get("/")
def index():
    return "TODO"


@public.get("/bli-telefonvan")
def apply():
    return "TODO"


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(public)
