"""Imports every model so the metadata (and so Alembic) knows all tables."""

from portal.accounts.models import Account, AuditLog, User  # noqa: F401
from portal.cases.models import Attachment, Case, CaseEvent  # noqa: F401
from portal.clocks.models import BusinessSchedule, ClockWarning, Notification  # noqa: F401
from portal.kb.models import (  # noqa: F401
    Article,
    ArticleRevision,
    ArticleVote,
    Category,
    SearchQuery,
    SuggestionEvent,
)
from portal.mail.models import InboundMessage, OutboundMessage  # noqa: F401
from portal.planner.models import WarmupPlan  # noqa: F401
