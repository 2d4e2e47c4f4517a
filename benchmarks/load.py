"""Load benchmark: the skill endpoint under gunicorn, against a bare Flask JSON echo.

Run from the project root (needs wrk: `apt-get install wrk`):

    python -m benchmarks.load            # 20 s per route, then 60 s sustained on the skill
    python -m benchmarks.load --quick    # a few seconds each: a smoke check, not a result

Both apps are served by gunicorn on 127.0.0.1 (free ports) with the production settings of
gunicorn.conf.py; only request verification is off (JAK_GUIDE_VERIFY_REQUESTS=false), since
wrk cannot sign requests. wrk posts real QuestionIntent envelopes over keep-alive
connections (a closed loop: each connection waits for its reply before sending again); the echo
app gets the same bytes. The bodies are the development questions of
`benchmarks/development_questions/` (paraphrases, misheard, out of scope, emergencies ...),
each a real QuestionIntent envelope, posted in turn: every request is a different question
from the one before, so no cache in the skill can make the figures look better than a varied
stream would.
The two routes are measured in alternating slices of a few seconds,
so that other work on the machine weighs on both alike; the server's CPU time per request is
shown too, as it hardly depends on such noise.

Printed: requests/s and latency percentiles of each route, the skill's share of the echo's
throughput, and a sustained run (60 s by default) with every non-2xx reply and socket error
counted. Targets: skill >= 0.5 x echo throughput, skill p99 < 50 ms, zero errors, and no
ERROR line in the server logs. Exit status 0 when all are met, 1 when not, 2 when the benchmark
could not run. It stops by itself; the servers are stopped at the end, on errors and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONFIG = ROOT / "gunicorn.conf.py"
HOST = "127.0.0.1"  # loopback only: nothing else is ever a target
SKILL_APP = "app:app"
ECHO_APP = "benchmarks.echo_app:app"
SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-00000000b0b0"
MIN_SUSTAIN_SECONDS = 60
SLICE_SECONDS = 5
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# wrk reports the latency at these percentiles; slices are merged from them.
QUANTILES = [round(0.1 * i, 1) for i in range(1, 1000)]

# wrk posts the bodies in turn (each thread from its own place in the list), counts non-2xx
# replies per thread, and prints one JSON line with the totals and the latency quantiles (in
# microseconds) when it is done.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = %(bodies)s
local threads = {}
local requests_ = {}
local next_ = 0
function setup(thread) table.insert(threads, thread) end
function init(args)
  non2xx = 0
  for i, b in ipairs(bodies) do requests_[i] = wrk.format(nil, nil, nil, b) end
  next_ = math.random(#requests_) - 1
end
function request()
  next_ = next_ %% #requests_ + 1
  return requests_[next_]
end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non2xx") end
  local q = {}
  for i = 1, 999 do q[i] = string.format("%%d", latency:percentile(i / 10)) end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "non2xx": %%d, "socket_errors": %%d,'
    .. ' "max_us": %%d, "quantiles_us": [%%s]}\\n',
    summary.requests, summary.duration, bad, e.connect + e.read + e.write + e.timeout,
    latency.max, table.concat(q, ",")))
end
"""


class BenchmarkError(RuntimeError):
    """The benchmark could not run (no wrk, a server that did not start, a bad reply)."""


@dataclass(frozen=True)
class Run:
    """One wrk run: counts, and latency quantiles in ms (QUANTILES, then the maximum)."""

    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    quantiles_ms: tuple[float, ...]
    max_ms: float
    cpu_seconds: float


@dataclass(frozen=True)
class Result:
    """One or more runs of a route, merged."""

    label: str
    runs: tuple[Run, ...]

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.runs)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.runs)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non2xx(self) -> int:
        return sum(r.non2xx for r in self.runs)

    @property
    def socket_errors(self) -> int:
        return sum(r.socket_errors for r in self.runs)

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors

    @property
    def cpu_ms_per_request(self) -> float:
        cpu = sum(r.cpu_seconds for r in self.runs)
        return 1000 * cpu / self.requests if self.requests else 0.0

    def percentile(self, p: float) -> float:
        """The merged latency percentile: each run's quantiles weighted by its requests."""
        points = sorted(
            (value, run.requests / len(run.quantiles_ms))
            for run in self.runs
            for value in run.quantiles_ms
        )
        total = sum(weight for _, weight in points)
        seen = 0.0
        for value, weight in points:
            seen += weight
            if seen >= total * p / 100:
                return value
        return points[-1][0] if points else 0.0

    @property
    def max_ms(self) -> float:
        return max((r.max_ms for r in self.runs), default=0.0)

    def row(self) -> str:
        p50, p90, p99 = (self.percentile(p) for p in (50, 90, 99))
        return (
            f"{self.label:<16} {self.rps:>10.1f} {p50:>7.1f} {p90:>7.1f} {p99:>7.1f}"
            f" {self.max_ms:>7.1f} {self.cpu_ms_per_request:>8.3f} {self.non2xx:>7}"
            f" {self.socket_errors:>6}"
        )


HEADER = (
    f"{'':<16} {'requests/s':>10} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    f" {'CPU ms/r':>8} {'non-2xx':>7} {'socket':>6}"
)


def question_bodies() -> list[bytes]:
    """Real QuestionIntent request envelopes, as Alexa sends them, one per development question."""
    from benchmarks.routing import load_questions
    from skill.envelopes import request_envelope

    return [
        json.dumps(
            request_envelope(
                intent="QuestionIntent", slots={"query": q.text}, new=True, skill_id=SKILL_ID
            )
        ).encode()
        for q in load_questions()
    ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def cpu_seconds(self) -> float:
        """CPU time of gunicorn's master, its workers, and the workers it has reaped."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                pid, ppid = int(stat.parent.name), int(fields[1])
                if pid == self.process.pid:
                    total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
                elif ppid == self.process.pid:
                    total += int(fields[11]) + int(fields[12])
        return total / TICKS_PER_SECOND


    def workers_rss_mb(self) -> float:
        """Resident memory of the workers, in MB (the master only forks them)."""
        total_kb = 0
        for status in Path("/proc").glob("[0-9]*/status"):
            with contextlib.suppress(OSError, ValueError):
                fields = dict(
                    line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
                )
                if int(fields["PPid"]) == self.process.pid:
                    total_kb += int(fields.get("VmRSS", "0 kB").split()[0])
        return total_kb / 1024


@contextlib.contextmanager
def gunicorn(app: str, log_dir: Path, name: str) -> Iterator[Server]:
    """Serve `app` with the production config on a free loopback port."""
    port = free_port()
    env = {
        **os.environ,
        "JAK_GUIDE_VERIFY_REQUESTS": "false",
        "JAK_GUIDE_SKILL_ID": SKILL_ID,
        "JAK_GUIDE_BIND": f"{HOST}:{port}",
    }
    command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), app]
    log = log_dir / f"{name}.log"
    with open(log_dir / f"{name}.access.log", "wb") as out, open(log, "wb") as err:
        # Its own session, so the master and its workers are stopped together by group id.
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True
        )
        try:
            wait_until_listening(process, port)
            yield Server(f"http://{HOST}:{port}/", process, log)
        finally:
            stop(process)


def wait_until_listening(process: subprocess.Popen[bytes], port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(f"gunicorn exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return
        time.sleep(0.1)
    raise BenchmarkError(f"gunicorn did not listen on port {port} within {seconds:g} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to gunicorn's process group, then SIGKILL if it is still there after 25 s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=25)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def post(url: str, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()[:200]


def check_skill_replies(url: str, bodies: Sequence[bytes]) -> int:
    """The benchmark must measure real answers, not refusals or apologies: every body gets
    speech, and most an answer from a topic. Returns how many were answered from a topic."""
    from skill.guide import load_guide
    from skill.prompts import load_prompts

    apology = load_prompts(load_guide()).texts["error"]
    answered = 0
    for body in bodies:
        status, reply = post(url, body)
        if status != 200 or not isinstance(reply, dict):
            raise BenchmarkError(f"the skill answered HTTP {status}: {reply!r:.200}")
        ssml = reply["response"]["outputSpeech"]["ssml"]
        if apology in ssml:
            raise BenchmarkError(f"the skill apologised for an error: {ssml[:120]}")
        answered += bool((reply.get("sessionAttributes") or {}).get("topic"))
    if answered < len(bodies) / 2:
        raise BenchmarkError(f"only {answered} of {len(bodies)} questions answered from a topic")
    return answered


def check_echo_reply(url: str, body: bytes) -> None:
    status, reply = post(url, body)
    if status != 200 or reply != json.loads(body):
        raise BenchmarkError(f"the echo app answered HTTP {status}: {reply!r:.200}")


def run_wrk(server: Server, script: Path, seconds: float, connections: int, threads: int) -> Run:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        server.url,
    ]
    cpu_before = server.cpu_seconds()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchmarkError(f"wrk did not finish within {seconds + 60:g} s") from exc
    cpu = server.cpu_seconds() - cpu_before
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise BenchmarkError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    data = json.loads(line.removeprefix("RESULT "))
    return Run(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        non2xx=data["non2xx"],
        socket_errors=data["socket_errors"],
        quantiles_ms=tuple(q / 1000 for q in data["quantiles_us"]),
        max_ms=data["max_us"] / 1000,
        cpu_seconds=cpu,
    )


def error_lines(log: Path) -> list[str]:
    """Server log lines at ERROR or above (JSON lines; a line that is not JSON counts too)."""
    bad = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            level = json.loads(line).get("level")
        except (ValueError, AttributeError):
            level = "not JSON"
        if level not in ("DEBUG", "INFO", "WARNING"):
            bad.append(line)
    return bad


def server_settings() -> str:
    code = (
        "import runpy, json; c = runpy.run_path('gunicorn.conf.py');"
        "print(json.dumps({k: c[k] for k in ('worker_class', 'workers', 'threads')}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    s = json.loads(done.stdout)
    return f"gunicorn {s['worker_class']}, {s['workers']} workers x {s['threads']} threads"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=20, help="seconds of load per route [20]")
    parser.add_argument(
        "--sustain",
        type=float,
        default=MIN_SUSTAIN_SECONDS,
        help=f"seconds of the sustained run on the skill [{MIN_SUSTAIN_SECONDS}]",
    )
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections [32]")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads [1]")
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke check only")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.sustain = 4.0, 5.0
    elif args.sustain < MIN_SUSTAIN_SECONDS:
        parser.error(f"--sustain must be at least {MIN_SUSTAIN_SECONDS} s (or use --quick)")
    if not 1 <= args.connections <= 1000:
        parser.error("--connections must be from 1 to 1000")
    if not 1 <= args.duration <= 600 or args.sustain > 1800:
        parser.error("--duration must be from 1 to 600 s, --sustain at most 1800 s")
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    # Ctrl-C (even when started where SIGINT is ignored) and a plain `kill` both end the run
    # through the `finally` blocks that stop the servers.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    try:
        return run(args)
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130


def run(args: argparse.Namespace) -> int:
    bodies = question_bodies()
    slices = max(1, round(args.duration / SLICE_SECONDS))
    print(
        f"{server_settings()}; wrk {args.wrk_threads} thread(s), {args.connections}"
        f" connections on {HOST}; {len(os.sched_getaffinity(0))} cores,"
        f" load average {os.getloadavg()[0]:.2f} at start"
    )
    with tempfile.TemporaryDirectory(prefix="jak-guide-load-") as tmp:
        logs = Path(tmp)
        script = logs / "post.lua"
        lua_bodies = "{" + ",".join(json.dumps(b.decode()) for b in bodies) + "}"
        script.write_text(WRK_SCRIPT % {"bodies": lua_bodies})
        wrk = {"script": script, "connections": args.connections, "threads": args.wrk_threads}
        with (
            gunicorn(SKILL_APP, logs, "skill") as skill_server,
            gunicorn(ECHO_APP, logs, "echo") as echo_server,
        ):
            answered = check_skill_replies(skill_server.url, bodies)
            for body in bodies[:: max(1, len(bodies) // 20)]:
                check_echo_reply(echo_server.url, body)
            print(
                f"pre-flight: {len(bodies)} different questions; the skill answers every one,"
                f" {answered} from a topic; the echo echoes"
            )
            for server in (skill_server, echo_server):
                run_wrk(server, seconds=2, **wrk)  # warm-up, not counted
            skill_runs: list[Run] = []
            echo_runs: list[Run] = []
            seconds = args.duration / slices
            print(f"measuring {slices} alternating slice(s) of {seconds:g} s per route ...")
            for i in range(slices):  # alternate which route goes first, too
                order = [(skill_server, skill_runs), (echo_server, echo_runs)]
                for server, runs in order if i % 2 == 0 else reversed(order):
                    runs.append(run_wrk(server, seconds=seconds, **wrk))
            print(f"sustained run: {args.sustain:g} s on the skill ...")
            rss_before = skill_server.workers_rss_mb()
            sustained_run = run_wrk(skill_server, seconds=args.sustain, **wrk)
            rss_after = skill_server.workers_rss_mb()
            print(
                f"skill workers' memory: {rss_before:.1f} MB before the sustained run,"
                f" {rss_after:.1f} MB after"
            )
            check_skill_replies(skill_server.url, bodies[:20])
        server_errors = error_lines(logs / "skill.log") + error_lines(logs / "echo.log")
    skill = Result("skill  POST /", tuple(skill_runs))
    echo = Result("echo   POST /", tuple(echo_runs))
    sustained = Result(f"sustained {args.sustain:g} s", (sustained_run,))
    return report(args, skill, echo, sustained, server_errors)


def report(
    args: argparse.Namespace,
    skill: Result,
    echo: Result,
    sustained: Result,
    server_errors: list[str],
) -> int:
    ratio = skill.rps / echo.rps if echo.rps else 0.0
    cpu_ratio = echo.cpu_ms_per_request / skill.cpu_ms_per_request if skill.requests else 0.0
    skill_p99 = skill.percentile(99)
    checks = [
        (
            f"skill/echo throughput {ratio:.2f} (target >= {TARGET_RATIO});"
            f" by server CPU per request {cpu_ratio:.2f}",
            ratio >= TARGET_RATIO,
        ),
        (
            f"skill p99 {skill_p99:.1f} ms (target < {TARGET_P99_MS:g} ms)",
            skill_p99 < TARGET_P99_MS,
        ),
        (
            f"sustained {sustained.seconds:.0f} s at {args.connections} connections:"
            f" {sustained.requests} requests, {sustained.errors} errors"
            f" ({sustained.non2xx} non-2xx, {sustained.socket_errors} socket) (target 0)",
            sustained.errors == 0 and skill.errors == 0 and echo.errors == 0,
        ),
        (f"server log lines at ERROR or above: {len(server_errors)}", not server_errors),
    ]
    print()
    print(HEADER)
    for result in (skill, echo, sustained):
        print(result.row())
    print(f"(load average {os.getloadavg()[0]:.2f} at the end)")
    print()
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    for line in server_errors[:5]:
        print(f"      {line[:200]}")
    if args.quick:
        print("(--quick: short runs, a smoke check only)")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
