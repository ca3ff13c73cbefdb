"""Background jobs on Huey: SQLite storage under instance/ by default, Redis when
PORTAL_REDIS_URL is set. Feature modules register periodic tasks with ``periodic``;
``flask worker`` runs them. Each task runs inside an app context of its own."""

from __future__ import annotations

import functools
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from huey import RedisHuey, SqliteHuey, crontab

from portal.config import Config

# Modules whose import registers tasks; the worker imports them all.
TASK_MODULES: list[str] = ["portal.clocks.tasks", "portal.mail.tasks"]


def _make_huey():
    url = Config.REDIS_URL
    if url:
        return RedisHuey("portal", url=url)
    Path(Config.INSTANCE_DIR).mkdir(parents=True, exist_ok=True)
    return SqliteHuey("portal", filename=str(Path(Config.INSTANCE_DIR) / "huey.sqlite3"))


huey = _make_huey()
_app: Flask | None = None


def _worker_app() -> Flask:
    global _app
    if _app is None:
        from portal import create_app

        _app = create_app()
    return _app


def in_app_context(func):
    """Run the task in an app context (the worker's own app, or the current one)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            app = current_app._get_current_object()
        except RuntimeError:
            app = _worker_app()
        with app.app_context():
            return func(*args, **kwargs)

    return wrapper


def periodic(schedule=None, name: str | None = None):
    """Register ``func`` to run on ``schedule`` (every minute by default)."""

    def decorate(func):
        task = huey.periodic_task(schedule or crontab(minute="*"), name=name or func.__name__)
        return task(in_app_context(func))

    return decorate


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Threads running tasks.")
@with_appcontext
def worker_command(workers: int) -> None:
    """Run the background worker: clock sweeps, the outbox, and other periodic jobs."""
    import importlib

    for module in TASK_MODULES:
        importlib.import_module(module)
    global _app
    _app = current_app._get_current_object()
    click.echo(f"worker: {len(huey._registry._registry)} tasks, storage {type(huey).__name__}")
    huey.create_consumer(workers=workers, worker_type="thread", periodic=True).run()
