"""Fixtures: the app on a migrated database (SQLite always; PostgreSQL too when
PORTAL_TEST_DATABASE_URL is set), clients that sign in and carry CSRF tokens,
and factories that build accounts, users and cases through the services."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.accounts.models import Account, Role, User
from portal.auth.passwords import hash_password
from portal.cases import services
from portal.cases.models import Kind
from portal.config import TestConfig, database_url
from portal.extensions import db

# One Chromium and live-server fixtures for browser tests, and one SMTP server, in
# any directory.
pytest_plugins = ["tests.browser_support", "tests.smtp_support"]

PASSWORD = "correct horse battery"
_PASSWORD_HASH = hash_password(PASSWORD)

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("PORTAL_TEST_DATABASE_URL") else [])


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=instance)
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(request, tmp_path_factory):
    """A database upgraded to head once per backend, dropped at the end."""
    instance = tmp_path_factory.mktemp("instance")
    if request.param == "sqlite":
        url = f"sqlite:///{instance / 'test.sqlite3'}"
        _migrate(url, instance)
        yield url
        return
    server = database_url(os.environ["PORTAL_TEST_DATABASE_URL"])
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    _migrate(url, instance)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        db.session.execute(Account.__table__.update().values(tam_id=None))
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def app(database, tmp_path):
    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=database,
        INSTANCE_DIR=tmp_path,
        UPLOAD_DIR=tmp_path / "attachments",
    )
    app.test_client_class = PortalClient
    with app.app_context():
        yield app
        db.session.remove()
        _empty_all_tables()
        db.session.remove()
        db.engine.dispose()


class PortalClient(FlaskClient):
    """The Flask test client plus sign-in and CSRF tokens, as a browser has them.

    Each request runs in an app context of its own, as in production: otherwise
    it would share the test's ``g`` (cached user, CSRF token) and database session.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._token: str | None = None

    @property
    def raw(self) -> PortalClient:
        return self

    def open(self, *args, **kwargs):
        # End the test's own transaction around the request, as separate
        # processes would: it may neither hold a lock nor read a stale snapshot.
        db.session.commit()
        try:
            with self.application.app_context():
                return super().open(*args, **kwargs)
        finally:
            db.session.commit()

    def login(self, user: User, password: str = PASSWORD):
        response = self.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 303, response.text
        self._token = None
        return response

    def csrf_token(self) -> str:
        if self._token is None:
            page = self.get("/kb").text
            self._token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
        return self._token

    def post(self, *args, data=None, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            data["csrf_token"] = self.csrf_token()
        return super().post(*args, data=data, **kwargs)

    def htmx(self, method: str, url: str, **kwargs):
        headers = {"HX-Request": "true", **kwargs.pop("headers", {})}
        return getattr(self, method)(url, headers=headers, **kwargs)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_client(app):
    """A fresh client per person, for scenarios with several people at once."""

    def factory(user: User | None = None) -> PortalClient:
        c = app.test_client()
        if user is not None:
            c.login(user)
        return c

    return factory


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Factory:
    def __init__(self):
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def account(self, name: str | None = None, tam: User | None = None, **kw) -> Account:
        account = Account(name=name or f"Account {self._next()}", tam=tam, **kw)
        db.session.add(account)
        db.session.flush()
        return account

    def user(self, role: Role = Role.CUSTOMER, account: Account | None = None, **kw) -> User:
        n = self._next()
        kw.setdefault("email", f"{role}{n}@example.com")
        kw.setdefault("name", f"{str(role).title()} {n}")
        kw.setdefault("password_hash", _PASSWORD_HASH)
        user = User(role=role, account=account, **kw)
        db.session.add(user)
        db.session.flush()
        return user

    def case(
        self,
        requester: User,
        kind: Kind = Kind.BUG,
        subject: str = "Webhook batches arrive twice",
        description: str = "Since Monday every batch arrives twice.",
        **details,
    ):
        case = services.open_case(requester, kind, subject, description, details)
        db.session.commit()
        return case


@pytest.fixture
def make(app):
    return Factory()


@pytest.fixture
def world(make):
    """The two-account world most scenarios need."""
    tam = make.user(Role.TAM, name="Tess TAM", email="tam@support.example", phone="+31 20 555 0101")
    agent = make.user(Role.AGENT, name="Aidan Agent", email="agent@support.example")
    admin = make.user(Role.ADMIN, name="Ada Admin", email="admin@support.example")
    acme = make.account("Acme Mail", tam=tam, timezone="Europe/Amsterdam")
    globex = make.account("Globex Retail", timezone="Asia/Jakarta")
    ana = make.user(Role.CUSTOMER, acme, name="Ana Acme", email="ana@acme.example")
    bo = make.user(Role.CUSTOMER, globex, name="Bo Globex", email="bo@globex.example")
    db.session.commit()

    class World:
        pass

    w = World()
    w.__dict__.update(tam=tam, agent=agent, admin=admin, acme=acme, globex=globex, ana=ana, bo=bo)
    return w
