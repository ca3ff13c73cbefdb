"""Bar: the timeline poll with nothing new serves at least 50% of the requests per
second of /healthz in the same run, with p99 under 25 ms at 16 connections.

    .venv/bin/python benchmarks/poll.py [--seconds 10] [--rounds 3] [--rebuild]

100,000 cases and 1,000,000 events (built once in $BENCH_INSTANCE_DIR, default
/tmp/bench-instance), gunicorn gthread 2 workers x 8 threads, wrk on 127.0.0.1.
The poll is a signed-in customer's htmx request for an open case of their account,
``after`` its last event: it must answer 204.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import _common as c


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--rounds", type=int, default=3,
        help="alternate healthz and poll N times and take the medians (the machine may be shared)",
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rebuild", action="store_true", help="regenerate the data set")
    args = parser.parse_args()

    instance = c.DEFAULT_INSTANCE
    data = c.ensure_dataset(instance, rebuild=args.rebuild)
    cases, events = c.counts(instance)
    case_id = c.query(
        instance,
        "SELECT id FROM \"case\" WHERE account_id = ? AND status = 'in_progress' "
        "ORDER BY id LIMIT 1 OFFSET 100",
        data["big_account_id"],
    )[0][0]
    last = c.query(instance, "SELECT max(id) FROM case_event WHERE case_id = ?", case_id)[0][0]
    ref = c.reference(case_id)
    path = f"/cases/{ref}/timeline?after={last}"

    with c.gunicorn(instance, "poll", max_seconds=120 + 4 * args.seconds * args.rounds) as server:
        cookie = c.login(server, data["customer"])
        headers = {"Cookie": cookie, "HX-Request": "true"}
        status, _, body = c.request(server, "GET", path, headers=headers)
        if status != 204:
            sys.exit(f"{path} answered {status}, not 204:\n{body[:500]}")
        # Warm both paths up (imports, template and statement caches, page cache).
        c.wrk(server.base + "/healthz", seconds=2, connections=args.connections)
        c.wrk(server.base + path, headers=headers, seconds=2, connections=args.connections)
        health_runs, poll_runs = [], []
        for _ in range(args.rounds):
            health_runs.append(
                c.wrk(server.base + "/healthz", seconds=args.seconds,
                      connections=args.connections, server=server)
            )
            poll_runs.append(
                c.wrk(server.base + path, headers=headers, seconds=args.seconds,
                      connections=args.connections, server=server)
            )
        status, _, _ = c.request(server, "GET", path, headers=headers)
        log_text = server.log_text()

    def median(runs, key):
        return statistics.median(r[key] for r in runs)

    health_rps = median(health_runs, "requests_per_second")
    poll_rps = median(poll_runs, "requests_per_second")
    poll_p99 = statistics.median(r["latency_ms"]["p99"] for r in poll_runs)
    ratio = poll_rps / health_rps
    health_cpu = statistics.median(r["server_cpu_ms_per_request"] for r in health_runs)
    poll_cpu = statistics.median(r["server_cpu_ms_per_request"] for r in poll_runs)
    errors = sum(sum(r["errors"].values()) for r in health_runs + poll_runs)
    result = {
        "machine": c.machine(),
        "data": {"cases": cases, "events": events, "generate": data["generate_output"]},
        "poll_path": path,
        "poll_status_after_run": status,
        "healthz": health_runs,
        "poll": poll_runs,
        "healthz_rps": health_rps,
        "poll_rps": poll_rps,
        "ratio": round(ratio, 3),
        "poll_p99_ms": poll_p99,
        "healthz_server_cpu_ms": health_cpu,
        "poll_server_cpu_ms": poll_cpu,
        "errors": errors,
        "server_errors_in_log": log_text.count("Traceback"),
        "bars": {"ratio >= 0.5": ratio >= 0.5, "p99 < 25 ms": poll_p99 < 25},
    }
    saved = c.save("poll", result)

    print()
    print(f"data: {cases:,} cases, {events:,} events; load average {result['machine']['load_average']}")
    for name, runs in (("/healthz", health_runs), (path, poll_runs)):
        for r in runs:
            lat = r["latency_ms"]
            print(f"{name:45s} {r['requests_per_second']:8.1f} req/s  p50 {lat['p50']:.2f} ms  "
                  f"p90 {lat['p90']:.2f}  p99 {lat['p99']:.2f}  max {lat['max']:.1f}  "
                  f"server CPU {r['server_cpu_ms_per_request']:.2f} ms/req  "
                  f"errors {sum(r['errors'].values())}")
    print(f"poll / healthz = {ratio:.2f} ({c.verdict(ratio >= 0.5)}: >= 0.50; medians of {args.rounds})")
    print(f"server CPU per request: healthz {health_cpu:.2f} ms, poll {poll_cpu:.2f} ms "
          f"(CPU ratio {health_cpu / poll_cpu:.2f}: what the throughput ratio tends to on an idle machine)")
    print(f"poll p99 = {poll_p99:.2f} ms ({c.verdict(poll_p99 < 25)}: < 25 ms)")
    print(f"commands: {health_runs[0]['command']}\n          {poll_runs[0]['command']}")
    print(f"saved {saved}")
    ok = all(result["bars"].values()) and errors == 0 and status == 204
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
