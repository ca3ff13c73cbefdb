from wtforms import BooleanField

from portal.accounts.models import User
from portal.forms import PortalForm
from portal.mail.notify import FOLLOW_ACCOUNT, topics_for, wants


class PreferencesForm(PortalForm):
    """One checkbox per kind of mail this person can receive (see ``for_user``)."""

    @classmethod
    def for_user(cls, user: User, **kwargs) -> "PreferencesForm":
        fields = {
            t.key: BooleanField(t.label_for(user), id=f"pref-{t.key}") for t in topics_for(user)
        }
        if user.is_customer:
            fields[FOLLOW_ACCOUNT] = BooleanField(
                f"Every case of {user.account.name if user.account else 'my account'}, "
                "not only those I opened or wrote on",
                id=f"pref-{FOLLOW_ACCOUNT}",
            )
        form_class = type("UserPreferencesForm", (cls,), fields)
        if kwargs.get("formdata", True) is None:
            kwargs.setdefault("data", {key: wants(user, key) for key in fields})
        return form_class(**kwargs)

    def topic_fields(self) -> list:
        return [f for f in self if f.name not in ("csrf_token", FOLLOW_ACCOUNT)]

    def chosen(self) -> dict[str, bool]:
        return {f.name: bool(f.data) for f in self if f.name != "csrf_token"}
