"""What every benchmark shares: the throwaway data set, a gunicorn it starts and
stops by pid, a signed-in session made with nothing but http.client, and wrk.

Everything stays on 127.0.0.1. Each server runs under coreutils ``timeout`` so it
cannot outlive a benchmark that is killed, and is stopped by pid when done.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
# The tree gunicorn serves: this checkout, or a copy with a change to measure.
APP_ROOT = Path(os.environ.get("BENCH_APP_ROOT", str(ROOT)))
OUT = Path(__file__).resolve().parent / "out"
WRK = "/usr/bin/wrk"
WRK_SCRIPT = Path(__file__).resolve().parent / "report.lua"
DEFAULT_INSTANCE = Path(os.environ.get("BENCH_INSTANCE_DIR", "/tmp/bench-instance"))
USER_AGENT = "portal-bench/1"  # the same on login and on every request: sessions are "strong"
PASSWORD = "demo"  # what `flask demo generate` gives every user it makes

CASES = 100_000
EVENTS_PER_CASE = 10
LONG_CASE_EVENTS = 50


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def environment(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        PORTAL_INSTANCE_DIR=str(instance),
        # A benchmark signs in a few times a run; the default limit is per minute.
        PORTAL_LOGIN_RATE_LIMIT="1000 per minute",
        PORTAL_MAIL_SUPPRESS_SEND="1",
        **extra,
    )
    return env


def flask(instance: Path, *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=environment(instance),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def database(instance: Path) -> Path:
    return instance / "portal.sqlite3"


def query(instance: Path, sql: str, *params):
    with sqlite3.connect(f"file:{database(instance)}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute(sql, params).fetchall()


def ensure_dataset(instance: Path = DEFAULT_INSTANCE, rebuild: bool = False) -> dict:
    """100,000 cases x 10 events in one account (so one customer's list holds all of
    them), plus one case of 50 events in a second account. Built once, then reused."""
    marker = instance / "bench-dataset.json"
    if marker.exists() and not rebuild:
        return json.loads(marker.read_text())
    if instance.exists():
        for name in ("portal.sqlite3", "portal.sqlite3-wal", "portal.sqlite3-shm", marker.name):
            (instance / name).unlink(missing_ok=True)
    instance.mkdir(parents=True, exist_ok=True)
    log(f"building the data set in {instance}")
    flask(instance, "db", "upgrade")
    command = [
        "demo", "generate", "--cases", str(CASES), "--events-per-case", str(EVENTS_PER_CASE),
        "--accounts", "1", "--seed", "1",
    ]
    started = time.perf_counter()
    bulk = flask(instance, *command, timeout=600)
    seconds = time.perf_counter() - started
    log(bulk.splitlines()[0])
    long_case = flask(
        instance, "demo", "generate", "--cases", "1", "--events-per-case",
        str(LONG_CASE_EVENTS), "--accounts", "1", "--seed", "2",
    )
    big_account, _ = query(
        instance,
        'SELECT account_id, count(*) FROM "case" GROUP BY account_id ORDER BY 2 DESC LIMIT 1',
    )[0]
    long_case_id, long_account = query(
        instance, 'SELECT id, account_id FROM "case" ORDER BY id DESC LIMIT 1'
    )[0]
    info = {
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "generate_command": "flask --app app demo generate " + " ".join(command[2:]),
        "generate_output": bulk,
        "generate_wall_seconds": round(seconds, 1),
        "long_case_output": long_case,
        "big_account_id": big_account,
        "customer": _first_customer(instance, big_account),
        "long_case_id": long_case_id,
        "long_case_customer": _first_customer(instance, long_account),
        "agent": query(instance, "SELECT email FROM user WHERE role = 'agent' ORDER BY id LIMIT 1")[0][0],
    }
    marker.write_text(json.dumps(info, indent=2))
    return info


def _first_customer(instance: Path, account_id: int) -> str:
    return query(
        instance,
        "SELECT email FROM user WHERE role = 'customer' AND account_id = ? ORDER BY id LIMIT 1",
        account_id,
    )[0][0]


def counts(instance: Path) -> tuple[int, int]:
    return (
        query(instance, 'SELECT count(*) FROM "case"')[0][0],
        query(instance, "SELECT count(*) FROM case_event")[0][0],
    )


def reference(case_id: int) -> str:
    return f"CS-{case_id:06d}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, process: subprocess.Popen, port: int, log_path: Path):
        self.process = process
        self.port = port
        self.log_path = log_path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server's processes. Far less
        sensitive to other load on the machine than requests per second."""
        children: dict[int, list[int]] = {}
        times: dict[int, float] = {}
        tick = os.sysconf("SC_CLK_TCK")
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            pid = int(entry.name)
            children.setdefault(int(fields[1]), []).append(pid)
            times[pid] = (int(fields[11]) + int(fields[12])) / tick
        total, todo = 0.0, [self.process.pid]
        while todo:
            pid = todo.pop()
            total += times.get(pid, 0.0)
            todo.extend(children.get(pid, []))
        return total


@contextmanager
def gunicorn(instance: Path, name: str, max_seconds: int = 900, **env: str):
    """gunicorn with the repository's gunicorn.conf.py (gthread, 2 workers x 8 threads)."""
    OUT.mkdir(exist_ok=True)
    port = free_port()
    log_path = OUT / f"{name}-gunicorn.log"
    with log_path.open("w") as out:
        process = subprocess.Popen(
            # timeout bounds the server's life even if this script dies; it passes
            # our TERM on to gunicorn.
            ["timeout", "--kill-after=10", str(max_seconds), str(BIN / "gunicorn"),
             "-c", str(ROOT / "gunicorn.conf.py"), "--chdir", str(APP_ROOT), "app:app"],
            cwd=APP_ROOT,
            env=environment(instance, PORTAL_BIND=f"127.0.0.1:{port}", **env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, log_path)
    try:
        _wait_until_up(server)
        log(f"gunicorn pid {process.pid} on {server.base} (log {log_path})")
        yield server
    finally:
        _stop(process)
        log(f"gunicorn pid {process.pid} stopped")


def _wait_until_up(server: Server, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            sys.exit(f"gunicorn exited:\n{server.log_text()}")
        try:
            status, _, _ = request(server, "GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"gunicorn did not come up in {seconds} s:\n{server.log_text()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            # Our own process group (start_new_session), addressed by its id.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def request(
    server: Server,
    method: str,
    path: str,
    cookie: str | None = None,
    headers: dict | None = None,
    form: dict | None = None,
    timeout: float = 30,
) -> tuple[int, http.client.HTTPMessage, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        sent = {"User-Agent": USER_AGENT, **(headers or {})}
        if cookie:
            sent["Cookie"] = cookie
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        return response.status, response.headers, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


_CSRF_INPUT = re.compile(r"<input[^>]*name=\"csrf_token\"[^>]*>")
_VALUE = re.compile(r"value=\"([^\"]+)\"")


def csrf_token(page: str) -> str:
    field = _CSRF_INPUT.search(page)
    match = _VALUE.search(field.group(0)) if field else None
    if match is None:
        sys.exit("no csrf_token field on the page")
    return match.group(1)


def _session_cookie(headers: http.client.HTTPMessage, current: str | None) -> str | None:
    for raw in headers.get_all("Set-Cookie") or []:
        jar = SimpleCookie()
        jar.load(raw)
        if "session" in jar:
            return f"session={jar['session'].value}"
    return current


def login(server: Server, email: str, password: str = PASSWORD) -> str:
    """Sign in like a browser without JavaScript: GET the form, POST it back with
    its CSRF token and the session cookie; return the signed-in session cookie."""
    status, headers, page = request(server, "GET", "/login")
    if status != 200:
        sys.exit(f"GET /login answered {status}")
    cookie = _session_cookie(headers, None)
    form = {"csrf_token": csrf_token(page), "email": email, "password": password}
    status, headers, page = request(server, "POST", "/login", cookie=cookie, form=form)
    if status != 303:
        sys.exit(f"sign-in as {email} answered {status}:\n{page[:2000]}")
    return _session_cookie(headers, cookie)


def wrk(
    url: str,
    headers: dict | None = None,
    seconds: int = 15,
    connections: int = 16,
    threads: int = 2,
    server: Server | None = None,
) -> dict:
    """Run wrk and return its figures (latencies in milliseconds) plus its own text,
    and, given the server, the server's CPU milliseconds per request."""
    # A generous timeout: a slow answer is measured, not dropped as a timeout.
    command = [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "--latency", "-s", str(WRK_SCRIPT)]
    for name, value in {"User-Agent": USER_AGENT, **(headers or {})}.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    cpu_before = server.cpu_seconds() if server else 0.0
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    cpu = server.cpu_seconds() - cpu_before if server else None
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if result.returncode != 0 or line is None:
        sys.exit(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    seconds_run = figures["duration_us"] / 1e6
    latency = {k: v / 1000 for k, v in figures.pop("latency_us").items()}
    errors = figures.pop("errors")
    return {
        "requests": figures["requests"],
        "requests_per_second": round(figures["requests"] / seconds_run, 1),
        "latency_ms": {k: round(v, 2) for k, v in latency.items()},
        "errors": errors,
        "server_cpu_ms_per_request": (
            round(cpu * 1000 / figures["requests"], 3) if cpu is not None and figures["requests"] else None
        ),
        "text": "\n".join(x for x in result.stdout.splitlines() if not x.startswith("WRK_JSON ")),
        "command": " ".join(_quote(c) for c in command),
    }


def _quote(arg: str) -> str:
    if arg.startswith("Cookie: "):
        arg = "Cookie: session=<signed-in session>"
    return f"'{arg}'" if any(c in arg for c in " ;:=&?") and not arg.startswith("-") else arg


def machine() -> dict:
    return {
        "date": subprocess.run(["date"], capture_output=True, text=True).stdout.strip(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "gunicorn": subprocess.run(
            [str(BIN / "gunicorn"), "--version"], capture_output=True, text=True
        ).stdout.strip(),
        "sqlite": sqlite3.sqlite_version,
    }


def save(name: str, result: dict) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(result, indent=2))
    return path


def verdict(ok: bool) -> str:
    return "meets the bar" if ok else "MISSES the bar"
