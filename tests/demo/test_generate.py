"""`flask demo generate`: bulk data that adds to what is there and reads like real cases."""

from sqlalchemy import func, select

from portal.accounts.models import Account, Role, User
from portal.cases.models import Case, CaseEvent, EventKind, Status
from portal.extensions import db


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def generate(runner, *args: str):
    result = runner.invoke(args=["demo", "generate", *args])
    assert result.exit_code == 0, result.output
    assert "Generated" in result.output and " s (" in result.output  # the elapsed time
    return result


def test_fills_an_empty_database(runner):
    generate(runner, "--cases", "60", "--events-per-case", "8", "--accounts", "3", "--seed", "1")
    db.session.expire_all()
    assert count(Case) == 60
    assert count(CaseEvent) == 60 * 8
    assert count(Account) == 3
    assert db.session.scalar(select(func.count()).where(User.role == Role.CUSTOMER)) == 9
    per_case = db.session.execute(
        select(CaseEvent.case_id, func.count()).group_by(CaseEvent.case_id)
    ).all()
    assert {n for _, n in per_case} == {8}

    kinds = set(db.session.scalars(select(Case.kind).distinct()))
    statuses = set(db.session.scalars(select(Case.status).distinct()))
    assert len(kinds) >= 4 and Status.RESOLVED in statuses
    assert db.session.scalar(select(func.count()).where(CaseEvent.internal.is_(True))) > 0


def test_adds_to_existing_data(runner, world, make):
    make.case(world.ana, subject="Hand-made case")
    generate(runner, "--cases", "20", "--events-per-case", "3")
    generate(runner, "--cases", "5", "--events-per-case", "2", "--accounts", "1")
    db.session.expire_all()
    assert count(Case) == 1 + 20 + 5
    assert count(CaseEvent) == 1 + 20 * 3 + 5 * 2
    assert count(Account) == 2 + 10 + 1


def test_case_state_follows_its_events(runner):
    generate(runner, "--cases", "1000", "--events-per-case", "10", "--seed", "3")
    generate(runner, "--cases", "50", "--events-per-case", "1", "--seed", "3")
    db.session.expire_all()
    timelines: dict[int, list[CaseEvent]] = {}
    for event in db.session.scalars(select(CaseEvent).order_by(CaseEvent.id)):
        timelines.setdefault(event.case_id, []).append(event)
    for case in db.session.scalars(select(Case)):
        events = timelines[case.id]
        assert events[0].kind == EventKind.CREATED and events[0].author_id == case.requester_id
        changes = [e.data["new"] for e in events if e.kind == EventKind.STATUS_CHANGED]
        assert case.status == (changes[-1] if changes else Status.NEW)
        assert [e.created_at for e in events] == sorted(e.created_at for e in events)
        assert case.last_activity_at == max(e.created_at for e in events if not e.internal)
        if case.status == Status.RESOLVED:
            assert case.resolved_at is not None and case.awaiting_provider_since is None
        if case.status == Status.NEW:
            assert case.first_response_at is None and case.assignee_id is None
        if case.status == Status.WAITING_ON_CUSTOMER:
            assert case.awaiting_provider_since is None


def test_generated_case_page_renders_for_whoever_may_see_it(runner, make_client, world):
    generate(runner, "--cases", "10", "--events-per-case", "12", "--accounts", "2", "--seed", "5")
    db.session.expire_all()
    account = db.session.scalars(
        select(Account).where(Account.id.not_in([world.acme.id, world.globex.id])).order_by(Account.id)
    ).first()
    customer = db.session.scalars(select(User).where(User.account_id == account.id)).first()
    case = db.session.scalars(select(Case).where(Case.account_id == account.id)).first()
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
    public = [e for e in events if not e.internal and e.body]
    internal = [e for e in events if e.internal]

    client = make_client()
    client.login(customer, password="demo")
    page = client.get(f"/cases/{case.reference}")
    assert page.status_code == 200
    assert case.subject in page.text
    for event in public:
        assert f'id="event-{event.id}"' in page.text
    for event in internal:
        assert f'id="event-{event.id}"' not in page.text

    last = max(e.id for e in events)
    poll = client.htmx("get", f"/cases/{case.reference}/timeline?after={last}")
    assert poll.status_code == (204 if case.is_open else 286)

    staff = make_client(world.agent)
    desk = staff.get(f"/desk/cases/{case.reference}")
    assert desk.status_code == 200
    assert all(f'id="event-{e.id}"' in desk.text for e in events)

    outsider = make_client(world.ana)
    assert outsider.get(f"/cases/{case.reference}").status_code == 404
