"""The support address: mail in, onto cases or into quarantine. Never dropped.

Every message is stored raw first (``store``), then processed (``process``);
``ingest`` does both and is what the SMTP receiver and ``flask inbound-ingest``
call. Each step is a transaction of its own, begun IMMEDIATE on SQLite, because a
processing failure must be recorded after its work is rolled back: a message
that cannot be processed stays stored, ``failed``, with the error.

Where a message goes:

1. **Same message again** (same Message-ID, same body): the unique constraint
   refuses the second row, even when two deliveries race; nothing new happens.
2. **Same Message-ID, different body**: stored, flagged, and quarantined, so a
   re-encoded copy cannot post twice and a forged one cannot post at all; staff
   decide.
3. **Written by a machine** (see ``inbound_parse.automatic_reason``): delivery
   reports, bulk and list mail, and mail from the portal's own addresses go to
   quarantine. An out-of-office or other automatic reply that threads onto a
   case from someone allowed to write there is noted on the case as an internal
   line; elsewhere it is quarantined. None of them ever reaches a customer or
   moves a case, so nothing automatic answers them (see ``may_auto_reply``).
4. **A reply**: In-Reply-To or any References id matching a Message-ID the
   portal sent (OutboundMessage) or received (a processed InboundMessage on a
   case) names the case; the sender must be an active user who can see it. The
   subject tag ``[CS-000123]`` is a fallback only, for a sender who already takes
   part (the requester, a customer of the account who wrote on it, or staff who
   can see it). It becomes a reply through ``services.reply``, so the case moves
   as for a reply on the web. A reply to a resolved case is quarantined: staff
   release it as a follow-up case or discard it.
5. **A new message from an active customer user** opens an information request.
6. **Anything else** (unknown senders above all) is quarantined with a reason.

The timeline gets the reply with quoted history and signature trimmed; the
message as received is attached to the event as ``original-message.eml`` (when
within the attachment size limit) and is always downloadable by staff from the
quarantine pages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr

from flask import current_app
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Role, User
from portal.cases import services
from portal.cases.models import Case, CaseEvent, EventKind, Kind, Status, parse_reference
from portal.cases.services import NewFile, can_see
from portal.database import immediate
from portal.errors import Conflict, PermissionDenied
from portal.extensions import db
from portal.inputs import drop_nul
from portal.mail import inbound_parse as mp
from portal.mail.inbound_parse import ParsedMail
from portal.mail.inbound_trim import trim_reply
from portal.mail.models import InboundMessage, OutboundMessage
from portal.timeutil import utcnow

log = logging.getLogger(__name__)

RECEIVED, PROCESSED, QUARANTINED, DISCARDED, FAILED = (
    "received",
    "processed",
    "quarantined",
    "discarded",
    "failed",
)
# Reasons begin with one of these phrases, so a list can be read (and tested) at a glance.
UNKNOWN_SENDER = "unknown sender"
NOT_ON_CASE = "sender not on the case"
CASE_RESOLVED = "case resolved"
UNKNOWN_CASE = "unknown case"
NO_CASE = "staff mail without a case"
REUSED_ID = "reused Message-ID"
ORIGINAL_NAME = "original-message.eml"
EXCERPT_CHARS = 1000


@dataclass
class Delivery:
    message: InboundMessage
    created: bool  # False: this exact message was stored before, nothing new happened


@dataclass
class Thread:
    case: Case | None = None
    via: str | None = None  # "header" | "tag"
    tag: str | None = None  # the subject tag, when there was one


# Addresses --------------------------------------------------------------------


def own_addresses() -> set[str]:
    """The portal's own addresses (the support address, the sender of notifications
    and ``MAIL_OWN_ADDRESSES``): mail from them is a loop, never a person."""
    config = current_app.config
    sender = config.get("MAIL_DEFAULT_SENDER")
    if isinstance(sender, tuple):
        sender = sender[1]
    found = {parseaddr(config.get("SUPPORT_ADDRESS") or "")[1], parseaddr(sender or "")[1]}
    found.update(config.get("MAIL_OWN_ADDRESSES", ()))
    return {a.strip().lower() for a in found if a}


def inbound_addresses() -> set[str]:
    """Recipients the SMTP receiver accepts (``INBOUND_ADDRESSES``, else the support address)."""
    config = current_app.config
    addresses = config.get("INBOUND_ADDRESSES") or [config["SUPPORT_ADDRESS"]]
    return {parseaddr(a)[1].lower() for a in addresses}


# Storing ----------------------------------------------------------------------


def store(raw: bytes, mail: ParsedMail | None = None) -> Delivery:
    """Keep the message as received. The same message delivered again (even at
    the same moment) finds the row that is already there."""
    if mail is not None:
        message_id, sender, subject = mail.message_id, mail.sender, mail.subject
    else:
        message_id, sender, subject = mp.headline(raw)
    digest = mp.body_digest(raw)
    row = InboundMessage(
        message_id=message_id,
        body_digest=digest,
        raw=raw,
        sender=sender[:254],
        subject=subject[:300],
        status=RECEIVED,
        received_at=utcnow(),
    )
    try:
        with immediate():
            db.session.add(row)
            db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = db.session.scalar(
            select(InboundMessage).where(
                InboundMessage.message_id == message_id, InboundMessage.body_digest == digest
            )
        )
        if existing is None:
            raise
        log.info("inbound %s: delivered again, already stored as #%s", message_id, existing.id)
        return Delivery(existing, False)
    return Delivery(row, True)


def ingest(raw: bytes) -> Delivery:
    """Store, then process. Only a failure to store raises: then the sender must
    be told to try again (SMTP 451, exit status 75)."""
    try:
        mail = mp.parse(raw)
    except Exception:  # still stored; processing will record why it fails
        log.exception("inbound: message does not parse")
        mail = None
    delivery = store(raw, mail)
    if delivery.created:
        process(delivery.message, mail)
    return delivery


# Processing -------------------------------------------------------------------


def process(message: InboundMessage, mail: ParsedMail | None = None) -> InboundMessage:
    """Route one stored message (status ``received``) and commit; on any error,
    roll back and keep it as ``failed`` with the error."""
    # The id without a SELECT: a read here would begin a deferred transaction on
    # SQLite, which cannot later wait for the write lock ("database is locked").
    message_id = inspect(message).identity[0]
    try:
        with immediate():
            row = db.session.get(InboundMessage, message_id, with_for_update=True)
            if row is not None and row.status == RECEIVED:
                _route(row, mail if mail is not None else mp.parse(row.raw))
                row.processed_at = utcnow()
            db.session.commit()
    except Exception as error:
        db.session.rollback()
        log.exception("inbound #%s: processing failed", message_id)
        with immediate():
            row = db.session.get(InboundMessage, message_id)
            row.status = FAILED
            row.reason = drop_nul(f"Processing failed: {type(error).__name__}: {error}")[:4000]
            row.processed_at = utcnow()
            db.session.commit()
    return row


def _route(message: InboundMessage, mail: ParsedMail) -> None:
    if _reused_id(message):
        message.flagged = True
        return _quarantine(
            message,
            f"{REUSED_ID}: {message.message_id} was received before with a different body.",
        )
    automatic = mail.automatic
    if mail.sender in own_addresses() or _is_our_own(mail):
        automatic = mp.OWN_ADDRESS
    if automatic and automatic != mp.AUTO_REPLY:
        detail = f" from {mail.sender}" if mail.sender else ""
        return _quarantine(message, f"{automatic}{detail}.")
    user = _user_for(mail.sender)
    thread = find_thread(mail)
    refusal = _refusal(user, thread, mail)
    if automatic == mp.AUTO_REPLY:
        if thread.case is not None and (refusal is None or refusal.startswith(CASE_RESOLVED)):
            return _note_automatic(message, mail, thread.case, user)
        return _quarantine(
            message, f"{automatic} from {mail.sender or 'an unknown sender'}, not on a case."
        )
    if refusal:
        return _quarantine(message, refusal)
    if thread.case is not None:
        return _post_reply(message, mail, thread.case, user)
    return _open_case(message, mail, user)


def _refusal(user: User | None, thread: Thread, mail: ParsedMail) -> str | None:
    """Why this sender may not write where the message points, or None."""
    who = mail.sender or "(no From address)"
    if user is None:
        return f"{UNKNOWN_SENDER}: {who} is not a portal user."
    if not user.active:
        return f"{UNKNOWN_SENDER}: {who} belongs to a deactivated user."
    case = thread.case
    if case is None:
        if thread.tag:
            return f"{UNKNOWN_CASE}: {thread.tag} in the subject does not exist."
        if not user.is_customer or user.account_id is None:
            return f"{NO_CASE}: {who} is staff, and the message answers no case."
        return None
    if thread.via == "header" and not can_see(user, case):
        return f"{NOT_ON_CASE}: {who} cannot see {case.reference} (threaded by Message-ID)."
    if thread.via == "tag" and not participates(user, case):
        return f"{NOT_ON_CASE}: {who} does not take part in {case.reference} (subject tag only)."
    if case.status == Status.RESOLVED:
        return f"{CASE_RESOLVED}: {case.reference} is resolved; release as a follow-up case or discard."
    return None


def _reused_id(message: InboundMessage) -> bool:
    """Another stored message with this Message-ID and a different body. Checked
    after both are committed, so of two racing deliveries at least one is caught."""
    return (
        db.session.scalar(
            select(InboundMessage.id)
            .where(
                InboundMessage.message_id == message.message_id,
                InboundMessage.body_digest != message.body_digest,
                InboundMessage.id != message.id,
            )
            .limit(1)
        )
        is not None
    )


def _is_our_own(mail: ParsedMail) -> bool:
    """A message the portal sent, come back (a forwarding loop)."""
    return (
        db.session.scalar(
            select(OutboundMessage.id)
            .where(OutboundMessage.message_id.in_(mp.id_variants([mail.message_id])))
            .limit(1)
        )
        is not None
    )


def _user_for(address: str) -> User | None:
    if not address:
        return None
    return db.session.scalar(select(User).where(func.lower(User.email) == address.lower()))


def find_thread(mail: ParsedMail) -> Thread:
    """The case a message answers: by Message-ID first, then the subject tag."""
    ids = mail.thread_ids
    if ids:
        variants = mp.id_variants(ids)
        known: dict[str, int] = {}
        for mid, case_id in db.session.execute(
            select(OutboundMessage.message_id, OutboundMessage.case_id).where(
                OutboundMessage.message_id.in_(variants), OutboundMessage.case_id.is_not(None)
            )
        ):
            known.setdefault(mid, case_id)
        for mid, case_id in db.session.execute(
            select(InboundMessage.message_id, InboundMessage.case_id).where(
                InboundMessage.message_id.in_(variants),
                InboundMessage.case_id.is_not(None),
                InboundMessage.status == PROCESSED,
            )
        ):
            known.setdefault(mid, case_id)
        for mid in ids:
            case_id = known.get(mid) or known.get(mid.strip("<>"))
            if case_id is not None:
                return Thread(db.session.get(Case, case_id), "header")
    tags = mail.case_tags
    for tag in tags:
        case_id = parse_reference(tag)
        case = db.session.get(Case, case_id) if case_id is not None else None
        if case is not None:
            return Thread(case, "tag", tag)
    return Thread(tag=tags[0] if tags else None)


def participates(user: User, case: Case) -> bool:
    """Takes part in the case: staff who can see it, its requester, or a customer of
    its account who has written on it."""
    if not user.active:
        return False
    if user.is_staff:
        return can_see(user, case)
    if user.account_id != case.account_id:
        return False
    if case.requester_id == user.id:
        return True
    wrote = select(CaseEvent.id).where(
        CaseEvent.case_id == case.id, CaseEvent.author_id == user.id, CaseEvent.internal.is_(False)
    )
    return db.session.scalar(wrote.limit(1)) is not None


def _quarantine(message: InboundMessage, reason: str) -> None:
    message.status = QUARANTINED
    message.reason = reason
    log.info("inbound #%s quarantined: %s", message.id, reason)


def _done(message: InboundMessage, case: Case, event: CaseEvent) -> None:
    message.status = PROCESSED
    message.case_id = case.id
    message.event_id = event.id


def _mark(event: CaseEvent, message: InboundMessage, **extra) -> None:
    # A new dict, so the JSON column sees the change.
    event.data = {**(event.data or {}), "via": "email", "inbound_message_id": message.id, **extra}


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def case_files(mail: ParsedMail, raw: bytes) -> tuple[list[NewFile], list[str]]:
    """The message's files within ATTACHMENT_MAX_BYTES and ATTACHMENT_MAX_COUNT, then
    the original message; and a line for each file left in the original only."""
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    most = current_app.config["ATTACHMENT_MAX_COUNT"]
    kept: list[NewFile] = []
    left: list[str] = []
    for f in mail.files:
        if len(f.data) > limit:
            left.append(f"{f.filename} ({_size(len(f.data))}, over the {_size(limit)} limit)")
        elif len(kept) >= most:
            left.append(f"{f.filename} (more than {most} files)")
        else:
            kept.append(NewFile(f.filename, f.content_type, f.data))
    if len(raw) <= limit:
        kept.append(NewFile(ORIGINAL_NAME, "message/rfc822", raw))
    else:
        left.append(f"the original message itself ({_size(len(raw))}); Support can download it")
    return kept, left


def timeline_body(mail: ParsedMail, left_out: list[str], keep_history: bool) -> str:
    body = trim_reply(mail.text, keep_history=keep_history or mail.is_forward)
    if not body.strip():
        body = "_(The message had no text.)_"
    if left_out:
        body += (
            "\n\n---\n\nNot attached here, kept in the original message: "
            + "; ".join(left_out)
            + "."
        )
    return body


def _post_reply(message: InboundMessage, mail: ParsedMail, case: Case, user: User) -> None:
    files, left_out = case_files(mail, message.raw)
    event = services.reply(case, user, timeline_body(mail, left_out, False), files)
    _mark(event, message)
    _done(message, case, event)


def case_subject(mail: ParsedMail) -> str:
    return (mail.subject.strip() or f"Message from {mail.sender}")[:200]


def _open_case(message: InboundMessage, mail: ParsedMail, user: User) -> None:
    files, left_out = case_files(mail, message.raw)
    case = services.open_case(
        user, Kind.INFORMATION, case_subject(mail), timeline_body(mail, left_out, True), files=files
    )
    event = _created_event(case)
    _mark(event, message)
    _done(message, case, event)


def _created_event(case: Case) -> CaseEvent:
    return db.session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.CREATED)
    )


def _note_automatic(
    message: InboundMessage, mail: ParsedMail, case: Case, user: User | None
) -> None:
    """An out-of-office on a case: a line for staff, nothing for anyone else."""
    services.lock_case(case)
    who = mail.sender_name or mail.sender or "an unknown sender"
    excerpt = trim_reply(mail.text)[:EXCERPT_CHARS]
    event = services.add_event(
        case,
        EventKind.MAIL_RECEIVED,
        user,
        body=f"Automatic reply from {who}: {mail.subject}\n\n{excerpt}".strip(),
        internal=True,
        via="email",
        inbound_message_id=message.id,
        automatic=mail.automatic,
        sender=mail.sender,
        subject=mail.subject,
    )
    _done(message, case, event)


# Loop protection --------------------------------------------------------------


def may_auto_reply(message: InboundMessage | ParsedMail | EmailMessage | bytes) -> bool:
    """Whether an automatic message (an acknowledgement, a notification caused by
    this mail) may be sent to the sender of ``message``. False for delivery
    reports, auto-replies, bulk and list mail, the null sender, the portal's own
    addresses and mail the portal itself sent; also when there is no sender."""
    if isinstance(message, InboundMessage):
        mail = mp.parse(message.raw)
    elif isinstance(message, EmailMessage):
        mail = mp.parse(message.as_bytes())
    elif isinstance(message, bytes | bytearray):
        mail = mp.parse(bytes(message))
    else:
        mail = message
    if mail.automatic or not mail.sender or mail.sender in own_addresses():
        return False
    return not _is_our_own(mail)


# Staff: the quarantine --------------------------------------------------------

OPEN_STATUSES = (QUARANTINED, FAILED)


def _require_releasable(message: InboundMessage, staff: User) -> None:
    if not staff.is_staff:
        raise PermissionDenied("Only support staff can release quarantined mail.")
    if message.status not in OPEN_STATUSES:
        raise Conflict(f"This message is already {message.status}.")


def _locked(message: InboundMessage) -> InboundMessage:
    """Re-read the row under its lock, so two people releasing it at once cannot both win."""
    db.session.refresh(message, with_for_update=True)
    return message


def _readable(message: InboundMessage) -> ParsedMail:
    try:
        return mp.parse(message.raw)
    except Exception as error:
        raise Conflict(
            f"This message does not parse ({type(error).__name__}): download the original instead."
        ) from error


def suggested_case(message: InboundMessage, mail: ParsedMail | None = None) -> Case | None:
    """Where a quarantined message seems to belong: its thread, its tag, or for a
    delivery report the case of the mail it reports on."""
    mail = mail or mp.parse(message.raw)
    thread = find_thread(mail)
    if thread.case is None and mail.reported_ids:
        thread = find_thread(
            ParsedMail(**{**mail.__dict__, "in_reply_to": mail.reported_ids, "references": []})
        )
    return thread.case


def release_to_case(message: InboundMessage, case: Case, staff: User) -> CaseEvent:
    """Post a quarantined message on ``case``. From a person who may see the case it
    becomes their reply; anything else (an unknown sender, another account, a
    machine) becomes an internal note by ``staff``, to share or not as they judge."""
    _locked(message)
    _require_releasable(message, staff)
    if not can_see(staff, case):
        raise PermissionDenied("You cannot act on this case.")
    if case.status == Status.RESOLVED:
        raise Conflict(f"{case.reference} is resolved. Release the message as a new case instead.")
    mail = _readable(message)
    user = _user_for(mail.sender)
    files, left_out = case_files(mail, message.raw)
    body = timeline_body(mail, left_out, False)
    person = user is not None and user.active and can_see(user, case)
    if person and not mail.automatic and not message.flagged:
        event = services.reply(case, user, body, files)
    else:
        services.lock_case(case)
        who = (
            f"{mail.sender_name} <{mail.sender}>"
            if mail.sender_name
            else (mail.sender or "unknown")
        )
        event = services.add_event(
            case,
            EventKind.INTERNAL_NOTE,
            staff,
            body=f"Mail from {who}, released from quarantine ({message.reason})\n\n{body}",
            internal=True,
        )
        from portal.cases.attachments import store as store_file

        for new_file in files:
            store_file(case, event, staff, new_file)
    _mark(event, message, released_by=staff.id)
    message.reason = f"{message.reason} Released onto {case.reference} by {staff.name}."
    _done(message, case, event)
    message.processed_at = utcnow()
    db.session.flush()
    return event


def release_as_new_case(message: InboundMessage, requester: User, staff: User) -> Case:
    """Open an information request for ``requester`` (an active customer user) with
    the message as its description."""
    _locked(message)
    _require_releasable(message, staff)
    if not requester.is_customer or not requester.active or requester.account_id is None:
        raise Conflict(f"{requester.email} is not an active customer user.")
    if staff.role == Role.TAM and requester.account.tam_id != staff.id:
        raise PermissionDenied("You cannot open cases for this account.")
    mail = _readable(message)
    files, left_out = case_files(mail, message.raw)
    case = services.open_case(
        requester,
        Kind.INFORMATION,
        case_subject(mail),
        timeline_body(mail, left_out, True),
        files=files,
    )
    event = _created_event(case)
    _mark(event, message, released_by=staff.id)
    message.reason = f"{message.reason} Released as {case.reference} by {staff.name}."
    _done(message, case, event)
    message.processed_at = utcnow()
    db.session.flush()
    return case


def discard(message: InboundMessage, staff: User) -> None:
    """Set aside for good; the raw message is kept."""
    _locked(message)
    _require_releasable(message, staff)
    message.status = DISCARDED
    message.reason = f"{message.reason} Discarded by {staff.name}."
    message.processed_at = utcnow()
    db.session.flush()


def retry(message: InboundMessage, staff: User) -> InboundMessage:
    """Process a failed (or never processed) message again, from scratch. Commits."""
    if not staff.is_staff:
        raise PermissionDenied("Only support staff can process mail again.")
    _locked(message)
    if message.status not in (FAILED, RECEIVED):
        raise Conflict(f"This message is already {message.status}.")
    message.status = RECEIVED
    message.reason = ""
    db.session.commit()
    return process(message)
