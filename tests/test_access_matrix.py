"""Every page and fragment of the spine, for every kind of person: who gets the
page, who is sent to sign in, and who meets a 404 (never a 403 that would
confirm another account's case exists)."""

import pytest

from portal.cases import services
from portal.cases.models import Kind
from portal.extensions import db

PEOPLE = ["anonymous", "ana", "bo", "agent", "tam", "admin"]

# url template -> expected status for each person, in PEOPLE order.
# 302 = to the login page (anonymous) or on to where that person works.
MATRIX = {
    "/healthz": (200, 200, 200, 200, 200, 200),
    "/hotline": (200, 200, 200, 200, 200, 200),
    "/kb": (200, 200, 200, 200, 200, 200),
    "/login": (200, 302, 302, 302, 302, 302),
    "/": (302, 200, 200, 302, 302, 302),
    "/cases": (302, 200, 200, 200, 200, 200),
    "/cases/new": (302, 200, 200, 303, 303, 303),
    "/cases/new?kind=critical": (302, 200, 200, 303, 303, 303),
    "/cases/{acme}": (302, 200, 404, 302, 302, 302),
    "/cases/{acme}/timeline?after=0": (302, 200, 404, 200, 200, 200),
    "/cases/{globex}": (302, 404, 200, 302, 404, 302),
    "/cases/{globex}/timeline?after=0": (302, 404, 200, 200, 404, 200),
    "/cases/{acme}/attachments/{attachment}/log.txt": (302, 200, 404, 200, 200, 200),
    "/desk": (302, 404, 404, 200, 200, 200),
    "/desk/cases/{acme}": (302, 404, 404, 200, 200, 200),
    "/desk/cases/{globex}": (302, 404, 404, 200, 404, 200),
}


@pytest.fixture
def scene(world, make):
    acme = make.case(world.ana, Kind.BUG, subject="Acme bounce spike")
    event = services.reply(acme, world.ana, "log", [services.NewFile("log.txt", "text/plain", b"x")])
    globex = make.case(world.bo, Kind.CRITICAL, subject="Globex SMTP down")
    db.session.commit()
    return {"acme": acme.reference, "globex": globex.reference, "attachment": event.attachments[0].id}


@pytest.mark.parametrize("url", list(MATRIX))
def test_access_matrix(world, scene, make_client, url):
    path = url.format(**scene)
    for person, expected in zip(PEOPLE, MATRIX[url], strict=True):
        client = make_client(None if person == "anonymous" else getattr(world, person))
        with client.get(path) as response:
            assert response.status_code == expected, (person, path, response.status_code)
            if person == "anonymous" and expected == 302:
                assert "/login" in response.headers["Location"]
