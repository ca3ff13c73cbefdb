"""Staff see failed sends with their error and retry them; customers never see the
page; a TAM sees only their accounts' mail; the case page marks failed sends."""

from __future__ import annotations

import pytest

from portal.accounts.models import Role
from portal.cases import services
from portal.extensions import db
from portal.mail import outbox
from portal.mail.models import OutboundMessage


@pytest.fixture
def failed(world, make, smtp_server):
    """A reply to Ana that the server refused for good."""
    smtp_server.refuse.add("ana@acme.example")
    case = make.case(world.ana)
    services.reply(case, world.agent, "Answer")
    db.session.commit()
    assert len(outbox.send_due().failed) == 1
    return db.session.scalars(db.select(OutboundMessage)).one()


def test_staff_see_the_failed_send_with_its_error(world, make_client, failed):
    page = make_client(world.agent).get("/desk/mail")
    assert page.status_code == 200
    assert "ana@acme.example" in page.text
    assert "550 5.1.1 No such user here" in page.text
    assert f'action="/desk/mail/{failed.id}/retry"' in page.text


def test_customers_get_404_for_the_mail_pages(world, make_client, failed):
    ana = make_client(world.ana)
    assert ana.get("/desk/mail").status_code == 404
    assert ana.post(f"/desk/mail/{failed.id}/retry").status_code == 404
    assert ana.post("/desk/mail/retry-failed").status_code == 404
    db.session.refresh(failed)
    assert failed.status == "failed"


def test_retry_resets_attempts_and_the_worker_sends_it(world, make_client, failed, smtp_server):
    smtp_server.refuse.clear()
    agent = make_client(world.agent)
    response = agent.post(f"/desk/mail/{failed.id}/retry")
    assert response.status_code == 303
    db.session.refresh(failed)
    assert failed.status == "pending" and failed.attempts == 0
    assert outbox.send_due().sent == [failed.message_id]
    assert [d.message["Message-ID"] for d in smtp_server.received] == [failed.message_id]


def test_retry_needs_the_csrf_token(world, make_client, failed):
    response = make_client(world.agent).post(f"/desk/mail/{failed.id}/retry", csrf=False)
    assert response.status_code == 400
    db.session.refresh(failed)
    assert failed.status == "failed"


def test_htmx_retry_answers_with_the_refreshed_lists(world, make_client, failed):
    response = make_client(world.agent).htmx("post", f"/desk/mail/{failed.id}/retry")
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="outbox-lists"')
    assert "queued again" in response.text and "No failed messages" in response.text


def test_retry_all_and_the_case_filter(world, make, make_client, failed):
    other = make.case(world.ana, subject="Another")
    services.reply(other, world.agent, "Another answer")
    db.session.commit()
    outbox.send_due()
    agent = make_client(world.agent)
    only_first = agent.get(f"/desk/mail?case=CS-{failed.case_id:06d}").text
    assert "Failed (1)" in only_first
    assert "Failed (2)" in agent.get("/desk/mail").text
    assert agent.post("/desk/mail/retry-failed").status_code == 303
    assert {r.status for r in db.session.scalars(db.select(OutboundMessage))} == {"pending"}


def test_a_tam_sees_only_their_accounts_mail(world, make, make_client, failed):
    other_tam = make.user(Role.TAM, email="tam2@support.example")
    db.session.commit()
    client = make_client(other_tam)
    assert "ana@acme.example" not in client.get("/desk/mail").text
    assert client.post(f"/desk/mail/{failed.id}/retry").status_code == 404
    assert "ana@acme.example" in make_client(world.tam).get("/desk/mail").text


def test_the_staff_case_page_marks_failed_sends(world, make_client, failed):
    reference = f"CS-{failed.case_id:06d}"
    staff_page = make_client(world.agent).get(f"/desk/cases/{reference}").text
    assert "1 notification of this case could not be sent" in staff_page
    assert f'href="/desk/mail?case={reference}"' in staff_page
    assert "could not be sent" not in make_client(world.ana).get(f"/cases/{reference}").text
