"""NUL (U+0000) in text from outside. SQLite stores it; PostgreSQL refuses it in
text, which once turned a reply or a search containing one into a 500. Forms drop
it (every form goes through portal.forms.PortalForm), and so does the request's
query string and form data; what the person typed is otherwise kept."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
import wtforms
from sqlalchemy import select

import portal
from portal.accounts.models import User
from portal.cases.models import Case, CaseEvent, EventKind, Kind
from portal.extensions import db
from portal.forms import PortalForm

NUL = "\x00"


def _every_form_class() -> list[type]:
    for module in pkgutil.walk_packages(portal.__path__, "portal."):
        importlib.import_module(module.name)
    found, todo = [], [wtforms.Form]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("portal."):
            found.append(cls)
    return found


def test_every_form_of_the_portal_drops_nul():
    forms = _every_form_class()
    assert len(forms) > 30, [f.__name__ for f in forms]
    bypassing = [f"{f.__module__}.{f.__qualname__}" for f in forms if not issubclass(f, PortalForm)]
    assert bypassing == [], "derive these from portal.forms.PortalForm"


def test_a_form_field_drops_nul_and_keeps_the_rest(app):
    from werkzeug.datastructures import MultiDict

    from portal.cases.forms import ReplyForm

    with app.test_request_context():
        form = ReplyForm(MultiDict({"body": f"line one{NUL}\nline{NUL}{NUL} two"}), meta={"csrf": False})
        assert form.validate()
        assert form.body.data == "line one\nline two"


@pytest.fixture
def acme_case(world, make):
    return make.case(world.ana, Kind.BUG, subject="Webhook batches arrive twice")


def test_a_reply_with_nul_is_posted_without_it(world, client, acme_case):
    client.login(world.ana)
    response = client.post(
        f"/cases/{acme_case.reference}/replies", data={"body": f"Here are{NUL} the logs."}
    )
    assert response.status_code == 303
    reply = db.session.scalar(
        select(CaseEvent).where(
            CaseEvent.case_id == acme_case.id, CaseEvent.kind == EventKind.COMMENT
        )
    )
    assert reply.body == "Here are the logs."


def test_an_htmx_reply_with_nul_is_posted_without_it(world, client, acme_case):
    client.login(world.ana)
    response = client.htmx(
        "post", f"/cases/{acme_case.reference}/replies", data={"body": f"{NUL}htmx reply"}
    )
    assert response.status_code == 200
    assert db.session.scalar(
        select(CaseEvent.body).where(CaseEvent.kind == EventKind.COMMENT)
    ) == "htmx reply"


def test_a_new_case_with_nul_everywhere_is_opened_without_it(world, client):
    client.login(world.ana)
    response = client.post("/cases/new?kind=bug", data={
        "subject": f"Bounces{NUL} double",
        "description": f"Since{NUL} Monday.",
        "channel": "api",
        "steps": f"1. Send{NUL}",
        "request_ids": f"{NUL}",
    })  # fmt: skip
    assert response.status_code == 303, response.text
    case = db.session.scalar(select(Case).where(Case.subject == "Bounces double"))
    created = db.session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.CREATED)
    )
    assert created.body == "Since Monday."
    assert case.details["steps"] == "1. Send"
    assert "request_ids" not in case.details


def test_a_refused_new_case_keeps_what_was_typed_without_nul(world, client):
    client.login(world.ana)
    response = client.post(
        "/cases/new?kind=bug",
        data={"subject": f"Bounces{NUL} double", "description": "", "channel": "api"},
    )
    assert response.status_code == 422
    assert 'value="Bounces double"' in response.text
    assert NUL not in response.text


def test_staff_forms_with_nul_work(world, client, acme_case):
    client.login(world.agent)
    note = client.post(
        f"/desk/cases/{acme_case.reference}/notes", data={"body": f"Checked{NUL} the MTA."}
    )
    assert note.status_code == 303
    assert db.session.scalar(
        select(CaseEvent.body).where(CaseEvent.kind == EventKind.INTERNAL_NOTE)
    ) == "Checked the MTA."


def test_sign_in_and_password_reset_with_nul_are_answered(world, client):
    login = client.post("/login", data={"email": f"ana@acme.example{NUL}", "password": "x"})
    assert login.status_code == 422
    reset = client.post("/password-reset", data={"email": f"{NUL}nobody@acme.example"})
    assert reset.status_code < 500


def test_an_invitation_keeps_the_name_without_nul(world, client):
    client.login(world.admin)
    response = client.post(
        "/desk/admin/users/invite",
        data={"email": "cleo@acme.example", "name": f"Cleo{NUL} Acme", "role": "customer",
              "account_id": world.acme.id},
    )  # fmt: skip
    assert response.status_code == 303, response.text
    assert db.session.scalar(select(User.name).where(User.email == "cleo@acme.example")) == "Cleo Acme"


@pytest.mark.parametrize(
    "who, url",
    [
        ("ana", "/cases?q=web%00hook"),
        ("ana", "/cases?q=%00&status=%00&kind=%00"),
        ("ana", "/kb?q=warm%00up"),
        ("ana", "/kb/suggest?subject=bounce%00s&draft_key=%00"),
        ("ana", "/hotline?opened=CS-%00"),
        ("agent", "/desk?q=web%00hook&status=%00&kind=%00&chip=%00"),
        ("agent", "/desk/mail?case=CS-%00"),
        ("agent", "/desk/quarantine?show=%00"),
        ("agent", "/desk/reports/service?account=%00"),
        ("admin", "/desk/admin/users?q=ana%00&role=%00&state=%00&account=%00"),
    ],
)
def test_nul_in_a_query_string_is_no_error(world, client, acme_case, who, url):
    client.login(getattr(world, who))
    assert client.get(url).status_code in (200, 422), url
    assert client.htmx("get", url).status_code in (200, 422), url


def test_nul_in_the_case_list_search_still_finds_the_case(world, client, acme_case):
    client.login(world.ana)
    assert "Webhook batches arrive twice" in client.get("/cases?q=Web%00hook").text


@pytest.mark.parametrize(
    "url",
    ["/kb/warm%00up", "/cases/CS-%00", "/password-reset/abc%00def", "/invitation/abc%00def"],
)
def test_nul_in_a_path_is_no_error(world, client, url):
    if not url.startswith(("/password-reset", "/invitation")):
        client.login(world.ana)
    assert client.get(url).status_code < 500, url
