from flask_wtf import FlaskForm
from wtforms import SelectChoice

from portal.inputs import drop_nul


class PortalForm(FlaskForm):
    """The base of every form of the portal: each field drops NUL from its text
    before its own filters and validators run (see portal.inputs)."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = [drop_nul, *unbound_field.kwargs.get("filters", ())]
            return unbound_field.bind(form=form, filters=filters, **options)


class EmptyForm(PortalForm):
    """A POST-only button that still carries the CSRF token."""


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]
