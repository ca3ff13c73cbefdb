import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Account, AuditLog, Role, User
from portal.extensions import db
from portal.mail import outbox
from portal.mail.models import OutboundMessage
from tests.auth.helpers import deliver, field_errors
from tests.conftest import PASSWORD

NEW_PASSWORD = "a long enough password"


def audit_actions() -> list[tuple[str, str]]:
    db.session.rollback()  # see what the requests committed
    return [
        (e.action, e.target) for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))
    ]


@pytest.fixture
def admin(world, make_client):
    return make_client(world.admin)


def invite(client, **data):
    return client.post("/desk/admin/users/invite", data=data)


class TestAccess:
    URLS = [
        ("get", "/desk/admin"),
        ("get", "/desk/admin/users"),
        ("get", "/desk/admin/users/invite"),
        ("post", "/desk/admin/users/invite"),
        ("get", "/desk/admin/accounts"),
        ("get", "/desk/admin/accounts/{acme}/tam"),
        ("post", "/desk/admin/accounts/{acme}/tam"),
        ("post", "/desk/admin/users/{bo}/deactivate"),
        ("post", "/desk/admin/users/{bo}/reactivate"),
        ("get", "/desk/admin/audit"),
    ]

    @pytest.mark.parametrize("role", ["ana", "bo", "agent", "tam"])
    @pytest.mark.parametrize("method, url", URLS)
    def test_anyone_but_an_admin_gets_404(self, world, make_client, role, method, url):
        client = make_client(getattr(world, role))
        url = url.format(acme=world.acme.id, bo=world.bo.id)
        response = client.get(url) if method == "get" else client.post(url, data={})
        assert response.status_code == 404
        db.session.rollback()
        assert db.session.get(User, world.bo.id).active
        assert audit_actions() == []

    def test_anonymous_is_sent_to_sign_in(self, world, client):
        response = client.get("/desk/admin/users")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")

    def test_only_admins_see_the_users_link(self, world, make_client):
        assert 'href="/desk/admin/users"' in make_client(world.admin).get("/desk").text
        assert 'href="/desk/admin/users"' not in make_client(world.agent).get("/desk").text

    def test_admin_index_leads_to_users(self, admin):
        response = admin.get("/desk/admin")
        assert response.status_code == 302
        assert response.headers["Location"] == "/desk/admin/users"


class TestUserList:
    def test_users_grouped_staff_first_then_each_account(self, world, admin):
        page = admin.get("/desk/admin/users")
        assert page.status_code == 200
        headings = re.findall(r'<h2 id="group-[^"]+">([^<]+)</h2>', page.text)
        assert [h.strip() for h in headings] == ["Staff", "Acme Mail", "Globex Retail"]
        staff = page.text.split('id="group-staff"')[1].split("<h2")[0]
        # inside a group: by role (agent, TAM, admin), then by name
        assert staff.index("Aidan Agent") < staff.index("Tess TAM") < staff.index("Ada Admin")

    def test_filter_by_role_account_and_state(self, world, make, admin):
        make.user(account=world.acme, name="Ivy Invited", password_hash=None)
        make.user(account=world.globex, name="Dee Deactivated", active=False)
        db.session.commit()

        only_tams = admin.get("/desk/admin/users?role=tam").text
        assert "Tess TAM" in only_tams and "Aidan Agent" not in only_tams

        acme = admin.get(f"/desk/admin/users?account={world.acme.id}").text
        assert "Ana Acme" in acme and "Bo Globex" not in acme and "Tess TAM" not in acme

        staff = admin.get("/desk/admin/users?account=staff").text
        assert "Tess TAM" in staff and "Ana Acme" not in staff

        invited = admin.get("/desk/admin/users?state=invited").text
        assert "Ivy Invited" in invited and "Ana Acme" not in invited
        deactivated = admin.get("/desk/admin/users?state=deactivated").text
        assert "Dee Deactivated" in deactivated and "Reactivate" in deactivated

        found = admin.get("/desk/admin/users?q=GLOBEX").text
        assert "Bo Globex" in found and "Ana Acme" not in found

    def test_garbage_filters_are_ignored(self, world, admin):
        page = admin.get("/desk/admin/users?role=root&state=%00&account=abc&q=" + "x" * 500)
        assert page.status_code == 200

    def test_no_match_teaches(self, world, admin):
        page = admin.get("/desk/admin/users?q=nobody-at-all")
        assert "No users match these filters" in page.text

    def test_fragment_for_htmx_page_when_boosted(self, world, admin):
        fragment = admin.htmx("get", "/desk/admin/users?role=tam")
        assert fragment.status_code == 200
        assert fragment.text.lstrip().startswith('<section id="user-list"')
        assert "<html" not in fragment.text
        assert "HX-Request" in fragment.headers["Vary"]
        boosted = admin.htmx("get", "/desk/admin/users", headers={"HX-Boosted": "true"})
        assert "<html" in boosted.text

    def test_no_deactivate_button_for_yourself(self, world, admin):
        page = admin.get("/desk/admin/users").text
        assert f'action="/desk/admin/users/{world.admin.id}/deactivate"' not in page
        assert f'action="/desk/admin/users/{world.agent.id}/deactivate"' in page


def user_rows(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="user-(\d+)">', html)]


def pager_links(html: str) -> dict[str, str]:
    return {
        rel: unescape(href)
        for href, rel in re.findall(r'<a href="([^"]+)"[^>]* rel="(prev|next)">', html)
    }


def pager(html: str) -> str:
    """The pager below the list (the shared ``pager`` macro), or '' when there is none."""
    found = re.search(r'<nav class="pager".*?</nav>', html, re.S)
    return found.group(0) if found else ""


class TestUserListPages:
    @pytest.fixture
    def sixty(self, world, make):
        """Sixty users in all: the world's staff and customers, and Initech's."""
        initech = make.account("Initech")
        existing = db.session.scalar(select(func.count(User.id)))
        for n in range(60 - existing):
            make.user(
                account=initech, name=f"Pat Initech {n:02d}", email=f"pat{n:02d}@initech.example"
            )
        db.session.commit()
        return initech

    def test_sixty_users_make_three_pages_of_25_25_10(self, world, sixty, admin):
        first = admin.get("/desk/admin/users")
        assert first.status_code == 200
        assert len(user_rows(first.text)) == 25
        assert "Page 1 of 3 · 60 users" in first.text  # below the list
        assert "60 users · page 1 of 3" in first.text  # and above it
        assert pager_links(first.text) == {"next": "/desk/admin/users?page=2"}

        pages = [user_rows(admin.get(f"/desk/admin/users?page={n}").text) for n in (1, 2, 3)]
        assert [len(p) for p in pages] == [25, 25, 10]
        everyone = sum(pages, [])
        assert len(set(everyone)) == 60  # nobody twice, nobody left out
        assert set(everyone) == set(db.session.scalars(select(User.id)))

        last = admin.get("/desk/admin/users?page=3").text
        assert "Page 3 of 3 · 60 users" in last
        assert pager_links(last) == {"prev": "/desk/admin/users?page=2"}

    def test_the_pager_counts_users_and_its_links_swap_the_list(self, world, sixty, admin):
        nav = pager(admin.get("/desk/admin/users?page=2").text)
        assert nav.startswith('<nav class="pager" aria-label="Pages of users">')
        assert "Page 2 of 3 · 60 users" in nav and "cases" not in nav
        links = re.findall(r"<a [^>]*>(?:Previous|Next)</a>", nav)
        assert links == [
            '<a href="/desk/admin/users?page=1" hx-get="/desk/admin/users?page=1"'
            ' hx-target="#user-list" hx-swap="outerHTML" hx-push-url="true" rel="prev">Previous</a>',
            '<a href="/desk/admin/users?page=3" hx-get="/desk/admin/users?page=3"'
            ' hx-target="#user-list" hx-swap="outerHTML" hx-push-url="true" rel="next">Next</a>',
        ]

    def test_filters_are_kept_in_the_page_links(self, world, sixty, admin):
        url = f"/desk/admin/users?account={sixty.id}&role=customer&q=pat"
        first = admin.get(url).text
        assert len(user_rows(first)) == 25 and "Ana Acme" not in first
        assert "Page 1 of 3 · 55 users" in first
        following = pager_links(first)["next"]
        assert parse_qs(urlsplit(following).query) == {
            "account": [str(sixty.id)],
            "role": ["customer"],
            "q": ["pat"],
            "page": ["2"],
        }
        second = admin.get(following).text
        assert len(user_rows(second)) == 25 and "Bo Globex" not in second
        assert f'<option value="{sixty.id}" selected>' in second  # the form still shows them
        last = admin.get(pager_links(second)["next"]).text
        assert len(user_rows(last)) == 5
        assert parse_qs(urlsplit(pager_links(last)["prev"]).query)["account"] == [str(sixty.id)]

    @pytest.mark.parametrize(
        "page, shown", [("abc", 1), ("0", 1), ("-4", 1), ("", 1), ("99", 3), ("9" * 40, 3)]
    )
    def test_a_bad_page_number_shows_a_real_page(self, world, sixty, admin, page, shown):
        response = admin.get(f"/desk/admin/users?page={page}")
        assert response.status_code == 200
        assert f"Page {shown} of 3 · 60 users" in response.text
        assert len(user_rows(response.text)) == (10 if shown == 3 else 25)

    def test_a_short_list_has_no_pager(self, world, admin):
        page = admin.get("/desk/admin/users").text
        assert 'class="pager"' not in page and "Page 1" not in page

    def test_one_user_is_counted_as_one_user(self, world, admin):
        page = admin.get(f"/desk/admin/users?q={world.bo.email}").text
        assert "1 user<" in page and "1 users" not in page and 'class="pager"' not in page

    def test_htmx_gets_the_next_page_as_a_fragment(self, world, sixty, admin):
        fragment = admin.htmx("get", "/desk/admin/users?page=2")
        assert fragment.text.lstrip().startswith('<section id="user-list"')
        assert len(user_rows(fragment.text)) == 25
        assert 'hx-get="/desk/admin/users?page=3"' in fragment.text

    def test_an_action_on_page_three_comes_back_to_page_three(self, world, sixty, admin):
        page = admin.get(f"/desk/admin/users?account={sixty.id}&page=3").text
        target = user_rows(page)[0]
        action = f"/desk/admin/users/{target}/deactivate?account={sixty.id}&amp;page=3"
        assert f'action="{action}"' in page
        response = admin.post(unescape(action))
        assert response.status_code == 303
        assert parse_qs(urlsplit(response.headers["Location"]).query) == {
            "account": [str(sixty.id)],
            "page": ["3"],
        }

    @pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
    def test_deactivating_the_last_one_on_the_last_page_shows_the_new_last_page(
        self, world, sixty, admin, htmx
    ):
        """The list is clamped to its last page: filtered to active users, page 3 holds
        one person; once they are deactivated page 3 is past the end, and the admin
        sees page 2 rather than "No users match these filters"."""
        initech = db.session.scalars(select(User).where(User.account_id == sixty.id)).all()
        for user in initech[:4]:  # 51 active left: 25, 25 and 1
            user.active = False
        db.session.commit()
        url = f"/desk/admin/users?account={sixty.id}&state=active&page=3"
        (only,) = user_rows(admin.get(url).text)
        action = f"/desk/admin/users/{only}/deactivate?account={sixty.id}&state=active&page=3"
        if htmx:
            shown = admin.htmx("post", action).text
        else:
            response = admin.post(action)
            assert response.status_code == 303
            shown = admin.get(response.headers["Location"]).text
        assert "No users match" not in shown
        assert len(user_rows(shown)) == 25 and only not in user_rows(shown)
        assert "Page 2 of 2 · 50 users" in pager(shown)
        assert set(pager_links(shown)) == {"prev"}


class TestInvite:
    def test_invitation_end_to_end(self, world, admin, make_client, smtp_server):
        form = admin.get(f"/desk/admin/users/invite?account={world.acme.id}")
        assert form.status_code == 200
        assert f'<option selected value="{world.acme.id}">' in form.text

        response = invite(
            admin,
            email="Cleo@Acme.Example",
            name="Cleo Acme",
            role="customer",
            account_id=world.acme.id,
        )
        assert response.status_code == 303
        assert (
            "The invitation to cleo@acme.example goes out within a minute."
            in admin.get(response.headers["Location"]).text
        )
        assert smtp_server.received == []  # nothing inline: the worker sends it

        db.session.rollback()
        cleo = db.session.scalar(select(User).where(User.email == "cleo@acme.example"))
        assert (cleo.name, cleo.role, cleo.account, cleo.password_hash) == (
            "Cleo Acme",
            "customer",
            world.acme,
            None,
        )
        assert cleo.timezone == "Europe/Amsterdam"  # the account's

        mail = deliver(smtp_server).only()
        assert mail.rcpt_tos == ["cleo@acme.example"]
        assert mail.subject == "You are invited to the support portal"
        assert "for Acme Mail" in mail.text and "within 7 days" in mail.text

        newcomer = make_client()
        page = newcomer.get(mail.link_path)
        assert page.status_code == 200 and "cleo@acme.example" in page.text
        accepted = newcomer.post(
            mail.link_path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        )
        assert accepted.status_code == 303
        assert newcomer.get(mail.link_path).status_code == 404  # used up

        cleo_signs_in = newcomer.post(
            "/login", data={"email": "cleo@acme.example", "password": NEW_PASSWORD}
        )
        assert cleo_signs_in.status_code == 303
        assert "Acme Mail" in newcomer.get("/").text

        assert audit_actions() == [("user.invited", f"user {cleo.id} cleo@acme.example")]
        entry = db.session.scalar(select(AuditLog))
        assert entry.actor_id == world.admin.id
        assert entry.details == "role customer, account Acme Mail"

    def test_staff_are_invited_without_an_account(self, world, admin, smtp_server):
        assert (
            invite(
                admin, email="newagent@support.example", name="Nia", role="agent", account_id=""
            ).status_code
            == 303
        )
        db.session.rollback()
        nia = db.session.scalar(select(User).where(User.email == "newagent@support.example"))
        assert (nia.role, nia.account_id) == (Role.AGENT, None)
        assert "for " not in deliver(smtp_server).only().text.split("\n")[2]

    @pytest.mark.parametrize(
        "data, field, message",
        [
            (
                {"role": "customer", "account_id": ""},
                "account_id",
                "Choose the customer's account.",
            ),
            (
                {"role": "agent", "account_id": "{acme}"},
                "account_id",
                "Staff do not belong to a customer account",
            ),
            ({"email": "ANA@acme.example"}, "email", "Someone already has this address."),
            ({"email": "not an address"}, "email", "Invalid email address."),
            ({"email": ""}, "email", "This field is required."),
            ({"name": ""}, "name", "This field is required."),
            ({"name": "x" * 201}, "name", "Field cannot be longer than 200 characters."),
            (
                {"name": "Eve\r\nBcc: victim@elsewhere.example"},
                "name",
                "Use a name without line breaks",
            ),
            ({"role": "superuser"}, "role", "Not a valid choice."),
            ({"account_id": "abc"}, "account_id", "Invalid Choice: could not coerce."),
            ({"account_id": "99999"}, "account_id", "Not a valid choice."),
        ],
    )
    def test_bad_input_is_422_beside_the_field_with_what_was_typed(
        self, world, admin, smtp_server, data, field, message
    ):
        typed = {
            "email": "dora@acme.example",
            "name": "Dora Acme",
            "role": "customer",
            "account_id": str(world.acme.id),
        }
        typed.update({k: v.format(acme=world.acme.id) for k, v in data.items()})
        response = invite(admin, **typed)
        assert response.status_code == 422
        assert any(message in e for e in field_errors(response.text, field)), field_errors(
            response.text, field
        )
        if field != "email" and typed["email"]:
            assert f'value="{typed["email"]}"' in response.text
        if field != "name":
            assert f'value="{typed["name"]}"' in response.text
        assert deliver(smtp_server).received == []
        assert audit_actions() == []
        assert db.session.scalars(select(OutboundMessage)).all() == []

    def test_mail_server_down_keeps_the_user_and_the_mail(self, world, admin, smtp_server):
        # The request never talks to the server; the outbox keeps the invitation until
        # the server is back.
        smtp_server.stop()
        response = invite(
            admin, email="eli@acme.example", name="Eli", role="customer", account_id=world.acme.id
        )
        assert response.status_code == 303
        page = admin.get(response.headers["Location"]).text
        assert "The invitation to eli@acme.example goes out within a minute." in page
        assert "Resend invitation" in page

        done = outbox.send_due()
        assert (done.sent, done.failed, len(done.retrying)) == ([], [], 1)
        db.session.rollback()
        [row] = db.session.scalars(select(OutboundMessage)).all()
        assert (row.to_address, row.status) == ("eli@acme.example", outbox.PENDING)
        assert row.last_error

        smtp_server.start()
        assert outbox.send_due(now=row.next_attempt_at).sent == [row.message_id]
        assert smtp_server.only().rcpt_tos == ["eli@acme.example"]

    def test_own_address_gets_no_invitation_and_the_admin_is_told(self, world, admin, smtp_server):
        response = invite(
            admin, email="support@support.example", name="Shared inbox", role="agent", account_id=""
        )
        assert response.status_code == 303
        page = admin.get(response.headers["Location"]).text
        assert "no invitation was queued" in page and "Resend invitation" in page
        assert deliver(smtp_server).received == []

    def test_resend_invitation(self, world, make, admin, smtp_server):
        pending = make.user(account=world.acme, name="Pat Pending", password_hash=None)
        db.session.commit()
        response = admin.post(f"/desk/admin/users/{pending.id}/resend-invitation")
        assert response.status_code == 303
        assert smtp_server.received == []
        assert deliver(smtp_server).only().rcpt_tos == [pending.email]
        assert audit_actions() == [("user.invitation_resent", f"user {pending.id} {pending.email}")]

    def test_resend_refused_once_the_password_is_set(self, world, admin, smtp_server):
        response = admin.post(f"/desk/admin/users/{world.ana.id}/resend-invitation")
        assert response.status_code == 409
        assert "already chosen a password" in response.text
        assert deliver(smtp_server).received == []


class TestDeactivate:
    def test_deactivate_then_reactivate(self, world, admin, make_client):
        bo = make_client(world.bo)
        response = admin.post(f"/desk/admin/users/{world.bo.id}/deactivate?role=customer")
        assert response.status_code == 303
        assert response.headers["Location"] == "/desk/admin/users?role=customer"
        assert "Bo Globex is deactivated" in admin.get(response.headers["Location"]).text

        assert bo.get("/").status_code == 302  # the open session ended
        assert (
            bo.post("/login", data={"email": world.bo.email, "password": PASSWORD}).status_code
            == 422
        )

        assert admin.post(f"/desk/admin/users/{world.bo.id}/reactivate").status_code == 303
        make_client(world.bo)  # signs in again
        assert audit_actions() == [
            ("user.deactivated", f"user {world.bo.id} bo@globex.example"),
            ("user.reactivated", f"user {world.bo.id} bo@globex.example"),
        ]

    def test_htmx_gets_the_refreshed_list(self, world, admin):
        response = admin.htmx("post", f"/desk/admin/users/{world.bo.id}/deactivate")
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<section id="user-list"')
        assert "Bo Globex is deactivated" in response.text
        assert f'action="/desk/admin/users/{world.bo.id}/reactivate"' in response.text

    def test_admin_cannot_deactivate_themselves(self, world, admin):
        response = admin.post(f"/desk/admin/users/{world.admin.id}/deactivate")
        assert response.status_code == 409
        assert "You cannot deactivate yourself" in response.text
        assert admin.get("/desk/admin/users").status_code == 200
        assert audit_actions() == []

    def test_tam_of_an_account_is_refused_with_the_reason(self, world, admin):
        response = admin.post(f"/desk/admin/users/{world.tam.id}/deactivate")
        assert response.status_code == 409
        assert "Tess TAM is the TAM of Acme Mail. Assign another TAM first." in response.text
        db.session.rollback()
        assert db.session.get(User, world.tam.id).active

    def test_refusal_for_htmx_lands_in_the_alert_region(self, world, admin):
        response = admin.htmx("post", f"/desk/admin/users/{world.tam.id}/deactivate")
        assert response.status_code == 409
        assert response.headers["HX-Retarget"] == "#alerts"

    def test_twice_is_a_conflict_not_a_silent_no_op(self, world, admin):
        admin.post(f"/desk/admin/users/{world.bo.id}/deactivate")
        assert admin.post(f"/desk/admin/users/{world.bo.id}/deactivate").status_code == 409
        assert admin.post(f"/desk/admin/users/{world.ana.id}/reactivate").status_code == 409

    def test_unknown_user_is_404(self, world, admin):
        assert admin.post("/desk/admin/users/99999/deactivate").status_code == 404

    def test_needs_the_csrf_token(self, world, admin):
        response = admin.post(f"/desk/admin/users/{world.bo.id}/deactivate", csrf=False)
        assert response.status_code == 400
        db.session.rollback()
        assert db.session.get(User, world.bo.id).active

    def test_get_changes_nothing(self, world, admin):
        assert admin.get(f"/desk/admin/users/{world.bo.id}/deactivate").status_code == 405


class TestTamAssignment:
    def test_accounts_list_their_tam(self, world, admin):
        page = admin.get("/desk/admin/accounts").text
        acme_row = page.split(f'id="account-{world.acme.id}"')[1].split("</tr>")[0]
        globex_row = page.split(f'id="account-{world.globex.id}"')[1].split("</tr>")[0]
        assert "Tess TAM" in acme_row
        assert "No TAM" in globex_row

    def test_admin_sets_and_clears_a_tam(self, world, make, admin):
        url = f"/desk/admin/accounts/{world.globex.id}/tam"
        form = admin.get(url)
        assert form.status_code == 200 and "Tess TAM" in form.text
        assert "Aidan Agent" not in form.text  # only TAMs are offered

        response = admin.post(url, data={"tam_id": world.tam.id})
        assert response.status_code == 303
        assert (
            "The TAM of Globex Retail is now Tess TAM."
            in admin.get(response.headers["Location"]).text
        )
        db.session.rollback()
        assert db.session.get(Account, world.globex.id).tam_id == world.tam.id

        admin.post(url, data={"tam_id": world.tam.id})  # no change, no audit row
        admin.post(url, data={"tam_id": ""})
        db.session.rollback()
        assert db.session.get(Account, world.globex.id).tam_id is None
        assert audit_actions() == [
            ("account.tam_changed", f"account {world.globex.id} Globex Retail"),
            ("account.tam_changed", f"account {world.globex.id} Globex Retail"),
        ]
        details = [e.details for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
        assert details == ["TAM none -> Tess TAM", "TAM Tess TAM -> none"]

    @pytest.mark.parametrize("value", ["{agent}", "99999", "abc"])
    def test_only_an_active_tam_can_be_chosen(self, world, admin, value):
        url = f"/desk/admin/accounts/{world.globex.id}/tam"
        response = admin.post(url, data={"tam_id": value.format(agent=world.agent.id)})
        assert response.status_code == 422
        assert field_errors(response.text, "tam_id")
        db.session.rollback()
        assert db.session.get(Account, world.globex.id).tam_id is None

    def test_unknown_account_is_404(self, world, admin):
        assert admin.get("/desk/admin/accounts/99999/tam").status_code == 404


def test_audit_page_shows_who_did_what(world, admin):
    admin.post(f"/desk/admin/users/{world.bo.id}/deactivate")
    page = admin.get("/desk/admin/audit").text
    assert "user.deactivated" in page
    assert "Ada Admin" in page
    assert "bo@globex.example" in page
