"""gunicorn settings for the portal (gunicorn reads ./gunicorn.conf.py by default):

    .venv/bin/gunicorn app:app

gthread, 2 workers x 8 threads: requests mostly wait on the database, and on two
cores this served about 3x what sync workers did (DESIGN.md, "Known traps").
Everything can be overridden from the environment.
"""

import os

import gunicorn
import gunicorn.http.wsgi

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("PORTAL_WORKERS", "2"))
threads = int(os.environ.get("PORTAL_THREADS", "8"))
# One listening socket per worker (SO_REUSEPORT): the kernel spreads connections
# over the workers. With one shared socket, whichever worker wakes first takes most
# keep-alive connections and the other idles; on the case page at 16 connections
# this took p95 from 120-150 ms to 72 ms (benchmarks/README.md). The price: a
# second server started on the same port by the same user shares it instead of
# failing, so PORTAL_REUSE_PORT=0 turns it off.
reuse_port = os.environ.get("PORTAL_REUSE_PORT", "1") != "0"
keepalive = 5
timeout = 30
graceful_timeout = 10
accesslog = os.environ.get("PORTAL_ACCESS_LOG")  # off unless asked for: it costs throughput
errorlog = "-"
loglevel = os.environ.get("PORTAL_LOG_LEVEL", "info")
# gunicorn >= 25.1 opens a control socket at one fixed path per user
# (~/.gunicorn/gunicorn.ctl): two portals on one machine would fight over it.
control_socket_disable = True

# Do not name the server software in responses. gunicorn has no setting for it
# (benoitc/gunicorn#825); the response reads the module-level SERVER of
# gunicorn.http.wsgi, bound at import, so both names are set. The header stays,
# with an empty value.
gunicorn.SERVER = ""
gunicorn.http.wsgi.SERVER = ""
