"""Domain exceptions and the one place that turns errors into responses."""

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from portal.extensions import db


class DomainError(Exception):
    status = 400

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class PermissionDenied(DomainError):
    """The person may not do this to this case (they can see it)."""

    status = 403


class Conflict(DomainError):
    """The case is not in a state where this can happen."""

    status = 409


class NotFound(DomainError):
    status = 404


def _error_page(status: int, title: str, reason: str):
    if request.htmx and not request.htmx.boosted:
        # Shown in the page's alert region rather than replacing the target.
        body = render_template("errors/_alert.html", title=title, reason=reason)
        return body, status, {"HX-Retarget": "#alerts", "HX-Reswap": "innerHTML"}
    return render_template("errors/error.html", status=status, title=title, reason=reason), status


def register_errors(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        titles = {403: "Not allowed", 404: "Not found", 409: "Not possible right now"}
        return _error_page(error.status, titles.get(error.status, "Error"), error.reason)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return _error_page(error.code or 500, error.name, error.description or "")

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return _error_page(500, "Something went wrong", "The error was logged. Nothing you typed was saved twice; please try again.")
