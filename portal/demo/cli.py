import click
from flask.cli import AppGroup

demo = AppGroup("demo", help="Demo and benchmark data.")


@demo.command("load")
def load():
    """Load the demo accounts, users, cases and articles (idempotent)."""
    from portal.demo.data import load_demo

    click.echo(load_demo())


@demo.command("generate")
@click.option("--cases", type=click.IntRange(min=0), default=1_000, show_default=True)
@click.option("--events-per-case", type=click.IntRange(min=1), default=10, show_default=True)
@click.option(
    "--accounts",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="New accounts the cases are spread over (3 customer users each).",
)
@click.option("--seed", type=int, default=None, help="Make the generated content repeatable.")
def generate_command(cases, events_per_case, accounts, seed):
    """Add bulk benchmark data: accounts, users, cases and their events."""
    from portal.demo.generate import generate

    click.echo(generate(cases, events_per_case, accounts=accounts, seed=seed))
