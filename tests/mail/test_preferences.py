"""The notification settings page: each person sees the kinds of mail they can
get, and what they save decides what the outbox writes."""

from __future__ import annotations

from sqlalchemy import select

from portal.cases import services
from portal.extensions import db
from portal.mail.models import OutboundMessage

URL = "/settings/notifications"


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_customer_sees_customer_topics_all_on_by_default(world, make_client):
    page = make_client(world.ana).get(URL)
    assert page.status_code == 200
    assert "Support replies on a case or posts an update" in page.text
    assert "Every case of Acme Mail" in page.text
    assert "A customer replies" not in page.text  # a staff topic
    assert '<input checked id="pref-agent_reply"' in page.text
    assert '<input id="pref-follow_account"' in page.text  # off until chosen


def test_staff_see_staff_topics(world, make_client):
    page = make_client(world.agent).get(URL).text
    assert "A customer replies on a case you own or manage" in page
    assert "critical (Severity 1) case is opened" in page
    assert "Support replies on a case" not in page and "Every case of" not in page


def test_saving_turns_topics_off_and_mail_follows(world, make, make_client):
    ana = make_client(world.ana)
    response = ana.post(
        URL, data={"information_requested": "y", "status_changed": "y", "follow_account": "y"}
    )
    assert response.status_code == 303
    db.session.refresh(world.ana)
    prefs = world.ana.notification_prefs
    assert prefs["agent_reply"] is False and prefs["information_requested"] is True
    assert prefs["follow_account"] is True
    assert "saved" in ana.get(URL).text

    case = make.case(world.ana)
    services.reply(case, world.agent, "Not mailed")
    db.session.commit()
    services.request_information(case, world.agent, "Mailed")
    db.session.commit()
    mailed = db.session.scalars(select(OutboundMessage.body_text)).all()
    assert len(mailed) == 1 and "Mailed" in mailed[0]


def test_htmx_save_answers_with_the_form_and_keys_outside_the_role_are_ignored(world, make_client):
    agent = make_client(world.agent)
    response = agent.htmx("post", URL, data={"customer_reply": "y", "agent_reply": "y"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<form id="preferences-form"')
    assert "saved" in response.text and "HX-Request" in response.headers["Vary"]
    db.session.refresh(world.agent)
    assert "agent_reply" not in world.agent.notification_prefs
    assert world.agent.notification_prefs["customer_reply"] is True
    assert world.agent.notification_prefs["critical_opened"] is False


def test_saving_needs_the_csrf_token(world, make_client):
    response = make_client(world.ana).post(URL, data={}, csrf=False)
    assert response.status_code in (400, 422)
    db.session.refresh(world.ana)
    assert world.ana.notification_prefs == {}


def test_everyone_finds_the_settings_and_staff_find_the_mail_page(world, make_client):
    assert f'href="{URL}"' in make_client(world.ana).get("/kb").text
    assert 'href="/desk/mail"' not in make_client(world.ana).get("/kb").text
    staff_nav = make_client(world.agent).get("/kb").text
    assert f'href="{URL}"' in staff_nav and 'href="/desk/mail"' in staff_nav
