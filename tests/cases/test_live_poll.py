"""The timeline poll's quick answer (``portal.cases.live``): it answers 204 or 286
from one statement without loading the person, and otherwise leaves the answer to
the full path, so whoever may not see the case is refused exactly as before."""

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role, User
from portal.auth.passwords import hash_password
from portal.cases import services
from portal.cases.models import CaseEvent, Kind
from portal.extensions import db
from tests.cases.test_query_counts import count_queries
from tests.conftest import PASSWORD


@pytest.fixture
def acme_case(world, make):
    return make.case(world.ana, Kind.BUG, subject="Bounces reported twice")


def newest_event() -> int:
    return db.session.scalar(select(func.max(CaseEvent.id)))


def poll(client, case, after):
    return client.htmx("get", f"/cases/{case.reference}/timeline?after={after}")


def anonymous_answer(make_client, case, after):
    return poll(make_client(), case, after)


def test_nothing_new_loads_nobody_for_every_role(world, make, make_client, acme_case):
    url = f"/cases/{acme_case.reference}/timeline?after={newest_event()}"
    for user in (world.ana, world.agent, world.tam, world.admin):
        client = make_client(user)
        with count_queries() as statements:
            response = client.htmx("get", url)
        assert response.status_code == 204, user.email
        assert "HX-Request" in response.headers["Vary"]
        assert response.data == b""
        assert statements == []  # the quick answer: no person or case loaded by the ORM


def test_resolved_case_says_stop_with_286(world, make_client, acme_case):
    services.propose_resolution(acme_case, world.agent, "Fixed")
    services.accept_resolution(acme_case, world.ana)
    db.session.commit()
    response = poll(make_client(world.ana), acme_case, newest_event())
    assert response.status_code == 286
    assert response.data == b""


def test_internal_note_wakes_staff_but_not_the_customer(world, make_client, acme_case):
    after = newest_event()
    services.add_internal_note(acme_case, world.agent, "checking the MTA logs")
    db.session.commit()
    ana, url = make_client(world.ana), f"/cases/{acme_case.reference}/timeline?after={after}"
    with count_queries() as statements:
        assert ana.htmx("get", url).status_code == 204
    assert statements == []  # the quick answer: the note is not news to a customer
    staff = poll(make_client(world.tam), acme_case, after)
    assert staff.status_code == 200
    assert "checking the MTA logs" in staff.text


def test_public_reply_is_rendered_by_the_full_path(world, make_client, acme_case):
    after = newest_event()
    services.reply(acme_case, world.agent, "We see the duplicates too.")
    db.session.commit()
    response = poll(make_client(world.ana), acme_case, after)
    assert response.status_code == 200
    assert "We see the duplicates too." in response.text


def test_another_accounts_case_is_404(world, make, make_client):
    globex_case = make.case(world.bo, Kind.BUG, subject="Globex only")
    after = newest_event()
    assert poll(make_client(world.ana), globex_case, after).status_code == 404
    other_tam = make.user(role=Role.TAM)
    db.session.commit()
    assert poll(make_client(other_tam), globex_case, after).status_code == 404
    assert poll(make_client(world.bo), globex_case, after).status_code == 204


def test_unknown_and_malformed_references_are_404(world, make_client):
    ana = make_client(world.ana)
    for reference in ("CS-999999", "CS-abc", "nonsense"):
        assert ana.htmx("get", f"/cases/{reference}/timeline?after=0").status_code == 404


def test_anonymous_poll_goes_to_sign_in(world, make_client, acme_case):
    response = anonymous_answer(make_client, acme_case, newest_event())
    assert response.status_code in (302, 401)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda user: setattr(user, "password_hash", hash_password("new phrase")), id="password changed"),
        pytest.param(lambda user: setattr(user, "active", False), id="deactivated"),
    ],
)
def test_a_changed_person_is_refused_on_the_poll(world, make_client, acme_case, change):
    ana = make_client(world.ana)
    after = newest_event()
    assert poll(ana, acme_case, after).status_code == 204
    db.session.rollback()
    change(db.session.get(User, world.ana.id))
    db.session.commit()
    refused = poll(ana, acme_case, after)
    assert refused.status_code == anonymous_answer(make_client, acme_case, after).status_code
    assert refused.status_code != 204


def test_session_from_another_browser_is_refused(world, make_client, acme_case):
    """Strong session protection: a stolen cookie replayed with another User-Agent."""
    ana = make_client(world.ana)
    after = newest_event()
    assert poll(ana, acme_case, after).status_code == 204
    stolen = ana.htmx(
        "get",
        f"/cases/{acme_case.reference}/timeline?after={after}",
        headers={"User-Agent": "curl/8.0"},
    )
    assert stolen.status_code != 204
    assert stolen.status_code == anonymous_answer(make_client, acme_case, after).status_code


def test_deleted_person_is_refused(world, make, make_client, acme_case):
    extra = make.user(account=world.acme)
    db.session.commit()
    client = make_client(extra)
    after = newest_event()
    assert poll(client, acme_case, after).status_code == 204
    with client.session_transaction() as session:
        user_id, _, fingerprint = session["_user_id"].partition(".")
        session["_user_id"] = f"{int(user_id) + 10_000}.{fingerprint}"
    assert poll(client, acme_case, after).status_code != 204


def test_remembered_sign_in_without_a_session_still_polls(world, app, make_client, acme_case):
    ana = make_client()
    ana.post("/login", data={"email": world.ana.email, "password": PASSWORD, "remember": "y"})
    remembered = app.test_client()
    remembered.set_cookie("remember_token", ana.get_cookie("remember_token").value)
    assert poll(remembered, acme_case, newest_event()).status_code == 204


@pytest.mark.parametrize("after", ["9" * 40, "-5", "abc", ""])
def test_odd_after_values_are_answered_not_500(world, make_client, acme_case, after):
    ana = make_client(world.ana)
    response = ana.htmx("get", f"/cases/{acme_case.reference}/timeline?after={after}")
    assert response.status_code in (200, 204)
