"""Where the time of one route goes: cProfile over N in-process requests (Flask test
client, no gunicorn) against the benchmark data set, plus the SQL it runs.

    .venv/bin/python benchmarks/profile_request.py ROUTE [-n 500]

ROUTE is one of poll, case, desk-case, list, list-all, desk, desk-all, healthz (the
pages of poll.py and pages.py), or kb (a signed-in page with little of its own: what
every page costs). BENCH_APP_ROOT runs another copy of the code (to measure a change
before making it), BENCH_INSTANCE_DIR another database.

Prints the top functions by cumulative and own time and every SQL statement of one
request with its time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time

import _common as c

sys.path.insert(0, str(c.APP_ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("route", choices=["poll", "case", "desk-case", "list", "list-all", "desk", "desk-all", "kb", "healthz"])
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument(
        "--cpu", action="store_true", help="no profiler: CPU time per request, best of 3 runs"
    )
    args = parser.parse_args()

    data = c.ensure_dataset(c.DEFAULT_INSTANCE)
    os.environ.update(c.environment(c.DEFAULT_INSTANCE))
    from sqlalchemy import event

    from portal import create_app
    from portal.extensions import db

    app = create_app()
    client = app.test_client()
    env = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": c.USER_AGENT}
    headers = {}
    if args.route == "case":
        email = data["long_case_customer"]
        path = f"/cases/{c.reference(data['long_case_id'])}"
    elif args.route == "desk-case":
        email, path = data["agent"], f"/desk/cases/{c.reference(data['long_case_id'])}"
    elif args.route in ("desk", "desk-all"):
        email, path = data["agent"], "/desk" if args.route == "desk" else "/desk?status="
    elif args.route == "healthz":
        email, path = None, "/healthz"
    elif args.route == "kb":  # a signed-in page with little of its own: the fixed cost
        email, path = data["customer"], "/kb"
    else:
        email = data["customer"]
        if args.route == "poll":
            case_id = c.query(
                c.DEFAULT_INSTANCE,
                "SELECT id FROM \"case\" WHERE account_id = ? AND status = 'in_progress' "
                "ORDER BY id LIMIT 1 OFFSET 100",
                data["big_account_id"],
            )[0][0]
            last = c.query(
                c.DEFAULT_INSTANCE, "SELECT max(id) FROM case_event WHERE case_id = ?", case_id
            )[0][0]
            path = f"/cases/{c.reference(case_id)}/timeline?after={last}"
            headers = {"HX-Request": "true"}
        else:
            path = "/cases" if args.route == "list" else "/cases?status="
    if email:
        page = client.get("/login", environ_base=env).text
        response = client.post(
            "/login",
            data={"csrf_token": c.csrf_token(page), "email": email, "password": c.PASSWORD},
            environ_base=env,
        )
        assert response.status_code == 303, response.status_code

    statements: list[tuple[float, str]] = []
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        statements.append(((time.perf_counter() - conn.info["t0"]) * 1000, f"{statement} {parameters}"))

    response = client.get(path, headers=headers, environ_base=env)
    print(f"{path}: {response.status_code}, {len(response.data)} bytes")
    statements.clear()
    client.get(path, headers=headers, environ_base=env)
    print(f"\n{len(statements)} SQL statements in one request:")
    for ms, sql in statements:
        print(f"  {ms:7.2f} ms  {' '.join(sql.split())[:400]}")

    if args.cpu:
        best = min(_cpu_per_request(client, path, headers, env, args.n) for _ in range(3))
        print(f"\n{args.n} requests, best of 3: {best * 1000:.3f} ms of CPU each (test client included)")
        return 0

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(args.n):
        client.get(path, headers=headers, environ_base=env)
    profiler.disable()
    elapsed = time.perf_counter() - started
    print(f"\n{args.n} requests in {elapsed:.2f} s under cProfile: {elapsed / args.n * 1000:.2f} ms each")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


def _cpu_per_request(client, path, headers, env, n) -> float:
    started = time.process_time()
    for _ in range(n):
        client.get(path, headers=headers, environ_base=env)
    return (time.process_time() - started) / n


if __name__ == "__main__":
    sys.exit(main())
