"""Routes as each person meets them: access, the fragment contract, bad input."""

import io
import re

import pytest
from sqlalchemy import func, select

from portal.cases import services
from portal.cases.models import Attachment, CaseEvent, EventKind, Kind, Status
from portal.extensions import db


@pytest.fixture
def acme_case(world, make):
    return make.case(world.ana, Kind.BUG, subject="Webhook batches arrive twice")


def case_urls(ref):
    return [f"/cases/{ref}", f"/cases/{ref}/timeline?after=0"]


# --- access -------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, acme_case):
    for url in ["/", "/cases", "/cases/new", *case_urls(acme_case.reference), "/desk"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]


def test_other_account_gets_404_everywhere(world, client, acme_case):
    services.reply(acme_case, world.ana, "log", [services.NewFile("log.txt", "text/plain", b"x")])
    db.session.commit()
    attachment = db.session.scalar(select(Attachment))
    client.login(world.bo)
    for url in case_urls(acme_case.reference) + [
        f"/cases/{acme_case.reference}/attachments/{attachment.id}/log.txt"
    ]:
        assert client.get(url).status_code == 404, url
        assert client.htmx("get", url).status_code == 404, url
    for url in ["replies", "resolution", "resolution/accept", "resolution/dispute"]:
        response = client.post(f"/cases/{acme_case.reference}/{url}", data={"body": "hi", "summary": "x", "reason": "y"})
        assert response.status_code == 404, url
    assert db.session.scalar(select(func.count(CaseEvent.id))) == 2  # created + ana's reply


def test_missing_and_malformed_references_are_404(world, client):
    client.login(world.ana)
    for ref in ["CS-999999", "CS-abc", "nonsense", "CS-" + "9" * 30]:
        assert client.get(f"/cases/{ref}").status_code == 404


def test_customer_lists_only_own_account(world, make, client):
    make.case(world.ana, subject="Acme thing")
    make.case(world.bo, subject="Globex thing")
    client.login(world.ana)
    page = client.get("/cases").text
    assert "Acme thing" in page and "Globex thing" not in page


def test_customer_cannot_reach_the_desk(world, client, acme_case):
    client.login(world.ana)
    assert client.get("/desk").status_code == 404
    assert client.get(f"/desk/cases/{acme_case.reference}").status_code == 404
    assert client.post(f"/desk/cases/{acme_case.reference}/notes", data={"body": "x"}).status_code == 404


@pytest.mark.parametrize("who", ["agent", "admin", "tam"])
def test_staff_see_acme_case_with_internal_notes(world, client, acme_case, who):
    services.add_internal_note(acme_case, world.agent, "Internal: customer on old selector")
    db.session.commit()
    client.login(getattr(world, who))
    assert client.get(f"/cases/{acme_case.reference}").status_code == 302  # to the desk view
    page = client.get(f"/desk/cases/{acme_case.reference}")
    assert page.status_code == 200
    assert "old selector" in page.text
    assert acme_case.reference in client.get("/desk").text


def test_tam_does_not_see_other_accounts(world, make, client):
    globex_case = make.case(world.bo, subject="Globex only")
    client.login(world.tam)
    assert client.get(f"/desk/cases/{globex_case.reference}").status_code == 404
    assert "Globex only" not in client.get("/desk").text


def test_customer_never_sees_internal_notes(world, client, acme_case):
    services.add_internal_note(acme_case, world.agent, "Secret remark")
    db.session.commit()
    client.login(world.ana)
    assert "Secret remark" not in client.get(f"/cases/{acme_case.reference}").text
    assert "Secret remark" not in client.htmx("get", f"/cases/{acme_case.reference}/timeline?after=0").text


def test_state_changing_routes_refuse_get(world, client, acme_case):
    client.login(world.ana)
    for suffix in ["replies", "resolution", "resolution/accept", "resolution/dispute"]:
        assert client.get(f"/cases/{acme_case.reference}/{suffix}").status_code == 405


def test_post_without_csrf_is_refused(world, client, acme_case):
    client.login(world.ana)
    response = client.post(f"/cases/{acme_case.reference}/replies", data={"body": "hi"}, csrf=False)
    assert response.status_code == 400
    response = client.htmx("post", f"/cases/{acme_case.reference}/replies", data={"body": "hi"}, csrf=False)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.kind == EventKind.COMMENT)) == 0


def test_csrf_token_in_htmx_header_is_accepted(world, client, acme_case):
    client.login(world.ana)
    token = client.csrf_token()
    response = client.raw.post(
        f"/cases/{acme_case.reference}/replies",
        data={"body": "via header"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert "via header" in client.get(f"/cases/{acme_case.reference}").text


# --- the fragment contract -----------------------------------------------------------


def test_case_list_full_page_fragment_and_boosted(world, client, acme_case):
    client.login(world.ana)
    full = client.get("/cases")
    fragment = client.htmx("get", "/cases")
    boosted = client.htmx("get", "/cases", headers={"HX-Boosted": "true"})
    restore = client.htmx("get", "/cases", headers={"HX-History-Restore-Request": "true"})
    for response in (full, fragment, boosted, restore):
        assert response.status_code == 200
        assert "HX-Request" in response.headers["Vary"]
    assert "<html" in full.text and "<html" in boosted.text and "<html" in restore.text
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<section id="case-results"')


def test_timeline_returns_only_newer_public_events(world, client, acme_case):
    first = services.reply(acme_case, world.agent, "First answer")
    services.add_internal_note(acme_case, world.agent, "hidden note")
    db.session.commit()
    client.login(world.ana)
    response = client.htmx("get", f"/cases/{acme_case.reference}/timeline?after={first.id}")
    # Only the status change after the first answer is public and newer.
    assert response.status_code == 200
    assert "First answer" not in response.text
    assert "hidden note" not in response.text
    assert 'id="timeline-poller" hx-swap-oob="true"' in response.text
    last_id = db.session.scalar(select(func.max(CaseEvent.id)).where(CaseEvent.internal.is_(False)))
    assert f"after={last_id}" in response.text


def test_timeline_204_when_nothing_new_and_286_when_resolved(world, client, acme_case):
    client.login(world.ana)
    last = db.session.scalar(select(func.max(CaseEvent.id)))
    response = client.htmx("get", f"/cases/{acme_case.reference}/timeline?after={last}")
    assert response.status_code == 204
    assert "HX-Request" in response.headers["Vary"]
    services.propose_resolution(acme_case, world.agent, "Fixed")
    services.accept_resolution(acme_case, world.ana)
    db.session.commit()
    response = client.htmx("get", f"/cases/{acme_case.reference}/timeline?after={last}")
    assert response.status_code == 286
    assert "Resolution accepted" in response.text
    assert "hx-trigger" not in response.text.split('id="timeline-poller"')[1].split(">")[0]
    newest = db.session.scalar(select(func.max(CaseEvent.id)))
    assert client.htmx("get", f"/cases/{acme_case.reference}/timeline?after={newest}").status_code == 286


def test_timeline_without_htmx_is_the_full_page(world, client, acme_case):
    client.login(world.ana)
    response = client.get(f"/cases/{acme_case.reference}/timeline?after=0")
    assert response.status_code == 200
    assert "<html" in response.text and acme_case.subject in response.text


def test_internal_notes_are_polled_by_staff_only(world, client, make_client, acme_case):
    services.add_internal_note(acme_case, world.agent, "desk-only remark")
    db.session.commit()
    agent = make_client(world.agent)
    assert "desk-only remark" in agent.htmx("get", f"/cases/{acme_case.reference}/timeline?after=0").text


# --- actions --------------------------------------------------------------------------


def test_reply_plain_post_redirects_303(world, client, acme_case):
    client.login(world.ana)
    response = client.post(f"/cases/{acme_case.reference}/replies", data={"body": "More logs"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/cases/{acme_case.reference}")


def test_reply_htmx_returns_fresh_form_and_triggers_refresh(world, client, acme_case):
    client.login(world.ana)
    response = client.htmx("post", f"/cases/{acme_case.reference}/replies", data={"body": "More logs"})
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "case-changed"
    assert response.text.lstrip().startswith('<form id="reply-form"')
    assert "More logs" not in response.text  # the form is cleared after success


@pytest.mark.parametrize("body", ["", "   ", "x" * 20_001])
def test_bad_reply_is_422_and_keeps_text(world, client, acme_case, body):
    client.login(world.ana)
    for htmx in (False, True):
        url = f"/cases/{acme_case.reference}/replies"
        if htmx:
            response = client.htmx("post", url, data={"body": body})
        else:
            response = client.post(url, data={"body": body})
        assert response.status_code == 422
        assert 'class="error"' in response.text
        if body.strip():
            assert body in response.text
    assert db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.kind == EventKind.COMMENT)) == 0


def test_oversized_attachment_is_422_and_keeps_reply(world, client, app, acme_case):
    app.config["ATTACHMENT_MAX_BYTES"] = 1024
    client.login(world.ana)
    response = client.post(
        f"/cases/{acme_case.reference}/replies",
        data={"body": "Here is the log", "attachments": (io.BytesIO(b"x" * 2048), "big.log")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "big.log" in response.text and "limit is" in response.text
    assert "Here is the log" in response.text


def test_too_many_attachments_is_422(world, client, app, acme_case):
    app.config["ATTACHMENT_MAX_COUNT"] = 2
    client.login(world.ana)
    files = [(io.BytesIO(b"a"), f"f{i}.txt") for i in range(3)]
    response = client.post(
        f"/cases/{acme_case.reference}/replies",
        data={"body": "three files", "attachments": files},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "at most 2 files" in response.text


def test_request_larger_than_limit_is_413_not_500(world, client, app, acme_case):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    client.login(world.ana)
    response = client.post(
        f"/cases/{acme_case.reference}/replies",
        data={"body": "x", "attachments": (io.BytesIO(b"y" * 5000), "big.bin")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413


def test_attachment_download_is_safe(world, client, acme_case):
    client.login(world.ana)
    client.post(
        f"/cases/{acme_case.reference}/replies",
        data={"body": "see file", "attachments": (io.BytesIO(b"<script>alert(1)</script>"), "../../evil.html")},
        content_type="multipart/form-data",
    )
    attachment = db.session.scalar(select(Attachment))
    assert "/" not in attachment.filename and attachment.stored_name not in attachment.filename
    page = client.get(f"/cases/{acme_case.reference}").text
    link = re.search(r'href="(/cases/[^"]+/attachments/[^"]+)"', page).group(1)
    with client.get(link) as response:
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.data == b"<script>alert(1)</script>"


def test_only_other_side_sees_accept_and_accepting_own_proposal_is_403(world, client, make_client, acme_case):
    agent = make_client(world.agent)
    proposed = agent.post(f"/cases/{acme_case.reference}/resolution", data={"summary": "Patched the retry loop"})
    assert proposed.status_code == 303, proposed.text
    assert "Accept the resolution" not in agent.get(f"/desk/cases/{acme_case.reference}").text
    response = agent.post(f"/cases/{acme_case.reference}/resolution/accept")
    assert response.status_code == 403
    assert "other party" in response.text
    client.login(world.ana)
    assert "Accept the resolution" in client.get(f"/cases/{acme_case.reference}").text
    assert client.post(f"/cases/{acme_case.reference}/resolution/accept").status_code == 303
    db.session.refresh(acme_case)
    assert acme_case.status == Status.RESOLVED


def test_conflict_via_htmx_goes_to_alert_region(world, client, acme_case):
    client.login(world.ana)
    response = client.htmx("post", f"/cases/{acme_case.reference}/resolution/accept")
    assert response.status_code == 409
    assert response.headers["HX-Retarget"] == "#alerts"
    assert "no proposed resolution" in response.text


def test_dispute_without_reason_is_422(world, client, make_client, acme_case):
    make_client(world.agent).post(f"/cases/{acme_case.reference}/resolution", data={"summary": "Fixed"})
    client.login(world.ana)
    response = client.post(f"/cases/{acme_case.reference}/resolution/dispute", data={"reason": ""})
    assert response.status_code == 422
    response = client.post(f"/cases/{acme_case.reference}/resolution/dispute", data={"reason": "Still broken for EU"})
    assert response.status_code == 303
    db.session.refresh(acme_case)
    assert acme_case.status == Status.IN_PROGRESS


def test_critical_proposal_without_kind_is_422(world, make, make_client):
    case = make.case(world.ana, Kind.CRITICAL, subject="SMTP 451 everywhere")
    agent = make_client(world.agent)
    response = agent.post(f"/cases/{case.reference}/resolution", data={"summary": "Rerouted"})
    assert response.status_code == 422
    assert "fix or a workaround" in response.text and "Rerouted" in response.text
    response = agent.post(f"/cases/{case.reference}/resolution", data={"summary": "Rerouted", "resolution_kind": "workaround"})
    assert response.status_code == 303


# --- opening cases -------------------------------------------------------------------


def test_kind_switch_returns_fragment_with_htmx_and_page_without(world, client):
    client.login(world.ana)
    fragment = client.htmx("get", "/cases/new?kind=critical")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'name="contact_phone"' in fragment.text
    page = client.get("/cases/new?kind=configuration")
    assert "<html" in page.text and 'name="change"' in page.text


@pytest.mark.parametrize("kind,required", [
    ("bug", ["subject", "description"]),
    ("configuration", ["subject", "description", "change"]),
    ("information", ["subject", "description"]),
    ("critical", ["subject", "description", "channel", "since", "error_samples", "contact_phone"]),
])
def test_new_case_missing_fields_is_422_and_keeps_input(world, client, kind, required):
    client.login(world.ana)
    typed = {"kind": kind, "subject": "", "description": "Typed description stays"}
    response = client.post(f"/cases/new?kind={kind}", data=typed)
    assert response.status_code == 422
    assert "Typed description stays" in response.text
    for name in required:
        if name != "description":
            assert f'id="{name}-error"' in response.text or f'{name}-error' in response.text, name


def test_new_case_garbage_is_422(world, client):
    client.login(world.ana)
    response = client.post("/cases/new?kind=critical", data={
        "kind": "critical", "subject": "S" * 300, "description": "d", "channel": "carrier-pigeon",
        "since": "yesterday-ish", "error_samples": "e", "contact_phone": "1",
    })
    assert response.status_code == 422
    assert "S" * 300 in response.text


def test_critical_case_lands_on_hotline_with_reference(world, client):
    client.login(world.ana)
    response = client.post("/cases/new?kind=critical", data={
        "kind": "critical", "subject": "All SMTP injections time out", "description": "Since 10:02",
        "channel": "smtp", "since": "2026-11-26T10:02", "error_samples": "451 4.4.2 timeout", "contact_phone": "+31 6 1234",
    })
    assert response.status_code == 303
    assert "/hotline?opened=CS-" in response.headers["Location"]
    page = client.get(response.headers["Location"]).text
    ref = response.headers["Location"].split("opened=")[1]
    assert ref in page and "15 minutes" in page


def test_hotline_lists_the_newest_open_critical_cases_and_links_to_the_rest(world, make, client):
    from portal.main.views import HOTLINE_CASES

    cases = [make.case(world.ana, Kind.CRITICAL, subject=f"Outage {i}") for i in range(HOTLINE_CASES + 1)]
    done = make.case(world.ana, Kind.CRITICAL, subject="Closed outage")
    services.propose_resolution(done, world.agent, "Fixed", resolution_kind="fix")
    services.accept_resolution(done, world.ana)
    make.case(world.bo, Kind.CRITICAL, subject="Globex outage")
    db.session.commit()
    client.login(world.ana)
    page = client.get("/hotline").text
    assert cases[-1].reference in page and cases[1].reference in page
    assert cases[0].reference not in page  # the oldest of eleven: behind the link
    assert "Closed outage" not in page and "Globex outage" not in page
    assert "/cases?kind=critical&amp;status=open" in page


def test_unknown_kind_shows_the_chooser(world, client):
    client.login(world.ana)
    response = client.get("/cases/new?kind=escalation")
    assert response.status_code == 200
    assert "Choose what kind" in response.text


def test_case_list_filters_search_and_pagination(world, make, client, app):
    app.config["CASES_PER_PAGE"] = 2
    for i in range(5):
        make.case(world.ana, subject=f"Bounce spike {i}")
    dkim = make.case(world.ana, Kind.CONFIGURATION, subject="Rotate DKIM selector")
    client.login(world.ana)
    assert "Rotate DKIM" in client.get("/cases?q=dkim").text
    assert "Bounce spike" not in client.get("/cases?q=dkim").text
    assert "Rotate DKIM" in client.get(f"/cases?q={dkim.reference}").text
    assert "Bounce spike" not in client.get("/cases?kind=configuration").text
    page1 = client.get("/cases").text
    assert "Page 1 of 3" in page1
    assert client.get("/cases?q=100%25_").status_code == 200  # LIKE wildcards are escaped
    assert "Bounce" not in client.get("/cases?q=%25").text


def test_long_lists_count_to_a_thousand_and_still_page_on(world, client, app, monkeypatch):
    from portal.cases import queries
    from tests.cases.test_query_counts import add_cases

    monkeypatch.setattr(queries, "COUNT_CAP", 30)
    app.config["CASES_PER_PAGE"] = 10
    add_cases(world, 80)  # 40 for Acme
    client.login(world.ana)
    first = client.get("/cases?status=").text
    assert "Page 1 · more than 30 cases" in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    beyond = client.get("/cases?status=&page=4").text  # past what was counted
    assert "Page 4 · more than 30 cases" in beyond
    assert beyond.count('<td data-label="Case">') == 10
    assert 'rel="next"' not in beyond and 'rel="prev"' in beyond
    monkeypatch.setattr(queries, "COUNT_CAP", 1_000)
    exact = client.get("/cases?status=").text
    assert "Page 1 of 4 · 40 cases" in exact
    for page in ("9" * 40, "-3", "abc", "0"):
        assert client.get(f"/cases?status=&page={page}").status_code == 200, page


def test_desk_queue_puts_critical_first_then_oldest_waiting(world, make, client):
    old = make.case(world.ana, subject="Old bug")
    waiting = make.case(world.ana, subject="Waiting bug")
    services.request_information(waiting, world.agent, "logs?")
    db.session.commit()
    critical = make.case(world.ana, Kind.CRITICAL, subject="API down")
    client.login(world.agent)
    page = client.get("/desk").text
    assert page.index("API down") < page.index("Old bug") < page.index("Waiting bug")
    mine = client.get("/desk?chip=mine").text
    assert "API down" not in mine
    services.take(critical, world.agent)
    db.session.commit()
    assert "API down" in client.get("/desk?chip=mine").text
    assert old.reference in client.get("/desk?chip=unassigned").text


def test_poll_refreshes_action_areas_only_when_state_changes(world, client, make_client, acme_case):
    client.login(world.ana)
    last = acme_case_last_event_id(acme_case)
    services.add_internal_note(acme_case, world.agent, "x")
    services.reply(acme_case, world.ana, "just a comment")
    db.session.commit()
    quiet = client.htmx("get", f"/cases/{acme_case.reference}/timeline?after={last}")
    assert quiet.status_code == 200
    assert 'id="case-actions"' not in quiet.text and 'id="reply-form"' not in quiet.text
    last = acme_case_last_event_id(acme_case)
    services.propose_resolution(acme_case, world.agent, "Fixed")
    services.accept_resolution(acme_case, world.ana)
    db.session.commit()
    changed = client.htmx("get", f"/cases/{acme_case.reference}/timeline?after={last}")
    assert changed.status_code == 286
    assert '<section id="case-actions" class="actions" hx-swap-oob="true">' in changed.text
    assert '<p id="reply-form" class="hint" hx-swap-oob="true">' in changed.text
    agent = make_client(world.agent)
    staff = agent.htmx("get", f"/cases/{acme_case.reference}/timeline?after={last}")
    assert 'id="staff-owner" hx-swap-oob="true"' in staff.text


def acme_case_last_event_id(case):
    return db.session.scalar(select(func.max(CaseEvent.id)).where(CaseEvent.case_id == case.id))


def test_assign_requires_a_choice_and_records_who_took_it(world, make_client, acme_case):
    agent = make_client(world.agent)
    page = agent.get(f"/desk/cases/{acme_case.reference}").text
    assert '<option selected value="0">Choose a person</option>' in page
    response = agent.post(f"/desk/cases/{acme_case.reference}/assignee", data={"assignee_id": "0"})
    assert response.status_code == 422 and "Choose who owns the case." in response.text
    assert agent.post(f"/desk/cases/{acme_case.reference}/take").status_code == 303
    page = agent.get(f"/desk/cases/{acme_case.reference}").text
    assert "took the case" in page


def test_details_show_choice_labels_and_long_texts_in_the_main_column(world, make, client):
    case = make.case(world.ana, Kind.BUG, channel="smtp", steps="1. Send\n2. Wait")
    client.login(world.ana)
    page = client.get(f"/cases/{case.reference}").text
    assert "<dd>SMTP injection</dd>" in page
    main, side = page.split('<aside class="case-side card">')
    assert "Steps to reproduce" in main and "Steps to reproduce" not in side


def test_a_reply_keeps_its_line_breaks(world, make, make_client):
    case = make.case(world.ana, Kind.BUG, subject="Signature joined to the text")
    services.reply(case, world.agent, "We replayed the batch.\nThanks,\nAidan")
    db.session.commit()
    page = make_client(world.ana).get(f"/cases/{case.reference}").text
    assert "We replayed the batch.<br>\nThanks,<br>\nAidan" in page
