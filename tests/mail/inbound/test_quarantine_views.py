"""The quarantine on the desk: staff only, raw and parsed views, release, discard,
process again."""

from __future__ import annotations

import re

import pytest

from portal.cases import services
from portal.extensions import db
from portal.mail import inbound
from portal.mail.models import InboundMessage


@pytest.fixture
def quarantined(mailworld):
    """A spoofed reply (pointing at Ana's case), a bounce, and a failed message."""
    spoof = mailworld.ingest("spoofed_reply_unknown_sender.eml").message
    bounce = mailworld.ingest("bounce_dsn.eml").message
    failed = InboundMessage(
        message_id="<broken@x.example>",
        body_digest="1" * 64,
        raw=b"Subject: broken\r\n\r\n?",
        subject="broken",
        status=inbound.FAILED,
        reason="Processing failed: KeyError: 'x'",
    )
    db.session.add(failed)
    db.session.commit()
    return spoof, bounce, failed


def test_customers_and_strangers_never_see_the_quarantine(
    mailworld, quarantined, make_client, client
):
    spoof = quarantined[0]
    customer = make_client(mailworld.ana)
    for url in (
        "/desk/quarantine",
        f"/desk/quarantine/{spoof.id}",
        f"/desk/quarantine/{spoof.id}/original.eml",
    ):
        assert customer.get(url).status_code == 404
        assert client.get(url).status_code == 302  # to sign in
    assert customer.post(f"/desk/quarantine/{spoof.id}/discard").status_code == 404
    assert "Quarantine" not in customer.get("/cases").text


def test_the_list_shows_what_waits_for_a_decision(mailworld, quarantined, make_client):
    agent = make_client(mailworld.agent)
    page = agent.get("/desk/quarantine")
    assert page.status_code == 200
    assert 'href="/desk/quarantine"' in page.text  # the nav link
    assert "Needs a decision (3)" in page.text
    assert "unknown sender: billing@acme-invoices.example is not a portal user." in page.text
    assert "delivery report from mailer-daemon@relay.acme.example" in page.text
    assert "Processing failed: KeyError" in page.text
    failed_only = agent.get("/desk/quarantine?show=failed").text
    assert "Processing failed: KeyError" in failed_only
    assert "Undelivered Mail Returned to Sender" not in failed_only


def test_a_message_shows_parsed_and_raw_and_where_it_seems_to_belong(
    mailworld, quarantined, make_client
):
    spoof = quarantined[0]
    page = make_client(mailworld.agent).get(f"/desk/quarantine/{spoof.id}")
    assert page.status_code == 200
    assert "Please update our bank details" in page.text
    assert "Received: from vps-2231.cheaphost.example" in page.text  # the raw source
    assert "It seems to belong to" in page.text and mailworld.case.reference in page.text
    assert f'value="{mailworld.case.reference}"' in page.text  # the release form, filled in


def test_the_original_downloads_as_a_file(mailworld, quarantined, make_client):
    spoof = quarantined[0]
    response = make_client(mailworld.agent).get(f"/desk/quarantine/{spoof.id}/original.eml")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f"attachment; filename=inbound-{spoof.id}.eml"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == mailworld.corpus("spoofed_reply_unknown_sender.eml")


def test_release_onto_a_case(mailworld, quarantined, make_client):
    spoof = quarantined[0]
    agent = make_client(mailworld.agent)
    bad = agent.post(f"/desk/quarantine/{spoof.id}/release", data={"reference": "CS-999999"})
    assert bad.status_code == 422
    assert "No case CS-999999 that you can see." in bad.text
    assert 'value="CS-999999"' in bad.text  # what was typed stays

    ok = agent.post(
        f"/desk/quarantine/{spoof.id}/release", data={"reference": mailworld.case.reference}
    )
    assert ok.status_code == 303
    assert ok.headers["Location"] == f"/desk/cases/{mailworld.case.reference}"
    db.session.expire_all()
    assert spoof.status == inbound.PROCESSED and spoof.case_id == mailworld.case.id
    # An internal note: Ana does not see the stranger's mail.
    assert (
        "bank details"
        not in make_client(mailworld.ana).get(f"/cases/{mailworld.case.reference}").text
    )
    assert "bank details" in agent.get(f"/desk/cases/{mailworld.case.reference}").text


def test_release_onto_a_resolved_case_is_refused_with_the_way_out(
    mailworld, quarantined, make_client
):
    spoof = quarantined[0]
    response = make_client(mailworld.agent).post(
        f"/desk/quarantine/{spoof.id}/release", data={"reference": mailworld.resolved.reference}
    )
    assert response.status_code == 422
    assert "is resolved: release the message as a new case instead." in response.text


def test_a_tam_releases_only_onto_cases_of_their_accounts(mailworld, quarantined, make_client):
    spoof = quarantined[0]
    globex_case = services.open_case(mailworld.bo, "bug", "Globex issue", "desc")
    db.session.commit()
    tam = make_client(mailworld.tam)  # TAM of Acme, not of Globex
    response = tam.post(
        f"/desk/quarantine/{spoof.id}/release", data={"reference": globex_case.reference}
    )
    assert response.status_code == 422


def test_release_as_a_new_case(mailworld, quarantined, make_client):
    spoof = quarantined[0]
    agent = make_client(mailworld.agent)
    bad = agent.post(
        f"/desk/quarantine/{spoof.id}/new-case", data={"requester": "agent@support.example"}
    )
    assert bad.status_code == 422 and "No active customer user has this address." in bad.text
    ok = agent.post(
        f"/desk/quarantine/{spoof.id}/new-case", data={"requester": "Carl@Acme.example"}
    )
    assert ok.status_code == 303
    reference = re.search(r"/desk/cases/(CS-\d+)", ok.headers["Location"]).group(1)
    assert "bank details" in make_client(mailworld.carl).get(f"/cases/{reference}").text


def test_discard_and_process_again(mailworld, quarantined, make_client):
    _, bounce, failed = quarantined
    agent = make_client(mailworld.agent)
    assert agent.post(f"/desk/quarantine/{bounce.id}/discard").status_code == 303
    assert "Needs a decision (2)" in agent.get("/desk/quarantine").text
    assert "Undelivered Mail" in agent.get("/desk/quarantine?show=discarded").text
    # A second click finds it already decided.
    assert agent.post(f"/desk/quarantine/{bounce.id}/discard").status_code == 409

    response = agent.post(f"/desk/quarantine/{failed.id}/retry")
    assert response.status_code == 303
    db.session.expire_all()
    assert failed.status == inbound.QUARANTINED  # no sender: it now waits in quarantine
    assert failed.reason.startswith(inbound.UNKNOWN_SENDER)


def test_every_change_needs_the_csrf_token(mailworld, quarantined, make_client):
    spoof = quarantined[0]
    agent = make_client(mailworld.agent)
    response = agent.post(f"/desk/quarantine/{spoof.id}/discard", csrf=False)
    assert response.status_code == 400
    db.session.expire_all()
    assert spoof.status == inbound.QUARANTINED
