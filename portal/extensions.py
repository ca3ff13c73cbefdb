"""Every extension, created without an app so that any module may import them."""

from flask import Blueprint
from flask_limiter import Limiter
from flask_limiter.constants import ConfigVars
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from portal.database import include_object

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ViewLimiter(Limiter):
    """Flask-Limiter for limits on views only (``@limiter.limit``: sign-in, password
    reset, opening a case). A decorated view checks its own limit when it is called;
    the check the extension also runs before every request of the app is there for
    default, application and blueprint limits, which the portal has none of, and it
    cost 50 us on every request (a sixth of a timeline poll). So it is skipped, and
    configuring such limits is refused rather than silently ignored."""

    def init_app(self, app) -> None:
        every_request = (ConfigVars.DEFAULT_LIMITS, ConfigVars.APPLICATION_LIMITS)
        if any(app.config.get(name) for name in every_request) or (
            self.limit_manager.default_limits or self.limit_manager.application_limits
        ):
            raise RuntimeError("ViewLimiter applies limits on views only: put the limit on the views")
        super().init_app(app)

    def limit(self, *args, **kwargs):
        """``Limiter.limit`` for views; a limit on a whole blueprint is refused."""
        decorator = super().limit(*args, **kwargs)

        def apply(view):
            if isinstance(view, Blueprint):
                raise TypeError("ViewLimiter applies limits on views only: put the limit on the views")
            return decorator(view)

        return apply

    def _check_request_limit(self, callable_name=None, in_middleware=True) -> None:
        if not in_middleware:  # from a decorated view
            super()._check_request_limit(callable_name=callable_name, in_middleware=False)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True, include_object=include_object)
login_manager = LoginManager()
mail = Mail()
csrf = CSRFProtect()
htmx = Htmx()
limiter = ViewLimiter(key_func=get_remote_address, default_limits=[])
