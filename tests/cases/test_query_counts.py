"""Pages cost the same number of queries however many cases exist (no N+1)."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event, insert

from portal.cases import services
from portal.cases.models import Case, Kind, Status
from portal.extensions import db
from portal.timeutil import utcnow


@contextmanager
def count_queries():
    statements = []

    def record(conn, cursor, statement, *args):
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def add_cases(world, n):
    now = utcnow()
    rows = [
        dict(
            account_id=world.acme.id if i % 2 else world.globex.id,
            requester_id=world.ana.id if i % 2 else world.bo.id,
            assignee_id=world.agent.id if i % 3 == 0 else None,
            kind=list(Kind)[i % 4],
            status=list(Status)[i % 5],
            priority=1,
            subject=f"Generated case {i}",
            details={},
            awaiting_provider_since=now if i % 2 else None,
            created_at=now,
            last_activity_at=now,
        )
        for i in range(n)
    ]
    db.session.execute(insert(Case), rows)
    db.session.commit()


def measure(client, agent, case):
    pages = {
        "case page": f"/cases/{case.reference}",
        "case list": "/cases",
        "timeline poll": f"/cases/{case.reference}/timeline?after=0",
    }
    counts = {}
    for name, url in pages.items():
        with count_queries() as statements:
            headers = {"HX-Request": "true"} if "timeline" in name else {}
            assert client.get(url, headers=headers).status_code == 200
        counts[name] = len(statements)
    for name, url in {"desk queue": "/desk", "desk case": f"/desk/cases/{case.reference}"}.items():
        with count_queries() as statements:
            assert agent.get(url).status_code == 200
        counts[name] = len(statements)
    return counts


def test_query_counts_do_not_grow_with_cases(world, make, client, make_client, app):
    app.config["TIMELINE_CACHE_SIZE"] = 0  # every page renders its timeline
    case = make.case(world.ana, Kind.BUG, subject="Long conversation")
    for i in range(24):
        services.reply(case, world.agent if i % 2 else world.ana, f"Message {i}")
    db.session.commit()
    client.login(world.ana)
    agent = make_client(world.agent)
    add_cases(world, 10)
    small = measure(client, agent, case)
    add_cases(world, 9_990)
    large = measure(client, agent, case)
    assert small == large, (small, large)
    assert all(n <= 12 for n in large.values()), large


def test_desk_queue_walks_its_index_instead_of_sorting(world, make_client, app):
    """The queue's order is one index (ix_case_queue_order): no page sorts every case."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's query plan")
    add_cases(world, 200)
    agent = make_client(world.agent)
    captured = []

    def record(conn, cursor, statement, parameters, *args):
        if "ORDER BY" in statement and "queue_due" in statement:
            captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        for url in ("/desk", "/desk?status=", "/desk?status=resolved"):
            assert agent.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(captured) == 3
    for statement, parameters in captured:
        rows = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        plan = " / ".join(row[3] for row in rows)
        assert "ix_case_queue_order" in plan and "TEMP B-TREE" not in plan, plan
