"""Many people replying to one case at once, through a real threaded server:
every reply stored, none refused with "database is locked"."""

import re
import threading
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal.cases.models import CaseEvent, EventKind
from portal.extensions import db
from tests.conftest import PASSWORD


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


class Browser:
    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.token = None

    def get(self, path):
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.status, response.read().decode()

    def post(self, path, data):
        body = urllib.parse.urlencode({**data, "csrf_token": self.token}).encode()
        request = urllib.request.Request(self.base + path, data=body, method="POST")
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def login(self, email):
        _, page = self.get("/login")
        self.token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert self.post("/login", {"email": email, "password": PASSWORD}) == 200  # redirect followed
        _, page = self.get("/kb")
        self.token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)


def test_concurrent_replies_are_all_stored(world, make, live_server):
    case = make.case(world.ana)
    url = f"/cases/{case.reference}/replies"
    emails = [world.ana.email, world.agent.email, world.admin.email, world.tam.email]
    browsers = []
    for email in emails:
        browser = Browser(live_server)
        browser.login(email)
        browsers.append(browser)

    def send(i):
        return browsers[i % len(browsers)].post(url, {"body": f"reply {i}"})

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(send, range(80)))
    assert statuses == [200] * 80  # 303 followed to the case page
    db.session.rollback()  # end the snapshot taken before the replies
    stored = db.session.scalar(
        select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.COMMENT)
    )
    assert stored == 80
