from flask_wtf import FlaskForm
from wtforms import SelectChoice


class EmptyForm(FlaskForm):
    """A POST-only button that still carries the CSRF token."""


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]
