"""Who hears what: a receiver of ``event_added`` turns case events into outbox rows,
inside the transaction that wrote the event.

- Customers on the case (the requester, every customer of the account who has
  written on it, and those who chose to follow all of their account's cases) hear
  Support's replies and updates, requests for information, resolutions Support
  proposes, answers to resolutions they proposed, and status changes.
- The assignee and the account's TAM hear customer replies, resolutions the
  customer proposes, and the customer's accept or dispute. A staff member hears
  when someone else assigns them a case.
- A new critical case goes at once to every on-duty agent (and admin) and to the
  account's TAM.
- Internal events never produce mail; nobody gets mail about their own action;
  each person gets at most one message per case per transaction (a reply that
  also moves the status is one mail, not two): the first event of an action
  speaks for it, also when its topic is one the person turned off.

Preferences live in ``User.notification_prefs`` as ``{topic: bool}``; a missing
topic means on, except ``follow_account``, which is off until chosen.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app, render_template
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.cases.models import STATUS_LABELS, Case, CaseEvent, EventKind, Kind, Status
from portal.cases.presenters import speaker
from portal.cases.services import event_added
from portal.extensions import db
from portal.mail.outbox import case_subject, queue_message
from portal.markdown import render_message

# Put at the top of every notification so a mail reply can be cut at it.
REPLY_MARKER = "-- Reply above this line to answer on the case --"
FOLLOW_ACCOUNT = "follow_account"


@dataclass(frozen=True)
class Topic:
    key: str
    customer_label: str | None  # None: customers never get this topic
    staff_label: str | None

    def label_for(self, user: User) -> str | None:
        return self.staff_label if user.is_staff else self.customer_label


TOPICS = (
    Topic("agent_reply", "Support replies on a case or posts an update", None),
    Topic("information_requested", "Support asks you for information", None),
    Topic("status_changed", "A case changes status", None),
    Topic(
        "resolution_proposed",
        "Support proposes a resolution",
        "A customer proposes a resolution on a case you own or manage",
    ),
    Topic(
        "resolution_answered",
        "Support accepts or disputes a resolution you proposed",
        "A customer accepts or disputes a proposed resolution",
    ),
    Topic("customer_reply", None, "A customer replies on a case you own or manage"),
    Topic("assigned", None, "Someone assigns a case to you"),
    Topic(
        "critical_opened",
        None,
        "A critical (Severity 1) case is opened while you are on duty, or for an account you manage",
    ),
)
TOPIC_KEYS = {t.key for t in TOPICS}


def topics_for(user: User) -> list[Topic]:
    return [t for t in TOPICS if t.label_for(user)]


def wants(user: User, key: str) -> bool:
    prefs = user.notification_prefs or {}
    return bool(prefs.get(key, key != FOLLOW_ACCOUNT))


def set_preferences(user: User, chosen: dict[str, bool]) -> None:
    """Keep only the keys this person can receive; assign a new dict so the JSON
    column sees the change."""
    allowed = {t.key for t in topics_for(user)} | ({FOLLOW_ACCOUNT} if user.is_customer else set())
    prefs = dict(user.notification_prefs or {})
    prefs.update({k: bool(v) for k, v in chosen.items() if k in allowed})
    user.notification_prefs = prefs


_muted: ContextVar[bool] = ContextVar("mail_muted", default=False)


@contextmanager
def muted() -> Iterator[None]:
    """Write no notifications inside this block (demo data, imports, backfills)."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


# Who is on a case --------------------------------------------------------


def customers_on(case: Case) -> list[User]:
    writers = select(CaseEvent.author_id).where(
        CaseEvent.case_id == case.id, CaseEvent.internal.is_(False)
    )
    people = db.session.scalars(
        select(User).where(
            User.account_id == case.account_id,
            User.role == Role.CUSTOMER,
            User.active.is_(True),
        )
    ).all()
    wrote = set(db.session.scalars(writers.distinct()))
    return [
        u for u in people if u.id == case.requester_id or u.id in wrote or wants(u, FOLLOW_ACCOUNT)
    ]


def staff_on(case: Case) -> list[User]:
    return [u for u in (case.assignee, case.account.tam) if u is not None]


def on_duty(case: Case) -> list[User]:
    agents = db.session.scalars(
        select(User).where(
            User.role.in_((Role.AGENT, Role.ADMIN)),
            User.on_duty.is_(True),
            User.active.is_(True),
        )
    ).all()
    return [*agents, *([case.account.tam] if case.account.tam else [])]


def audience(case: Case, event: CaseEvent) -> list[tuple[str, list[User]]]:
    """[(topic, people)] for one event, before preferences and the author are applied."""
    author = event.author
    kind = event.kind
    if event.internal:
        return []
    if kind == EventKind.CREATED:
        return [("critical_opened", on_duty(case))] if case.kind == Kind.CRITICAL else []
    if author is None:
        return []
    other_side = staff_on(case) if author.is_customer else customers_on(case)
    if kind in (EventKind.COMMENT, EventKind.UPDATE_POSTED, EventKind.MAIL_RECEIVED):
        topic = "customer_reply" if author.is_customer else "agent_reply"
        return [(topic, other_side)]
    if kind == EventKind.INFORMATION_REQUESTED:
        return [("information_requested", customers_on(case))]
    if kind == EventKind.RESOLUTION_PROPOSED:
        return [("resolution_proposed", other_side)]
    if kind in (EventKind.RESOLUTION_ACCEPTED, EventKind.RESOLUTION_DISPUTED):
        return [("resolution_answered", other_side)]
    if kind == EventKind.STATUS_CHANGED:
        return [("status_changed", customers_on(case))]
    if kind == EventKind.ASSIGNED and case.assignee is not None:
        return [("assigned", [case.assignee])]
    return []


def _notified_in_transaction() -> set[tuple[int, int]]:
    """(case id, user id) already written in this transaction; a new transaction
    starts a new set."""
    session = db.session()
    transaction = session.get_transaction()
    memo = session.info.get("mail.notified")
    if memo is None or memo[0] is not transaction:
        memo = (transaction, set())
        session.info["mail.notified"] = memo
    return memo[1]


@event_added.connect
def on_event_added(case: Case, event: CaseEvent, **_) -> None:
    if _muted.get():
        return
    plans = audience(case, event)
    if not plans:
        return
    done = _notified_in_transaction()
    for topic, people in plans:
        for user in people:
            if user.id == event.author_id or (case.id, user.id) in done:
                continue
            # Spoken for even when they chose not to hear it: the status move that
            # follows a reply they opted out of must not reach them instead.
            done.add((case.id, user.id))
            if user.active and wants(user, topic):
                notify(case, event, user, topic)


# What they read --------------------------------------------------------------


def absolute_url(endpoint: str, **values) -> str:
    """From PUBLIC_URL (or SERVER_NAME), never from the request that caused the
    mail: its Host header is whatever the person who acted sent."""
    config = current_app.config
    base = config.get("PUBLIC_URL") or (
        f"{config['PREFERRED_URL_SCHEME']}://{config['SERVER_NAME']}"
        if config.get("SERVER_NAME")
        else "http://localhost"
    )
    parts = urlsplit(base.rstrip("/"))
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


def notify(case: Case, event: CaseEvent, user: User, topic: str):
    name, role = speaker(event, case, user)
    context = {
        "case": case,
        "event": event,
        "recipient": user,
        "topic": topic,
        "who": name if event.author is None else f"{name} ({role})",
        "body_html": render_message(event.body),
        "status_labels": STATUS_LABELS,
        "link": absolute_url(
            "desk.case" if user.is_staff else "cases.detail", reference=case.reference
        ),
        "preferences_link": absolute_url("mail.preferences"),
        "reply_marker": REPLY_MARKER,
        "Status": Status,
    }
    return queue_message(
        to=user.email,
        subject=case_subject(case),
        body_text=render_template(f"email/case_{topic}.txt", **context),
        body_html=render_template(f"email/case_{topic}.html", **context),
        case=case,
        event=event,
        recipient=user,
        # Automatic means no words of a person to relay: those count against the
        # per-recipient hourly limit; a relayed reply never does.
        automatic=not event.body.strip(),
    )
