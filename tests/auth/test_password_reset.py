import re
import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from portal.accounts.models import User
from portal.auth.passwords import make_token
from portal.extensions import db, limiter
from portal.mail import outbox
from portal.mail.models import OutboundMessage
from tests.auth.helpers import deliver, without_csrf_tokens
from tests.conftest import PASSWORD

NEW_PASSWORD = "a much longer new secret"


def ask_for_reset(client, email, **kw):
    return client.post("/password-reset", data={"email": email}, **kw)


def set_password(client, path, password=NEW_PASSWORD, confirm=None):
    return client.post(path, data={"password": password, "confirm": confirm or password})


def test_reset_mail_arrives_and_its_link_works_once(world, client, make_client, smtp_server):
    response = ask_for_reset(client, world.ana.email)
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"

    mail = deliver(smtp_server).only()
    assert mail.rcpt_tos == [world.ana.email]
    assert mail.subject == "Reset your support portal password"
    assert "Hello Ana Acme" in mail.text
    assert "within 1 hour" in mail.text
    assert mail.link.startswith("http://localhost/password-reset/")

    form = client.get(mail.link_path)
    assert form.status_code == 200
    assert world.ana.email in form.text
    assert set_password(client, mail.link_path).status_code == 303

    fresh = make_client()
    assert (
        fresh.post("/login", data={"email": world.ana.email, "password": PASSWORD}).status_code
        == 422
    )
    fresh.login(world.ana, NEW_PASSWORD)

    used_again = client.get(mail.link_path)
    assert used_again.status_code == 404
    assert "This link no longer works" in used_again.text
    assert set_password(client, mail.link_path, "yet another long secret").status_code == 404


def test_unknown_address_gets_the_same_answer_and_no_mail(world, client, smtp_server):
    known = ask_for_reset(client, world.ana.email)
    known_page = client.get(known.headers["Location"]).text
    unknown = ask_for_reset(client, "nobody@acme.example")
    unknown_page = client.get(unknown.headers["Location"]).text
    assert (unknown.status_code, unknown.headers["Location"]) == (
        known.status_code,
        known.headers["Location"],
    )
    assert without_csrf_tokens(unknown_page) == without_csrf_tokens(known_page)
    assert "If an account exists for that address" in unknown_page
    assert [m.rcpt_tos for m in deliver(smtp_server).received] == [[world.ana.email]]


def test_deactivated_user_gets_no_mail(world, client, smtp_server):
    world.ana.active = False
    db.session.commit()
    assert ask_for_reset(client, world.ana.email).status_code == 303
    assert deliver(smtp_server).received == []


def test_invited_user_who_lost_the_invitation_can_use_reset(world, make, client, smtp_server):
    invited = make.user(account=world.acme, password_hash=None)
    db.session.commit()
    ask_for_reset(client, invited.email)
    assert set_password(client, deliver(smtp_server).only().link_path).status_code == 303
    client.login(invited, NEW_PASSWORD)


def test_mail_server_down_still_gives_the_same_answer(world, client, app):
    # No smtp_server fixture: MAIL_PORT 0 refuses the connection.
    response = ask_for_reset(client, world.ana.email)
    assert response.status_code == 303
    assert "If an account exists" in client.get("/login").text
    # The worker meets the outage; the mail waits in the outbox for the next round.
    done = outbox.send_due()
    assert (done.sent, done.failed, len(done.retrying)) == ([], [], 1)
    db.session.rollback()
    [row] = reset_rows()
    assert row.status == outbox.PENDING and row.last_error


def reset_rows() -> list[OutboundMessage]:
    return list(db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def test_reset_request_sends_nothing_inline_the_outbox_delivers_it(
    world, client, smtp_server, smtp_connections
):
    response = ask_for_reset(client, world.ana.email)
    assert response.status_code == 303
    assert smtp_connections == [] and smtp_server.received == []

    db.session.rollback()
    [row] = reset_rows()
    assert (row.to_address, row.recipient_id, row.case_id) == (world.ana.email, world.ana.id, None)
    assert (row.status, row.subject) == (outbox.PENDING, "Reset your support portal password")

    assert outbox.send_due().sent == [row.message_id]
    assert smtp_connections == [(smtp_server.host, smtp_server.port)]
    mail = smtp_server.only()
    assert mail.message["Message-ID"] == row.message_id
    assert mail.rcpt_tos == [world.ana.email]
    assert client.get(mail.link_path).status_code == 200
    assert set_password(client, mail.link_path).status_code == 303
    assert client.get(mail.link_path).status_code == 404  # single use, as before

    assert outbox.send_due().sent == []  # sent once, not again
    assert len(smtp_server.received) == 1


def _comparable(response) -> tuple:
    """Everything but the cookies and the rate limit's reset time (a clock reading,
    compared on its own)."""
    skip = {"set-cookie", "x-ratelimit-reset"}
    headers = sorted((k, v) for k, v in response.headers.items() if k.lower() not in skip)
    return response.status_code, headers, response.get_data()


def test_known_and_unknown_addresses_get_the_same_response_and_no_smtp(
    world, make, make_client, smtp_server, smtp_connections
):
    deactivated = make.user(account=world.acme, active=False)
    db.session.commit()
    answers = []
    for email in (world.ana.email, "nobody@acme.example", deactivated.email):
        limiter.reset()  # each the first request of its network, so the counters agree
        answers.append(ask_for_reset(make_client(), email))
    known, unknown, inactive = (_comparable(a) for a in answers)
    assert known[0] == 303 and ("X-RateLimit-Remaining", "4") in known[1]
    assert unknown == known and inactive == known
    resets = [int(a.headers["X-RateLimit-Reset"]) for a in answers]
    assert max(resets) - min(resets) <= 1
    assert smtp_connections == [] and smtp_server.received == []

    db.session.rollback()
    assert [r.to_address for r in reset_rows()] == [world.ana.email]  # only the real one
    assert [m.rcpt_tos for m in deliver(smtp_server).received] == [[world.ana.email]]


def _sign_in_the_past(monkeypatch, seconds_ago: int):
    monkeypatch.setattr(
        TimestampSigner, "get_timestamp", lambda self: int(time.time()) - seconds_ago
    )


def test_expired_link_is_refused(world, client, smtp_server, monkeypatch):
    _sign_in_the_past(monkeypatch, seconds_ago=3601)  # the default lifetime is one hour
    ask_for_reset(client, world.ana.email)
    monkeypatch.undo()
    link = deliver(smtp_server).only().link_path
    assert client.get(link).status_code == 404
    assert set_password(client, link).status_code == 404
    db.session.rollback()
    assert db.session.get(User, world.ana.id).password_hash is not None
    client.login(world.ana)  # the old password still works


def test_link_inside_its_lifetime_works(world, client, smtp_server, monkeypatch):
    _sign_in_the_past(monkeypatch, seconds_ago=3500)
    ask_for_reset(client, world.ana.email)
    monkeypatch.undo()
    assert client.get(deliver(smtp_server).only().link_path).status_code == 200


def test_lifetime_comes_from_the_configuration(app, world, client, smtp_server):
    app.config["PASSWORD_RESET_MAX_AGE"] = timedelta(minutes=30)
    ask_for_reset(client, world.ana.email)
    assert "within 30 minutes" in deliver(smtp_server).only().text


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-2] + "xx", lambda t: "garbage", lambda t: t + "."]
)
def test_tampered_link_is_refused(world, client, mangle):
    token = make_token(world.ana, "reset")
    assert client.get(f"/password-reset/{mangle(token)}").status_code == 404


def test_an_invitation_token_is_no_reset_token(world, client):
    token = make_token(world.ana, "invite")
    assert client.get(f"/password-reset/{token}").status_code == 404


@pytest.mark.parametrize(
    "password, confirm, message",
    [
        ("short", "short", "Use at least 10 characters"),
        (NEW_PASSWORD, "something else entirely", "The two passwords differ."),
        ("", "", "This field is required."),
        ("x" * 201, "x" * 201, "Use at least 10 characters (200 at most)."),
    ],
)
def test_bad_new_password_is_422_beside_the_field(world, client, password, confirm, message):
    path = f"/password-reset/{make_token(world.ana, 'reset')}"
    response = set_password(client, path, password, confirm)
    assert response.status_code == 422
    assert message in response.text
    assert 'class="field has-error"' in response.text


@pytest.mark.parametrize("email", ["", "not an address", "a@" + "b" * 260 + ".example"])
def test_bad_address_on_the_request_form_is_422(client, email):
    response = ask_for_reset(client, email)
    assert response.status_code == 422
    assert 'id="email-error"' in response.text


def test_requests_beyond_the_limit_get_a_readable_429(app, world, client, smtp_server):
    app.config["RESET_RATE_LIMIT"] = "2 per hour"
    assert ask_for_reset(client, world.ana.email).status_code == 303
    assert ask_for_reset(client, "nobody@acme.example").status_code == 303
    blocked = ask_for_reset(client, world.ana.email)
    assert blocked.status_code == 429
    assert "Too many password reset requests" in blocked.text
    assert "Traceback" not in blocked.text
    assert len(deliver(smtp_server).received) == 1


def test_line_breaks_in_the_name_create_no_header(world, make, client, smtp_server):
    mallory = make.user(
        account=world.acme,
        name="Mallory\r\nBcc: victim@elsewhere.example\r\nSubject: Free money",
        email="mallory@acme.example",
    )
    db.session.commit()
    assert ask_for_reset(client, mallory.email).status_code == 303
    mail = deliver(smtp_server).only()
    assert mail.rcpt_tos == ["mallory@acme.example"]
    assert mail.message["Bcc"] is None
    assert mail.message.get_all("Subject") == ["Reset your support portal password"]
    assert mail.message["To"] == "mallory@acme.example"


def test_links_use_the_configured_public_url_not_the_host_header(app, world, client, smtp_server):
    app.config["PUBLIC_URL"] = "https://support.example/"
    # What an attacker does: fetch the form and post it, both with their own Host header.
    form = client.raw.get("http://evil.example/password-reset").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    response = client.raw.post(
        "http://evil.example/password-reset", data={"email": world.ana.email, "csrf_token": token}
    )
    assert response.status_code == 303
    assert deliver(smtp_server).only().link.startswith("https://support.example/password-reset/")


def test_new_password_ends_other_sessions(world, make_client):
    from portal.auth.passwords import hash_password
    from portal.extensions import db

    elsewhere = make_client(world.ana)
    assert elsewhere.get("/cases").status_code == 200
    world.ana.password_hash = hash_password("a brand new passphrase")
    db.session.commit()
    response = elsewhere.get("/cases")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
