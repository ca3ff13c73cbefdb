"""The support portal: ``create_app`` builds it from small register steps."""

from __future__ import annotations

import hmac
from pathlib import Path

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

from portal.config import ROOT, Config


def create_app(config: type[Config] | None = None, **overrides) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str((config or Config).INSTANCE_DIR),
    )
    app.config.from_object(config or Config)
    app.config.update(overrides)
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    register_extensions(app)
    register_blueprints(app)
    register_templating(app)
    register_security(app)
    register_cli(app)
    from portal.errors import register_errors

    register_errors(app)
    return app


def register_extensions(app: Flask) -> None:
    import portal.models  # noqa: F401  (every table in the metadata)
    from portal.database import configure_sqlite
    from portal.extensions import csrf, db, htmx, limiter, login_manager, mail, migrate
    from portal.inputs import PortalRequest

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A file connection cannot go stale: the ping before every checkout (a
        # SELECT 1, there for a server that drops idle connections) only costs.
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "pool_pre_ping": False}
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    app.request_class = PortalRequest  # htmx's request, without NUL in args and form
    mail.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)

    from sqlalchemy import bindparam, select
    from sqlalchemy.orm.attributes import set_committed_value

    from portal.accounts.models import Account, User

    # With the account: every customer page names it in the header. Built once, and
    # the two loaded side by side rather than by joinedload: this runs on every
    # request, and the eager loader's set-up was a third of it.
    signed_in_user = (
        select(User, Account).outerjoin(User.account).where(User.id == bindparam("user_id"))
    )

    @login_manager.user_loader
    def load_user(login_id: str) -> User | None:
        user_id, _, fingerprint = login_id.partition(".")
        if not user_id.isdigit():
            return None
        row = db.session.execute(signed_in_user, {"user_id": int(user_id)}).first()
        if row is None:
            return None
        user, account = row
        set_committed_value(user, "account", account)
        if not hmac.compare_digest(user.login_fingerprint, fingerprint):
            return None
        return user


def register_blueprints(app: Flask) -> None:
    from portal.inputs import DbIntConverter

    app.url_map.converters["int"] = DbIntConverter  # before any route is added
    from portal.admin.views import bp as admin
    from portal.auth.views import bp as auth
    from portal.cases.views import bp as cases
    from portal.clocks.views import bp as clocks
    from portal.desk.views import bp as desk
    from portal.kb.desk import bp as kb_desk
    from portal.kb.views import bp as kb
    from portal.mail.quarantine_views import bp as quarantine
    from portal.mail.views import bp as mail
    from portal.main.views import bp as main
    from portal.planner.views import bp as planner
    from portal.tam.views import bp as tam

    for blueprint in (main, auth, cases, desk, kb, kb_desk, quarantine, clocks, mail, admin, planner, tam):
        app.register_blueprint(blueprint)


def register_templating(app: Flask) -> None:
    from portal import templating

    templating.init_app(app)


class PortalSessionInterface(SecureCookieSessionInterface):
    """Leaves the session alone on routes marked ``session_free`` (health checks):
    without this, Flask-Login reads the session after every response, which adds
    ``Vary: Cookie`` and can refresh cookies on a load balancer's probe."""

    def save_session(self, app, session, response):
        if getattr(app.view_functions.get(request.endpoint), "session_free", False):
            return
        super().save_session(app, session, response)


def register_security(app: Flask) -> None:
    app.session_interface = PortalSessionInterface()

    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def register_cli(app: Flask) -> None:
    from portal.demo.cli import demo
    from portal.mail.inbound_cli import inbound_ingest, inbound_smtp
    from portal.tasks import worker_command

    app.cli.add_command(demo)
    app.cli.add_command(worker_command)
    app.cli.add_command(inbound_smtp)
    app.cli.add_command(inbound_ingest)
