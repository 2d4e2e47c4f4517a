"""Production gunicorn settings for JAK Guide: `gunicorn -c gunicorn.conf.py app:app`.

Request verification stays on (the app's default). Put the server behind a TLS reverse proxy
and set JAK_GUIDE_SKILL_ID. Environment overrides:

| variable | default | meaning |
| --- | --- | --- |
| JAK_GUIDE_BIND | 127.0.0.1:8000 | address to listen on (the proxy's upstream) |
| JAK_GUIDE_WORKERS | one per CPU core | worker processes |
| JAK_GUIDE_THREADS | 4 | threads per worker |
| JAK_GUIDE_WORKER_CLASS | gthread | gunicorn worker class |
| JAK_GUIDE_LOG_LEVEL | INFO | level of the app's and gunicorn's own logs |

Logs are JSON lines (skill/log_format.py): access lines on stdout, everything else on stderr.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

# The config file is run before the app is imported: make the project importable from here.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from skill.log_format import dict_config


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use, not the host's
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


wsgi_app = "app:app"
bind = [os.environ.get("JAK_GUIDE_BIND", "127.0.0.1:8000")]
# The skill is CPU-bound Python: one process per core does the work, and a few threads each
# keep keep-alive connections and the rare certificate fetch (up to 3 s) from blocking it.
worker_class = os.environ.get("JAK_GUIDE_WORKER_CLASS", "gthread")
workers = int(os.environ.get("JAK_GUIDE_WORKERS") or _cpu_count())
threads = int(os.environ.get("JAK_GUIDE_THREADS") or 4)
# Load the content once in the master, then fork: a broken content file stops start-up once,
# loudly, and workers start (and restart) in milliseconds.
preload_app = True
backlog = 256

# Nothing hangs: a worker silent for 30 s is killed, a shutdown waits 20 s at most, an idle
# keep-alive connection is closed after 5 s (Alexa's own timeout for a reply is 8 s).
timeout = 30
graceful_timeout = 20
keepalive = 5
# Alexa's requests have one short request line and a handful of headers.
limit_request_line = 2048
limit_request_fields = 50
limit_request_field_size = 8190
# Each worker listens on its own socket (SO_REUSEPORT), so the kernel spreads connections
# evenly over the workers. With one shared socket, a burst of keep-alive connections (from a
# proxy, or wrk) was often all accepted by one worker, which then did the work of two on one
# core: half the throughput for as long as the connections lived (measured with
# `python -m benchmarks.load`). The price: a connection waiting in a worker's own queue when
# that worker exits is reset. So workers are not recycled after N requests (every cache in
# the skill is bounded, and memory stays flat under the 60 s sustained run); a worker only
# exits when it fails or is stopped.
reuse_port = True
max_requests = 0

# Trust X-Forwarded-* only from a proxy on this machine.
forwarded_allow_ips = "127.0.0.1,::1"
# Gunicorn >= 24 opens a control socket in ~/.gunicorn by default; nothing here uses it.
control_socket_disable = True
proc_name = "jak-guide"

# JSON lines; the access line has method, path (never the query string), status, size and
# duration, and no client address or header (skill/log_format.py picks those fields).
accesslog = "-"
errorlog = "-"
access_log_format = "%(m)s %(U)s %(s)s %(B)s %(M)sms"
loglevel = os.environ.get("JAK_GUIDE_LOG_LEVEL", "INFO").lower()
logconfig_dict = dict_config(level=loglevel.upper())


def pre_fork(server: object, worker: object) -> None:
    """Freeze what the master loaded (guide, router index, ask-sdk models) out of the garbage
    collector's reach: it lives as long as the worker does. A full collection then walks only
    a request's own objects (about 13 ms less each time, a pause every request on that worker
    waits for), and no collection writes to the shared pages, so forked workers keep sharing
    them."""
    gc.freeze()
