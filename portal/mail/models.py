"""The outbox (every notification, written with the event that caused it) and
the raw inbound mail of the support address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import utcnow


class OutboundMessage(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    # Chosen when the row is written, so a resend after a crash reuses it.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    references: Mapped[str] = mapped_column(Text, default="")
    automatic: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_outbound_message_due", "status", "next_attempt_at"),
        Index("ix_outbound_message_to_created", "to_address", "created_at"),
    )


class InboundMessage(db.Model):
    """Mail as received, stored raw before anything else happens to it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), index=True)
    body_digest: Mapped[str] = mapped_column(String(64))  # sha256 of the raw body
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    sender: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    # received | processed | quarantined | discarded | failed
    status: Mapped[str] = mapped_column(String(12), default="received", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    flagged: Mapped[bool] = mapped_column(default=False)  # a reused Message-ID, different body
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]

    # The same message delivered twice (even racing) stores one row.
    __table_args__ = (UniqueConstraint("message_id", "body_digest", name="uq_inbound_message_id_digest"),)
