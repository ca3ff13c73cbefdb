"""Bar: the case page (50 events) and the case list (25 of 100,000 cases) answer
with p95 under 50 ms under the load of poll.py (wrk, 16 connections, gunicorn
gthread 2 workers x 8 threads).

    .venv/bin/python benchmarks/pages.py [--seconds 10] [--only case,list-all]

Pages measured (full pages, as a browser without htmx gets them):
  case       /cases/<ref>            the customer's page of the 50-event case
  desk-case  /desk/cases/<ref>       the same case for an agent (internal notes too)
  list-all   /cases?status=          a customer whose account holds all 100,000 cases, all statuses
  list       /cases                  the same customer, default filter (open cases)
  desk-all   /desk?status=           the staff queue over all 100,000 cases
  desk       /desk                   the staff queue, default filter (open cases)
The bar applies to "case" and "list-all"; the others are for reference.
"""

from __future__ import annotations

import argparse
import re
import sys

import _common as c

BARRED = ("case", "list-all")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", default="", help="comma-separated page names")
    args = parser.parse_args()

    instance = c.DEFAULT_INSTANCE
    data = c.ensure_dataset(instance)
    cases, events = c.counts(instance)
    long_ref = c.reference(data["long_case_id"])
    pages = {
        "case": ("customer-long", f"/cases/{long_ref}"),
        "desk-case": ("agent", f"/desk/cases/{long_ref}"),
        "list-all": ("customer", "/cases?status="),
        "list": ("customer", "/cases"),
        "desk-all": ("agent", "/desk?status="),
        "desk": ("agent", "/desk"),
    }
    wanted = [p for p in args.only.split(",") if p] or list(pages)
    emails = {
        "customer": data["customer"],
        "customer-long": data["long_case_customer"],
        "agent": data["agent"],
    }
    results = {}
    seconds_needed = 120 + len(wanted) * (args.seconds + 4)
    with c.gunicorn(instance, "pages", max_seconds=seconds_needed) as server:
        cookies = {who: c.login(server, email) for who, email in emails.items()}
        for name in wanted:
            who, path = pages[name]
            headers = {"Cookie": cookies[who]}
            status, _, body = c.request(server, "GET", path, headers=headers)
            if status != 200:
                sys.exit(f"{path} answered {status}:\n{body[:1000]}")
            shown = {
                "events": len(re.findall(r'<li id="event-\d+"', body)),
                "case_rows": len(set(re.findall(r"CS-\d{6}", body))),
                "bytes": len(body.encode()),
            }
            c.wrk(server.base + path, headers=headers, seconds=2, connections=args.connections)
            run = c.wrk(server.base + path, headers=headers, seconds=args.seconds,
                        connections=args.connections, server=server)
            run["shown"] = shown
            results[name] = {"path": path, "as": who, **run}
        server_errors = server.log_text().count("Traceback")

    summary = {
        "machine": c.machine(),
        "data": {"cases": cases, "events": events},
        "pages": results,
        "server_errors_in_log": server_errors,
        "bars": {
            f"{name} p95 < 50 ms": results[name]["latency_ms"]["p95"] < 50
            for name in BARRED
            if name in results
        },
    }
    saved = c.save("pages", summary)

    print()
    print(f"data: {cases:,} cases, {events:,} events; load average {summary['machine']['load_average']}")
    for name, r in results.items():
        lat = r["latency_ms"]
        bar = f"  ({c.verdict(lat['p95'] < 50)}: p95 < 50 ms)" if name in BARRED else ""
        print(f"{name:10s} {r['path']:28s} {r['requests_per_second']:7.1f} req/s  p50 {lat['p50']:6.1f} ms  "
              f"p95 {lat['p95']:6.1f}  p99 {lat['p99']:6.1f}  CPU {r['server_cpu_ms_per_request']:5.2f} ms/req  "
              f"errors {sum(r['errors'].values())}  "
              f"shows {r['shown']}{bar}")
    print(f"command (each page): {next(iter(results.values()))['command']}")
    print(f"saved {saved}")
    ok = all(summary["bars"].values()) and server_errors == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
