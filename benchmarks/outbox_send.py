"""Not a bar: what the outbox costs and how fast it drains, on SQLite, in-process.

    .venv/bin/python benchmarks/outbox_send.py [--messages 1000]

A fresh SQLite database (WAL, as the portal runs it) under $BENCH_OUTBOX_DIR
(default /tmp/bench-outbox) with one account, its TAM, an agent and a customer.

1. **write**: ``services.reply`` by the agent, committed, with the notification
   receiver on (one outbox row per reply) and muted; the difference is what
   writing the notification adds to a reply.
2. **outage round**: ``--messages`` rows due while the SMTP port refuses
   connections: one ``send_due`` claims each row, records the error and the
   back-off (no SMTP traffic beyond the first refused connect).
3. **drain**: the same rows once an aiosmtpd server on loopback listens: one
   worker, then (on a fresh set) two workers at once; messages a second, and the
   Message-IDs counted at the server (each must arrive exactly once).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import update  # noqa: E402

from portal import create_app  # noqa: E402
from portal.accounts.models import Account, Role, User  # noqa: E402
from portal.cases import services  # noqa: E402
from portal.cases.models import Kind  # noqa: E402
from portal.config import Config  # noqa: E402
from portal.extensions import db, mail  # noqa: E402
from portal.mail import outbox  # noqa: E402
from portal.mail.models import OutboundMessage  # noqa: E402
from portal.mail.notify import muted  # noqa: E402
from portal.timeutil import utcnow  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


class Sink:
    def __init__(self):
        self.ids: Counter = Counter()

    async def handle_DATA(self, server, session, envelope):
        self.ids[message_from_bytes(envelope.original_content)["Message-ID"]] += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(directory: Path):
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    from flask_migrate import upgrade

    port = free_port()
    app = create_app(
        Config,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{directory / 'outbox.sqlite3'}",
        INSTANCE_DIR=directory,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_SUPPRESS_SEND=False,
        MAIL_TIMEOUT=5.0,
    )
    with app.app_context():
        upgrade()
    return app, port


def people():
    tam = User(role=Role.TAM, name="Tam", email="tam@support.example")
    agent = User(role=Role.AGENT, name="Agent", email="agent@support.example")
    account = Account(name="Bench", tam=tam)
    customer = User(role=Role.CUSTOMER, name="Cus", email="cus@bench.example", account=account)
    db.session.add_all([tam, agent, account, customer])
    db.session.commit()
    case = services.open_case(customer, Kind.BUG, "Bench case", "Opened for the benchmark")
    db.session.commit()
    return agent, customer, case


def time_replies(case, agent, n: int, quiet: bool) -> float:
    start = time.perf_counter()
    for i in range(n):
        if quiet:
            with muted():
                services.reply(case, agent, f"Reply {i}")
        else:
            services.reply(case, agent, f"Reply {i}")
        db.session.commit()
    return (time.perf_counter() - start) / n * 1000


def queue(case, n: int) -> None:
    for i in range(n):
        outbox.queue_message(
            to=f"user{i % 50}@bench.example",
            subject=f"[{case.reference}] Bench",
            body_text=f"Body {i}\n" * 20,
            case=case,
            automatic=False,
        )
    db.session.commit()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    n = args.messages
    app, port = build(Path(os.environ.get("BENCH_OUTBOX_DIR", "/tmp/bench-outbox")))
    figures: dict = {"messages": n}
    with app.app_context():
        mail.init_app(app)
        agent, _, case = people()
        time_replies(case, agent, 20, quiet=False)  # warm up
        figures["reply_ms_with_notification"] = round(time_replies(case, agent, 300, False), 2)
        figures["reply_ms_muted"] = round(time_replies(case, agent, 300, True), 2)
        db.session.execute(OutboundMessage.__table__.delete())
        db.session.commit()

        queue(case, n)
        now = utcnow() + timedelta(seconds=1)
        start = time.perf_counter()
        down = outbox.send_due(now=now)
        figures["outage_round_s"] = round(time.perf_counter() - start, 2)
        assert len(down.retrying) == n, (len(down.retrying), down.failed[:3])

        sink = Sink()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            start = time.perf_counter()
            up = outbox.send_due(now=now + timedelta(minutes=1))
            elapsed = time.perf_counter() - start
            figures["one_worker_msgs_per_s"] = round(len(up.sent) / elapsed, 1)
            figures["one_worker_all_once"] = len(sink.ids) == n and set(sink.ids.values()) == {1}

            db.session.execute(update(OutboundMessage).values(status="sent"))
            db.session.commit()
            sink.ids.clear()
            queue(case, n)
            barrier = threading.Barrier(2)
            rounds = []

            def worker():
                with app.app_context():
                    barrier.wait()
                    rounds.append(outbox.send_due(now=utcnow() + timedelta(seconds=1)))
                    db.session.remove()

            threads = [threading.Thread(target=worker) for _ in range(2)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - start
            figures["two_workers_msgs_per_s"] = round(sum(len(r.sent) for r in rounds) / elapsed, 1)
            figures["two_workers_split"] = [len(r.sent) for r in rounds]
            figures["two_workers_all_once"] = len(sink.ids) == n and set(sink.ids.values()) == {1}
        finally:
            controller.stop()
        db.engine.dispose()
    print(json.dumps(figures, indent=2))
    OUT.mkdir(exist_ok=True)
    (OUT / "outbox_send.json").write_text(json.dumps(figures, indent=2) + "\n")
    ok = figures["one_worker_all_once"] and figures["two_workers_all_once"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
