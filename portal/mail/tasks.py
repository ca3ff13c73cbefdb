"""The outbox sender: every minute, send what is due (see portal.mail.outbox)."""

from portal.mail import outbox
from portal.tasks import periodic


@periodic(name="mail.send_outbox")
def send_outbox() -> dict[str, int]:
    done = outbox.send_due()
    return {"sent": len(done.sent), "retrying": len(done.retrying), "failed": len(done.failed)}
