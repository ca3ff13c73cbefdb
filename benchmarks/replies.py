"""Bar: 200 concurrent replies to one case on gunicorn (gthread, 2 workers x 8
threads) all succeed: 200 comment events stored, no answer outside 2xx/3xx, and no
"database is locked" in the server's log.

    .venv/bin/python benchmarks/replies.py [--replies 200] [--threads 32]

Half the replies come from a customer of the case's account, half from an agent, so
the writes also move the case's status and clocks. Each reply is a plain form POST
with its CSRF token (answer: 303) on a connection of its own.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import _common as c


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()

    instance = c.DEFAULT_INSTANCE
    data = c.ensure_dataset(instance)
    # A case nobody has answered yet, so the first agent reply also changes its status.
    case_id = c.query(
        instance,
        "SELECT id FROM \"case\" WHERE account_id = ? AND status = 'new' ORDER BY random() LIMIT 1",
        data["big_account_id"],
    )[0][0]
    ref = c.reference(case_id)
    run = secrets.token_hex(4)
    before = c.query(instance, "SELECT count(*) FROM case_event WHERE case_id = ?", case_id)[0][0]

    outcomes: list[tuple[int, float]] = []
    lock = threading.Lock()
    with c.gunicorn(instance, "replies", max_seconds=300) as server:
        people = {}
        for who, email, page in (
            ("customer", data["customer"], f"/cases/{ref}"),
            ("agent", data["agent"], f"/desk/cases/{ref}"),
        ):
            cookie = c.login(server, email)
            status, _, body = c.request(server, "GET", page, headers={"Cookie": cookie})
            if status != 200:
                sys.exit(f"{page} answered {status} for {who}")
            people[who] = (cookie, c.csrf_token(body))

        def reply(i: int) -> None:
            cookie, token = people["customer" if i % 2 == 0 else "agent"]
            form = {"csrf_token": token, "body": f"bench {run} reply {i}: still seeing deferrals"}
            started = time.perf_counter()
            try:
                status, _, _ = c.request(
                    server, "POST", f"/cases/{ref}/replies", headers={"Cookie": cookie},
                    form=form, timeout=60,
                )
            except OSError as error:  # a refused or dropped connection counts as a failure
                print(f"reply {i}: {error}", file=sys.stderr)
                status = 0
            with lock:
                outcomes.append((status, (time.perf_counter() - started) * 1000))

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            list(pool.map(reply, range(args.replies)))
        wall = time.perf_counter() - started
        log_text = server.log_text()

    stored = c.query(
        instance,
        "SELECT count(*) FROM case_event WHERE case_id = ? AND kind = 'comment' AND body LIKE ?",
        case_id, f"bench {run} reply %",
    )[0][0]
    after = c.query(instance, "SELECT count(*) FROM case_event WHERE case_id = ?", case_id)[0][0]
    status_now = c.query(instance, 'SELECT status FROM "case" WHERE id = ?', case_id)[0][0]
    codes: dict[int, int] = {}
    for code, _ in outcomes:
        codes[code] = codes.get(code, 0) + 1
    bad = sum(n for code, n in codes.items() if not 200 <= code < 400)
    latencies = sorted(ms for _, ms in outcomes)
    locked = log_text.lower().count("database is locked")
    tracebacks = log_text.count("Traceback")
    result = {
        "machine": c.machine(),
        "case": ref,
        "replies": args.replies,
        "threads": args.threads,
        "wall_seconds": round(wall, 2),
        "replies_per_second": round(args.replies / wall, 1),
        "status_codes": codes,
        "latency_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p95": round(latencies[int(len(latencies) * 0.95) - 1], 1),
            "max": round(latencies[-1], 1),
        },
        "comments_stored": stored,
        "events_before": before,
        "events_after": after,
        "case_status_after": status_now,
        "database_is_locked_in_log": locked,
        "tracebacks_in_log": tracebacks,
        "bars": {
            f"{args.replies} comments stored": stored == args.replies,
            "no non-2xx/3xx": bad == 0,
            "no 'database is locked'": locked == 0,
        },
    }
    saved = c.save("replies", result)

    print()
    print(f"{args.replies} replies to {ref} from {args.threads} threads in {wall:.2f} s "
          f"({result['replies_per_second']} /s); load average {result['machine']['load_average']}")
    print(f"answers: {codes}; latency {result['latency_ms']}")
    print(f"comments stored: {stored} (events {before} -> {after}, status now {status_now})")
    print(f"'database is locked' in log: {locked}; tracebacks: {tracebacks}")
    ok = all(result["bars"].values()) and tracebacks == 0
    print("meets the bar" if ok else "MISSES the bar")
    print(f"saved {saved}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
