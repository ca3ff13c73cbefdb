"""The outbox: every notification is a row written in the transaction of the event
that caused it, and the worker sends due rows through Flask-Mail.

Writing (``queue_message``) happens inside the caller's transaction and only
flushes. It chooses the Message-ID, so a resend after a crash reuses it, and the
threading headers, so a case's mail forms one thread in the recipient's client.

Sending (``send_due``) runs in the worker, one row at a time:

1. **Claim.** ``UPDATE ... SET attempts = attempts + 1, next_attempt_at = now + lease
   WHERE id = ? AND status = 'pending' AND attempts = <as read> AND next_attempt_at <= now``
   and commit. ``attempts`` is the row's version: of two workers that read the same
   row, only the first update matches, the other sees rowcount 0 and moves on.
   ``next_attempt_at`` doubles as the lease, so no column is needed for it: a worker
   that dies after claiming leaves the row pending, due again when the lease ends,
   and the resend carries the same Message-ID.
2. **Send** with Flask-Mail's ``Connection.send`` (one SMTP connection per round),
   which refuses CR/LF in the subject and addresses; the headers added here are
   checked the same way.
3. **Record** ``sent`` with ``sent_at``, or the error with the next attempt after an
   exponential back-off; after ``OUTBOX_MAX_ATTEMPTS`` (or at once for an error
   that cannot heal, such as a 5xx refusal or a header with CR/LF) the row is
   ``failed`` and waits for staff to retry it.

Statuses: ``pending`` (due at ``next_attempt_at``), ``sent``, ``failed``, and
``suppressed`` (an automatic message over the hourly per-recipient limit, kept so
staff can see it was not sent).
"""

from __future__ import annotations

import smtplib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr

from flask import current_app
from flask_mail import BadHeaderError, Connection, Message
from sqlalchemy import func, select, update

from portal.accounts.models import User
from portal.cases.models import Case, CaseEvent, EventKind
from portal.database import immediate
from portal.extensions import db
from portal.mail.models import OutboundMessage
from portal.timeutil import utcnow

PENDING, SENT, FAILED, SUPPRESSED = "pending", "sent", "failed", "suppressed"


# Writing -------------------------------------------------------------------


def support_domain() -> str:
    return parseaddr(current_app.config["SUPPORT_ADDRESS"])[1].rpartition("@")[2] or "localhost"


def new_message_id() -> str:
    return f"<{uuid.uuid4().hex}@{support_domain()}>"


def own_addresses() -> set[str]:
    config = current_app.config
    addresses = {parseaddr(config["SUPPORT_ADDRESS"])[1]}
    sender = config.get("MAIL_DEFAULT_SENDER")
    if isinstance(sender, tuple):
        sender = sender[1]
    if sender:
        addresses.add(parseaddr(sender)[1])
    addresses.update(config.get("MAIL_OWN_ADDRESSES", ()))
    return {a.lower() for a in addresses if a}


def is_own_address(address: str) -> bool:
    return address.strip().lower() in own_addresses()


def one_line(text: str, limit: int = 300) -> str:
    """Any run of whitespace, CR and LF included, becomes one space: a header stays a header."""
    return " ".join(text.split())[:limit]


def case_subject(case: Case) -> str:
    """The same subject for every message of a case, so clients that thread by
    subject (Gmail among them) keep the case together; the reference lets the
    support address find the case from a reply."""
    return one_line(f"[{case.reference}] {case.subject}")


def thread_headers(case_id: int, to_address: str) -> tuple[str | None, str]:
    """(In-Reply-To, References) for the next message of a case to one address.

    The case's first message is the thread's root and leads every References
    list; the previous message to the same address is what this one answers.
    Both are ids the portal sent, so a reply quoting either threads back here."""
    ids = select(OutboundMessage.message_id).where(OutboundMessage.case_id == case_id)
    root = db.session.scalar(ids.order_by(OutboundMessage.id).limit(1))
    if root is None:
        return None, ""
    previous = db.session.scalar(
        ids.where(OutboundMessage.to_address == to_address)
        .order_by(OutboundMessage.id.desc())
        .limit(1)
    )
    if previous is None or previous == root:
        return root, root
    return previous, f"{root} {previous}"


def automatic_sent_recently(to_address: str, now: datetime) -> int:
    return db.session.scalar(
        select(func.count(OutboundMessage.id)).where(
            OutboundMessage.to_address == to_address,
            OutboundMessage.created_at > now - timedelta(hours=1),
            OutboundMessage.automatic.is_(True),
            OutboundMessage.status != SUPPRESSED,
        )
    )


def queue_message(
    *,
    to: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    case: Case | None = None,
    event: CaseEvent | None = None,
    recipient: User | None = None,
    automatic: bool = True,
    now: datetime | None = None,
) -> OutboundMessage | None:
    """Write one message to the outbox in the current transaction (flush only).

    ``automatic`` means nothing a person wrote is relayed (a status change, an
    acknowledgement): those count against MAIL_AUTOMATIC_PER_HOUR per recipient;
    over it the row is kept as ``suppressed``. The portal's own addresses get
    nothing at all (None is returned), so no mail loop can start here."""
    to = to.strip()
    if is_own_address(to):
        return None
    now = now or utcnow()
    in_reply_to, references = thread_headers(case.id, to) if case is not None else (None, "")
    row = OutboundMessage(
        case_id=case.id if case is not None else None,
        event_id=event.id if event is not None else None,
        recipient_id=recipient.id if recipient is not None else None,
        to_address=to,
        subject=one_line(subject),
        body_text=body_text,
        body_html=body_html,
        message_id=new_message_id(),
        in_reply_to=in_reply_to,
        references=references,
        automatic=automatic,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    limit = current_app.config["MAIL_AUTOMATIC_PER_HOUR"]
    if automatic and automatic_sent_recently(to, now) >= limit:
        row.status = SUPPRESSED
        row.last_error = (
            f"Not sent: over the limit of {limit} automatic messages an hour to this address."
        )
    db.session.add(row)
    db.session.flush()
    return row


def retry(row: OutboundMessage, now: datetime | None = None) -> None:
    """Staff asked to send a failed (or waiting) message again: a fresh set of attempts."""
    row.status = PENDING
    row.attempts = 0
    row.next_attempt_at = now or utcnow()


# Sending -------------------------------------------------------------------


class PermanentFailure(Exception):
    """Sending this message again unchanged cannot succeed."""


class ServerUnavailable(OSError):
    """The SMTP server could not be reached or refused the session: try later."""


class TimedConnection(Connection):
    """Flask-Mail's connection (its ``send`` refuses CR/LF in headers) with a
    socket timeout, so a server that accepts and then hangs cannot hold a claimed
    row past its lease."""

    def configure_host(self):
        mail = self.mail
        factory = smtplib.SMTP_SSL if mail.use_ssl else smtplib.SMTP
        host = factory(mail.server, mail.port, timeout=current_app.config["MAIL_TIMEOUT"])
        host.set_debuglevel(int(mail.debug))
        if mail.use_tls:
            host.starttls()
        if mail.username and mail.password:
            host.login(mail.username, mail.password)
        return host


def _header(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise PermanentFailure("Refused: CR or LF in a header.")
    return value


def build_message(row: OutboundMessage) -> Message:
    config = current_app.config
    headers = {
        # Tell auto-responders (out-of-office, vacation) not to answer: RFC 3834,
        # and Exchange's own switch.
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
    }
    if row.in_reply_to:
        headers["In-Reply-To"] = _header(row.in_reply_to)
    if row.references:
        headers["References"] = _header(row.references)
    message = Message(
        subject=row.subject,
        recipients=[row.to_address],
        body=row.body_text,
        html=row.body_html or None,
        reply_to=config["SUPPORT_ADDRESS"],
        extra_headers=headers,
    )
    message.msgId = _header(row.message_id)
    return message


def _is_permanent(error: Exception) -> bool:
    if isinstance(error, (PermanentFailure, BadHeaderError)):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return not isinstance(error, OSError)  # smtplib's errors are OSErrors: transient


def describe(error: Exception) -> str:
    if isinstance(error, BadHeaderError):
        return "Refused: CR or LF in the subject or an address."
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refusals = (f"{code} {_text(reply)}" for code, reply in error.recipients.values())
        return "Recipient refused: " + "; ".join(refusals)
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__}: {error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}".strip()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def backoff(attempts: int) -> timedelta:
    config = current_app.config
    seconds = config["OUTBOX_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, config["OUTBOX_RETRY_MAX_SECONDS"]))


@dataclass
class Round:
    """What one call of ``send_due`` did."""

    sent: list[str] = field(default_factory=list)  # Message-IDs
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: int = 0  # claimed by another worker first


# Errors after which the SMTP session is still good for the next message.
KEEPS_CONNECTION = (smtplib.SMTPResponseException, PermanentFailure, BadHeaderError)


@dataclass(frozen=True)
class SentRow:
    id: int
    case_id: int | None
    event_id: int | None
    to_address: str
    subject: str


def _due(now: datetime, limit: int, after_id: int) -> list[tuple[int, int]]:
    rows = db.session.execute(
        select(OutboundMessage.id, OutboundMessage.attempts)
        .where(
            OutboundMessage.status == PENDING,
            OutboundMessage.next_attempt_at <= now,
            OutboundMessage.id > after_id,
        )
        .order_by(OutboundMessage.id)
        .limit(limit)
    ).all()
    db.session.commit()  # end the read: each claim is a transaction of its own
    return [tuple(r) for r in rows]


def _write_transaction():
    """End any read transaction first: on SQLite a transaction that has read cannot
    wait for the write lock, so each write begins afresh with BEGIN IMMEDIATE."""
    db.session.commit()
    return immediate()


def _claim(row_id: int, attempts: int, now: datetime) -> bool:
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    with _write_transaction():
        result = db.session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == row_id,
                OutboundMessage.status == PENDING,
                OutboundMessage.attempts == attempts,
                OutboundMessage.next_attempt_at <= now,
            )
            .values(attempts=attempts + 1, next_attempt_at=now + lease)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return result.rowcount == 1


def _record(row_id: int, now: datetime, error: Exception | None) -> OutboundMessage:
    with _write_transaction():
        row = db.session.get(OutboundMessage, row_id, populate_existing=True)
        if error is None:
            row.status = SENT
            row.sent_at = now
            row.last_error = ""
        else:
            row.last_error = describe(error)[:2000]
            if _is_permanent(error) or row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
                row.status = FAILED
            else:
                row.next_attempt_at = now + backoff(row.attempts)
        db.session.commit()
    return row


def send_due(now: datetime | None = None, limit: int | None = None) -> Round:
    """Send every due pending row (the worker calls this each minute; tests call it
    with their own ``now``). Safe to run in several workers at once."""
    now = now or utcnow()
    limit = limit or current_app.config["OUTBOX_BATCH"]
    state = current_app.extensions["mail"]
    report = Round()
    sent_rows: list[SentRow] = []
    connection: TimedConnection | None = None
    server_down: Exception | None = None
    after_id = 0
    try:
        while due := _due(now, limit, after_id):
            for row_id, attempts in due:
                after_id = row_id
                if not _claim(row_id, attempts, now):
                    report.skipped += 1
                    continue
                error = server_down
                if error is None:
                    try:
                        connection = connection or _open(state)
                    except Exception as exc:  # down: the rest of this round waits too
                        server_down = error = ServerUnavailable(describe(exc))
                if error is None:
                    try:
                        connection.send(build_message(db.session.get(OutboundMessage, row_id)))
                    except Exception as exc:
                        error = exc
                        if not isinstance(exc, KEEPS_CONNECTION):
                            connection = _drop(connection)  # may be broken: reconnect for the next
                row = _record(row_id, now, error)
                if error is None:
                    report.sent.append(row.message_id)
                    sent_rows.append(
                        SentRow(row.id, row.case_id, row.event_id, row.to_address, row.subject)
                    )
                elif row.status == FAILED:
                    current_app.logger.warning(
                        "outbox: %s failed: %s", row.message_id, row.last_error
                    )
                    report.failed.append(row.message_id)
                else:
                    report.retrying.append(row.message_id)
    finally:
        _drop(connection)
        if sent_rows:
            record_on_timelines(sent_rows, now)
    return report


def _open(state) -> TimedConnection:
    connection = TimedConnection(state)
    connection.__enter__()  # connects (unless MAIL_SUPPRESS_SEND); _drop closes
    return connection


def _drop(connection: TimedConnection | None) -> None:
    if connection is not None and connection.host is not None:
        try:
            connection.host.quit()
        except Exception:  # already gone
            connection.host.close()
    return None


def record_on_timelines(rows: list[SentRow], now: datetime) -> None:
    """One internal line per case event whose mail went out in this round, for staff."""
    from portal.cases.services import add_event, lock_case

    groups: dict[tuple[int, int | None], list[SentRow]] = defaultdict(list)
    for row in rows:
        if row.case_id is not None:
            groups[(row.case_id, row.event_id)].append(row)
    if not groups:
        return
    with _write_transaction():
        for (case_id, event_id), group in groups.items():
            case = lock_case(db.session.get(Case, case_id))
            add_event(
                case,
                EventKind.MAIL_SENT,
                None,
                internal=True,
                to=sorted({r.to_address for r in group}),
                subject=group[0].subject,
                about_event=event_id,
                messages=[r.id for r in group],
                sent_at=now.isoformat(),
            )
        db.session.commit()


def failed_count(case_id: int) -> int:
    return db.session.scalar(
        select(func.count(OutboundMessage.id)).where(
            OutboundMessage.case_id == case_id, OutboundMessage.status == FAILED
        )
    )
