"""Alembic runs inside the Flask app, so the schema comes from the models'
metadata and the URL from the app's configuration."""

from alembic import context
from flask import current_app

db = current_app.extensions["migrate"].db
options = current_app.extensions["migrate"].configure_args


def run_offline() -> None:
    context.configure(
        url=db.engine.url.render_as_string(hide_password=False),
        target_metadata=db.metadata,
        literal_binds=True,
        **options,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    def skip_empty(ctx, revision, directives):
        if getattr(ctx.config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []

    with db.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=db.metadata,
            process_revision_directives=skip_empty,
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
