import pytest

from portal.accounts.models import User
from portal.auth.views import BAD_CREDENTIALS
from portal.extensions import db
from tests.auth.helpers import field_errors, without_csrf_tokens
from tests.conftest import PASSWORD


def sign_in(client, email, password=PASSWORD, url="/login", **kw):
    return client.post(url, data={"email": email, "password": password}, **kw)


def test_login_page_has_the_three_fields(client):
    page = client.get("/login")
    assert page.status_code == 200
    for name in ("email", "password", "csrf_token"):
        assert f'name="{name}"' in page.text


def test_right_password_signs_in_and_records_the_time(world, client):
    response = sign_in(client, world.ana.email)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    db.session.rollback()  # end the test's read snapshot: the request committed in its own
    assert world.ana.last_login_at is not None
    assert client.get("/").status_code == 200


def test_address_is_matched_whatever_its_case_and_spaces(world, client):
    response = sign_in(client, "  ANA@Acme.Example ")
    assert response.status_code == 303


def test_wrong_password_is_422_with_the_message_and_the_email_kept(world, client):
    response = sign_in(client, world.ana.email, "not my password")
    assert response.status_code == 422
    assert field_errors(response.text, "password") == [BAD_CREDENTIALS]
    assert f'value="{world.ana.email}"' in response.text
    assert "not my password" not in response.text  # the password is never echoed
    assert client.get("/").status_code == 302  # still signed out


def test_unknown_address_gets_exactly_the_same_answer(world, client):
    wrong_password = sign_in(client, world.ana.email, "not my password")
    unknown = sign_in(client, "nobody@acme.example", "not my password")
    assert unknown.status_code == wrong_password.status_code == 422
    assert field_errors(unknown.text, "password") == field_errors(wrong_password.text, "password")
    assert without_csrf_tokens(unknown.text.replace("nobody@acme.example", world.ana.email)) == (
        without_csrf_tokens(wrong_password.text)
    )


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"email": "", "password": PASSWORD}, "email", "This field is required."),
        ({"email": "not-an-address", "password": PASSWORD}, "email", "Invalid email address."),
        ({"email": "ana@acme.example", "password": ""}, "password", "This field is required."),
    ],
)
def test_bad_input_is_422_beside_the_field(world, client, data, field, message):
    response = client.post("/login", data=data)
    assert response.status_code == 422
    assert message in field_errors(response.text, field)


def test_next_to_a_local_path_is_followed(world, client):
    response = sign_in(client, world.ana.email, url="/login?next=/cases%3Fstatus%3Dopen")
    assert response.status_code == 303
    assert response.headers["Location"] == "/cases?status=open"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_that_could_leave_the_site_is_refused(world, client, target):
    response = client.post(
        "/login",
        data={"email": world.ana.email, "password": PASSWORD},
        query_string={"next": target},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_login_required_sends_to_login_with_next(world, client):
    response = client.get("/cases")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_deactivated_user_cannot_sign_in(world, client):
    world.ana.active = False
    db.session.commit()
    response = sign_in(client, world.ana.email)
    assert response.status_code == 422
    assert field_errors(response.text, "password") == [BAD_CREDENTIALS]


def test_invited_user_without_a_password_cannot_sign_in(world, make, client):
    invited = make.user(account=world.acme, password_hash=None)
    db.session.commit()
    for password in ("", "None", PASSWORD):
        response = sign_in(client, invited.email, password)
        assert response.status_code == 422


def test_remembered_sign_in_of_a_deactivated_user_ends_too(world, app, client):
    client.post("/login", data={"email": world.ana.email, "password": PASSWORD, "remember": "y"})
    remembered = app.test_client()
    remembered.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert remembered.get("/").status_code == 200
    db.session.rollback()
    db.session.get(User, world.ana.id).active = False
    db.session.commit()
    response = remembered.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_session_of_a_deactivated_user_ends_at_the_next_request(world, make_client):
    # Flask-Login's UserMixin answers is_authenticated with is_active, which is False
    # once deactivated, so login_required turns the old session away.
    ana = make_client(world.ana)
    assert ana.get("/").status_code == 200
    db.session.rollback()  # a snapshot older than the sign-in cannot take the write lock
    db.session.get(User, world.ana.id).active = False
    db.session.commit()
    response = ana.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_signed_in_person_visiting_login_goes_home(world, client):
    client.login(world.ana)
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_logout_needs_post(world, client):
    client.login(world.ana)
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_logout_without_csrf_token_is_refused(world, client):
    client.login(world.ana)
    response = client.post("/logout", csrf=False)
    assert response.status_code == 400
    assert "CSRF" in response.text
    assert client.get("/").status_code == 200  # still signed in


def test_logout_with_csrf_token_signs_out(world, client):
    client.login(world.ana)
    response = client.post("/logout")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert "You are signed out." in client.get("/login").text
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_400(world, client):
    response = client.post(
        "/login", data={"email": world.ana.email, "password": PASSWORD}, csrf=False
    )
    assert response.status_code == 400
    assert client.get("/").status_code == 302


class TestRateLimit:
    def test_failed_attempts_beyond_the_limit_get_a_readable_429(self, app, world, client):
        app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
        for _ in range(3):
            assert sign_in(client, world.ana.email, "wrong password").status_code == 422
        blocked = sign_in(client, world.ana.email, "wrong password")
        assert blocked.status_code == 429
        assert "Too many sign-in attempts" in blocked.text
        assert "<h1>" in blocked.text and "Traceback" not in blocked.text
        assert int(blocked.headers["Retry-After"]) > 0
        # Even the right password waits: that is what stops guessing.
        assert sign_in(client, world.ana.email).status_code == 429

    def test_the_limit_is_per_address(self, app, world, client):
        app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
        for _ in range(2):
            sign_in(client, world.ana.email, "wrong password")
        assert sign_in(client, world.ana.email).status_code == 429
        elsewhere = sign_in(client, world.ana.email, environ_base={"REMOTE_ADDR": "192.0.2.7"})
        assert elsewhere.status_code == 303

    def test_successful_sign_ins_do_not_use_up_the_limit(self, app, world, make_client):
        app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
        for _ in range(4):
            make_client(world.ana)  # asserts the 303

    def test_looking_at_the_form_is_not_limited(self, app, client):
        app.config["LOGIN_RATE_LIMIT"] = "1 per minute"
        for _ in range(3):
            assert client.get("/login").status_code == 200


class TestHardening:
    def test_healthz_answers_without_touching_the_session(self, client):
        response = client.get("/healthz")
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers

    def test_healthz_sets_no_cookie_for_an_anonymous_browser_with_a_session(self, client):
        client.csrf_token()  # the session now holds a CSRF token
        response = client.get("/healthz")
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers

    def test_healthz_sets_no_cookie_for_a_signed_in_browser_either(self, world, client):
        client.login(world.ana)
        response = client.get("/healthz")
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers

    @pytest.mark.parametrize("url", ["/login", "/healthz", "/password-reset"])
    def test_security_headers(self, client, url):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"

    def test_security_headers_on_error_pages_too(self, client):
        response = client.get("/no-such-page")
        assert response.status_code == 404
        assert response.headers["X-Content-Type-Options"] == "nosniff"

    def test_session_and_remember_cookies_are_httponly_and_samesite_lax(self, world, client):
        response = client.post(
            "/login", data={"email": world.ana.email, "password": PASSWORD, "remember": "y"}
        )
        assert response.status_code == 303
        cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
        for name in ("session", "remember_token"):
            attributes = [a.strip().lower() for a in cookies[name].split(";")]
            assert "httponly" in attributes, cookies[name]
            assert "samesite=lax" in attributes, cookies[name]


def test_a_session_ends_twelve_hours_after_sign_in(world, client, app, monkeypatch):
    """The session cookie is signed with the time it was written; Flask refuses one
    older than PERMANENT_SESSION_LIFETIME (12 h) whether or not the session is
    'permanent', so a copied cookie stops working after a working day."""
    from itsdangerous import TimestampSigner

    assert sign_in(client, world.ana.email).status_code == 303
    assert client.get("/cases").status_code == 200
    signed_at = TimestampSigner.get_timestamp(TimestampSigner("k"))
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    assert lifetime == 12 * 3600

    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at + lifetime - 60)
    assert client.get("/cases").status_code == 200  # a minute before the end: still in
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at + lifetime + 60)
    response = client.get("/cases")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_keep_me_signed_in_lasts_two_weeks(world, client):
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    response = client.post(
        "/login", data={"email": world.ana.email, "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 303
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    expires = next(part.split("=", 1)[1] for part in cookie.split("; ") if part.startswith("Expires="))
    days = (parsedate_to_datetime(expires) - datetime.now(UTC)).total_seconds() / 86400
    assert 13.9 < days < 14.1
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
