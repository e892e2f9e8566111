import io

import pytest

from notifications import (
    ConsoleBackend,
    OutboxBackend,
    PermanentError,
    TemporaryError,
    get_backend,
)


def test_outbox_records_nothing_and_gives_unique_ids():
    backend = OutboxBackend()
    first = backend.send_sms("+46701234567", "Hej")
    second = backend.send_sms("+46701234567", "Hej")
    assert first.status == "recorded" and first.provider == "outbox"
    assert first.provider_id != second.provider_id


def test_console_prints():
    stream = io.StringIO()
    result = ConsoleBackend(stream).send_sms("+46701234567", "Tack för din anmälan")
    assert "+46701234567" in stream.getvalue() and "Tack för din anmälan" in stream.getvalue()
    assert result.provider == "console"


def test_backend_by_name():
    assert isinstance(get_backend("outbox"), OutboxBackend)
    assert isinstance(get_backend("console"), ConsoleBackend)
    with pytest.raises(ValueError):
        get_backend("twilio")


def test_errors_say_whether_to_retry():
    assert PermanentError("x", code=21211).permanent
    assert not TemporaryError("x").permanent
    assert PermanentError("x", code=21211).code == 21211


def test_no_flask_or_app_imports():
    import ast
    import pathlib

    import notifications

    for path in pathlib.Path(notifications.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("flask", "vanringen", "sqlmodel")), (path, name)
