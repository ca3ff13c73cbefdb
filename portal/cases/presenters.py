"""Plain sentences about where a case stands, for whoever is looking."""

from __future__ import annotations

from portal.accounts.models import User
from portal.cases.models import Case, Kind, Status


def next_step(case: Case, viewer: User) -> tuple[str, str]:
    """(whose turn: 'you' | 'them' | 'done', the sentence)."""
    customer = viewer.is_customer
    if case.status == Status.RESOLVED:
        return "done", "Resolved by mutual agreement. Open a follow-up case if it comes back."
    if case.status == Status.RESOLUTION_PROPOSED:
        ours = case.proposed_by == viewer.side
        kind = f" ({case.resolution_kind})" if case.resolution_kind else ""
        if ours:
            who = "the customer" if not customer else "Support"
            return "them", f"Waiting for {who} to accept or dispute the proposed resolution{kind}."
        return "you", f"A resolution{kind} is proposed: accept it, or dispute it and say why."
    if case.status == Status.WAITING_ON_CUSTOMER:
        if customer:
            return "you", "Waiting for you: Support asked for more information."
        return "them", "Waiting on the customer to answer the request for information."
    if case.kind == Kind.CRITICAL:
        if customer:
            return "them", "Support is working on it. Call the Severity 1 hotline quoting " + case.reference + " if you have not yet."
        return "you", "Critical: call the customer back and keep the agreed update interval."
    if case.status == Status.NEW:
        if customer:
            return "them", "Waiting for Support's first response (business hours)."
        return "you", "New: take it and send a first response."
    if customer:
        return "them", "Support is working on it; you will get an update here and by email."
    return "you", "In progress: the next update is ours."


def speaker(event, case: Case, viewer: User) -> tuple[str, str]:
    """(name, role pill) for a timeline card, as the viewer should read it."""
    author = event.author
    if author is None:
        return "System", "Automatic"
    name = "You" if author.id == viewer.id else author.name
    if event.internal:
        return name, "Internal note"
    if author.is_customer:
        if viewer.is_staff:
            return name, "Customer"
        return name, author.account.name if author.account else "Customer"
    if author.id == case.account.tam_id:
        return name, "TAM" if viewer.is_staff else "Your TAM"
    return name, "Support"


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
