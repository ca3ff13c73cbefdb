import click
from flask.cli import AppGroup

demo = AppGroup("demo", help="Demo and benchmark data.")


@demo.command("load")
def load():
    """Load the demo accounts, users, cases and articles (idempotent)."""
    from portal.demo.data import load_demo

    click.echo(load_demo())
