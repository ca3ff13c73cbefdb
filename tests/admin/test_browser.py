"""The administrator's pages in headless Chromium: the htmx swap of the user list,
the invitation form's errors, and screenshots to look at."""

import pytest

from tests.auth.helpers import deliver
from tests.browser.conftest import _sqlite_only  # noqa: F401  (autouse here too)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, email):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/desk**")


def test_admin_deactivates_in_place_and_invites(world, new_page, problems, screenshot, smtp_server):
    page = new_page("admin")
    sign_in(page, world.admin.email)
    page.get_by_role("link", name="Users").click()
    page.wait_for_url("**/desk/admin/users")
    screenshot(page, "admin-users")

    # At a phone's width each user is a card of "Label: value" lines: nothing scrolls
    # sideways, the name leads without a label, the other cells carry theirs.
    page.set_viewport_size({"width": 390, "height": 900})
    assert page.evaluate(
        """() => [document.querySelector('#user-list'), ...document.querySelectorAll('#user-list .table-scroll')]
            .every(e => e.scrollWidth <= e.clientWidth && e.getBoundingClientRect().right <= innerWidth)"""
    )
    assert not page.locator("#user-list table.admin-users thead").first.is_visible()

    def before(cell):
        return page.locator(f"#user-list td[data-label='{cell}']").first.evaluate(
            "td => getComputedStyle(td, '::before').content"
        )

    assert before("Email") == '"Email: "'
    assert before("Name") == "none"
    page.set_viewport_size({"width": 1280, "height": 900})
    assert page.locator("#user-list table.admin-users thead").first.is_visible()
    assert before("Email") == "none"

    page.evaluate("window.__sameDocument = true")
    page.get_by_role("button", name="Deactivate Bo Globex").click()
    page.get_by_text("Bo Globex is deactivated").wait_for()
    assert page.get_by_role("button", name="Reactivate Bo Globex").is_visible()
    assert page.evaluate("window.__sameDocument") is True  # swapped by htmx, no reload

    page.get_by_role("link", name="Invite a user").first.click()
    page.get_by_label("Email").fill("cleo@acme.example")
    page.get_by_label("Name").fill("Cleo Acme")
    with problems.allowing("422"):
        page.get_by_role("button", name="Send the invitation").click()
        page.get_by_text("Choose the customer's account.").wait_for()
    assert page.get_by_label("Email").input_value() == "cleo@acme.example"
    screenshot(page, "admin-invite-errors")

    page.get_by_label("Account").select_option(label="Acme Mail")
    page.get_by_role("button", name="Send the invitation").click()
    page.get_by_text("The invitation to cleo@acme.example goes out within a minute.").wait_for()
    assert smtp_server.received == []  # the worker sends it, not the request
    assert deliver(smtp_server).only().rcpt_tos == ["cleo@acme.example"]

    page.get_by_role("link", name="Accounts and TAMs").click()
    page.get_by_role("link", name="Change TAM of Globex Retail").click()
    page.get_by_label("Technical account manager").select_option(
        label="Tess TAM (tam@support.example)"
    )
    page.get_by_role("button", name="Save").click()
    page.get_by_text("The TAM of Globex Retail is now Tess TAM.").wait_for()
    screenshot(page, "admin-accounts")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_text("account.tam_changed").wait_for()
    screenshot(page, "admin-audit")
    assert problems.items == []
