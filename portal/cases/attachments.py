"""Attachments live outside static/ under random names and go out only as downloads."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app

from portal.accounts.models import User
from portal.cases.models import Attachment, Case, CaseEvent
from portal.errors import Conflict
from portal.extensions import db

SAFE_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._- ()")


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def clean_filename(name: str) -> str:
    """Keep a readable name for display and download; never used as a path."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c if c in SAFE_NAME_CHARS else "_" for c in base).strip(" .")
    return cleaned[:200] or "attachment"


def store(case: Case, event: CaseEvent, user: User, new_file) -> Attachment:
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    if len(new_file.data) > limit:
        raise Conflict(f"{new_file.filename} is larger than {limit // (1024 * 1024)} MB.")
    stored_name = secrets.token_hex(16)
    (upload_dir() / stored_name).write_bytes(new_file.data)
    attachment = Attachment(
        case_id=case.id,
        event=event,
        uploaded_by_id=user.id,
        filename=clean_filename(new_file.filename),
        stored_name=stored_name,
        content_type=new_file.content_type or "application/octet-stream",
        size=len(new_file.data),
    )
    db.session.add(attachment)
    return attachment


def path_of(attachment: Attachment) -> Path:
    return upload_dir() / attachment.stored_name
