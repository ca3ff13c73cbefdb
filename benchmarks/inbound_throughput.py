"""Bar: at least 50 inbound messages a second parsed, threaded and stored on SQLite.

    .venv/bin/python benchmarks/inbound_throughput.py [--messages 1000] [--connections 8]

A fresh SQLite database (WAL, as the portal runs it) in $BENCH_INBOUND_DIR (default
/tmp/bench-inbound): 20 accounts, 100 customers, 400 open cases, each with two
notifications the portal "sent" (their Message-IDs are what replies answer). Then
the same mix of messages goes in two ways, each measured on its own database copy:

1. **pipe**: ``inbound.ingest`` in one process, one message after the other, as
   ``flask inbound-ingest`` does for each message an MTA pipes in (without the
   process start-up, which is the MTA's cost);
2. **smtp**: the aiosmtpd receiver of ``flask inbound-smtp`` on loopback, fed by
   ``--connections`` smtplib clients at once.

Each message is fully processed: parsed (multipart plain + HTML, quoted history
trimmed), threaded (In-Reply-To / References lookups, subject tag, sender), stored
raw, and turned into a reply, a new case with its attachment files, a note or a
quarantine entry, with the notifications the outbox writes for it. The mix: 60%
replies, 15% new cases (a third with a 40 KB attachment), 10% unknown senders, 5%
out-of-office replies, 5% bounces, 5% duplicates of an earlier message.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import smtplib
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as c  # noqa: E402

BAR = 50.0


def build_app(instance: Path):
    from portal import create_app
    from portal.config import Config

    return create_app(
        Config,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'portal.sqlite3'}",
        INSTANCE_DIR=instance,
        UPLOAD_DIR=instance / "attachments",
        MAIL_SUPPRESS_SEND=True,
    )


def seed(app) -> dict:
    from flask_migrate import upgrade

    from portal.accounts.models import Account, Role, User
    from portal.cases import services
    from portal.cases.models import Kind
    from portal.extensions import db
    from portal.mail.models import OutboundMessage

    with app.app_context():
        upgrade()
        agent = User(
            role=Role.AGENT,
            name="Bench Agent",
            email="agent@support.example",
            password_hash="!unusable",
        )
        db.session.add(agent)
        customers, notify_ids = [], []
        for a in range(20):
            account = Account(name=f"Bench account {a}")
            db.session.add(account)
            for u in range(5):
                user = User(
                    role=Role.CUSTOMER,
                    account=account,
                    name=f"Customer {a}-{u}",
                    email=f"c{a}-{u}@customer{a}.example",
                )
                db.session.add(user)
                customers.append(user)
        db.session.flush()
        for n in range(400):
            requester = customers[n % len(customers)]
            case = services.open_case(
                requester,
                Kind.BUG,
                f"Deferrals at provider {n}",
                "Since Monday we see 421 deferrals.",
            )
            services.assign(case, agent, agent)
            for _ in range(2):
                mid = make_msgid(domain="support.example")
                db.session.add(
                    OutboundMessage(
                        case_id=case.id,
                        to_address=requester.email,
                        subject=f"[{case.reference}] x",
                        body_text="-- Reply above this line --",
                        message_id=mid,
                        status="sent",
                    )
                )
                notify_ids.append((mid, requester.email, case.reference))
        db.session.commit()
        db.engine.dispose()
        return {"customers": [u.email for u in customers], "notify": notify_ids}


QUOTE = "\n".join(
    f"> line {i} of the earlier notification, quoted back by the client" for i in range(30)
)


def reply(rng, notify) -> bytes:
    mid, sender, ref = rng.choice(notify)
    msg = EmailMessage()
    msg["From"] = f"Customer <{sender}>"
    msg["To"] = "Support <support@support.example>"
    msg["Subject"] = f"Re: [{ref}] Deferrals"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="mail.customer.example")
    msg["In-Reply-To"] = mid
    msg["References"] = mid
    text = (
        f"Still seeing deferrals on mta-{rng.randint(1, 9)}, about {rng.randint(1, 40)}%.\n\n"
        f"-- \nA customer\n\nOn Mon, 3 Jun 2024 at 10:00, Support <support@support.example> wrote:\n{QUOTE}\n"
    )
    msg.set_content(text)
    msg.add_alternative(f"<div>{text.replace(chr(10), '<br>')}</div>", subtype="html")
    return bytes(msg)


def new_case(rng, customers, attachment: bool) -> bytes:
    msg = EmailMessage()
    msg["From"] = rng.choice(customers)
    msg["To"] = "support@support.example"
    msg["Subject"] = f"Question {rng.randint(1, 10**9)} about our SPF record"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="mail.customer.example")
    msg.set_content("Does our SPF include need the new range?\n\nThanks")
    if attachment:
        msg.add_attachment(
            rng.randbytes(40_000),
            maintype="application",
            subtype="octet-stream",
            filename="capture.pcap",
        )
    return bytes(msg)


def stranger(rng) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"someone{rng.randint(1, 10**9)}@unknown.example"
    msg["To"] = "support@support.example"
    msg["Subject"] = "Pricing?"
    msg["Message-ID"] = make_msgid(domain="unknown.example")
    msg.set_content("How much is a dedicated IP?")
    return bytes(msg)


def out_of_office(rng, notify) -> bytes:
    mid, sender, ref = rng.choice(notify)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@support.example"
    msg["Subject"] = f"Out of office: [{ref}] Deferrals"
    msg["Auto-Submitted"] = "auto-replied"
    msg["Message-ID"] = make_msgid(domain="mail.customer.example")
    msg["In-Reply-To"] = mid
    msg.set_content("I am away until Monday.")
    return bytes(msg)


def bounce(rng) -> bytes:
    msg = EmailMessage()
    msg["From"] = "MAILER-DAEMON@relay.customer.example"
    msg["To"] = "support@support.example"
    msg["Subject"] = "Undelivered Mail Returned to Sender"
    msg["Message-ID"] = make_msgid(domain="relay.customer.example")
    msg.set_content("user unknown")
    msg.add_attachment(
        "Final-Recipient: rfc822; x@customer.example\nStatus: 5.1.1\n",
        subtype="plain",
        filename="details.txt",
    )
    msg.replace_header(
        "Content-Type", msg["Content-Type"].replace("multipart/mixed", "multipart/report")
    )
    return b"Return-Path: <>\r\n" + bytes(msg)


def workload(n: int, data: dict, seed_value: int = 7) -> list[bytes]:
    rng = random.Random(seed_value)
    out: list[bytes] = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.60:
            out.append(reply(rng, data["notify"]))
        elif roll < 0.75:
            out.append(new_case(rng, data["customers"], attachment=i % 3 == 0))
        elif roll < 0.85:
            out.append(stranger(rng))
        elif roll < 0.90:
            out.append(out_of_office(rng, data["notify"]))
        elif roll < 0.95:
            out.append(bounce(rng))
        else:
            out.append(rng.choice(out) if out else stranger(rng))
    return out


def outcome(app) -> dict:
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.mail.models import InboundMessage

    with app.app_context():
        rows = db.session.execute(
            select(InboundMessage.status, func.count()).group_by(InboundMessage.status)
        ).all()
        return {status: count for status, count in rows}


def run_pipe(instance: Path, messages: list[bytes]) -> dict:
    from portal.mail import inbound

    app = build_app(instance)
    started, cpu = time.perf_counter(), time.process_time()
    with app.app_context():
        for raw in messages:
            inbound.ingest(raw)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "seconds": round(seconds, 2),
        "per_second": round(len(messages) / seconds, 1),
        "cpu_ms_per_message": round(cpu * 1000 / len(messages), 2),
        "statuses": outcome(app),
    }


def run_smtp(instance: Path, messages: list[bytes], connections: int) -> dict:
    from portal.mail.inbound_cli import make_controller

    app = build_app(instance)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = make_controller(app, "127.0.0.1", port)
    controller.start()
    failures = []
    chunks = [messages[i::connections] for i in range(connections)]

    def client(chunk: list[bytes]) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            for raw in chunk:
                wire = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # SMTP lines end CRLF
                try:
                    smtp.sendmail("sender@customer.example", ["support@support.example"], wire)
                except smtplib.SMTPException as error:
                    failures.append(str(error))

    try:
        started, cpu = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(max_workers=connections) as pool:
            list(pool.map(client, chunks))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        controller.stop()
    return {
        "seconds": round(seconds, 2),
        "per_second": round(len(messages) / seconds, 1),
        # receiver and the smtplib clients together: one process
        "cpu_ms_per_message": round(cpu * 1000 / len(messages), 2),
        "connections": connections,
        "smtp_failures": len(failures),
        "first_failures": failures[:3],
        "statuses": outcome(app),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()

    base = Path(os.environ.get("BENCH_INBOUND_DIR", "/tmp/bench-inbound"))
    shutil.rmtree(base, ignore_errors=True)
    seeded = base / "seeded"
    seeded.mkdir(parents=True)
    c.log(f"seeding {seeded}")
    data = seed(build_app(seeded))
    messages = workload(args.messages, data)
    c.log(f"{len(messages)} messages, {sum(map(len, messages)) // 1024} KB in all")

    results = {}
    for name in ("pipe", "smtp"):
        instance = base / name
        shutil.copytree(seeded, instance)
        c.log(f"{name}: ingesting")
        results[name] = (
            run_pipe(instance, messages)
            if name == "pipe"
            else run_smtp(instance, messages, args.connections)
        )
        c.log(
            f"{name}: {results[name]['per_second']} messages/s ({results[name]['seconds']} s, "
            f"{results[name]['cpu_ms_per_message']} ms CPU each) {results[name]['statuses']}"
        )

    slowest = min(r["per_second"] for r in results.values())
    # Every message stored and routed: none failed, none refused over SMTP.
    ok = (
        slowest >= BAR
        and results["smtp"]["smtp_failures"] == 0
        and all("failed" not in r["statuses"] for r in results.values())
    )
    report = {
        "bar": f">= {BAR} messages/s parsed, threaded and stored on SQLite",
        "command": "python benchmarks/inbound_throughput.py " + " ".join(sys.argv[1:]),
        "messages": len(messages),
        "results": results,
        "verdict": c.verdict(ok),
        "machine": {k: v for k, v in c.machine().items() if k != "gunicorn"},
    }
    path = c.save("inbound_throughput", report)
    print(f"slowest path {slowest} messages/s: {c.verdict(ok)} (saved {path})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
