"""Rate limits live on views (``portal.extensions.ViewLimiter``): each limited view
checks its own limit, and limits that would have to be checked before every request
(default or application-wide ones) are refused when the app starts. The sign-in and
password-reset limits are tested in tests/auth."""

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.cases.models import Case
from portal.config import TestConfig
from portal.extensions import db

CRITICAL = {
    "kind": "critical", "subject": "All SMTP injections time out", "description": "Since 10:02",
    "channel": "smtp", "since": "2026-11-26T10:02", "error_samples": "451 4.4.2 timeout",
    "contact_phone": "+31 6 1234",
}


def count_cases() -> int:
    return db.session.scalar(select(func.count()).select_from(Case))


def test_opening_cases_beyond_the_limit_gets_a_readable_429_and_opens_nothing(app, world, client):
    app.config["CASE_CREATE_RATE_LIMIT"] = "2 per hour"
    client.login(world.ana)
    for n in range(2):
        assert client.post("/cases/new?kind=critical", data={**CRITICAL, "subject": f"Outage {n}"}).status_code == 303
    opened = count_cases()
    blocked = client.post("/cases/new?kind=critical", data={**CRITICAL, "subject": "Outage 2"})
    assert blocked.status_code == 429
    assert "<h1>" in blocked.text and "Traceback" not in blocked.text
    assert int(blocked.headers["Retry-After"]) > 0
    assert count_cases() == opened
    assert client.get("/cases/new?kind=critical").status_code == 200  # the form itself is not limited


def test_pages_without_a_limit_carry_no_limit_headers(world, client):
    client.login(world.ana)
    page = client.get("/cases")
    assert page.status_code == 200
    assert not [name for name, _ in page.headers if name.lower().startswith(("x-ratelimit", "retry-after"))]


@pytest.mark.parametrize("setting", ["RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION"])
def test_a_limit_for_every_request_is_refused_at_start_up(database, tmp_path, setting):
    with pytest.raises(RuntimeError, match="views only"):
        create_app(
            TestConfig,
            SQLALCHEMY_DATABASE_URI=database,
            INSTANCE_DIR=tmp_path,
            UPLOAD_DIR=tmp_path / "attachments",
            **{setting: "100 per minute"},
        )


def test_a_limit_on_a_whole_blueprint_is_refused():
    from flask import Blueprint

    from portal.extensions import limiter

    with pytest.raises(TypeError, match="views only"):
        limiter.limit("100 per minute")(Blueprint("everything", __name__))
