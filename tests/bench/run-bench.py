#!/usr/bin/env python3
"""Switchyard benchmark driver: switchyard vs HAProxy vs nginx stream, side by side, in one run.

Starts on loopback the backends (nginx HTTP on :8080, redis on :6379, iperf3 on :5201, the
switchyard-loadgen echo server on :9400), HAProxy, nginx stream and switchyard in front of them,
then measures each row directly and through each proxy and prints a Markdown table of figures and
ratios. Every process it starts is stopped on exit (normal end, error, Ctrl-C, SIGTERM).

The HAProxy and nginx settings are those behind the baseline figures in DESIGN.md (HAProxy
`mode tcp`, 2 threads; nginx stream, 2 workers, reuseport; nginx HTTP backend with 1 worker), plus
one frontend each for the echo server. See tests/bench/README.md.

Python 3 standard library only.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"

# Backends.
HTTP_PORT, IPERF_PORT, REDIS_PORT, ECHO_PORT = 8080, 5201, 6379, 9400
# Proxy listeners per backend: 91xx HTTP, 92xx iperf3, 93xx redis, 94xx echo; last digit 1 =
# HAProxy, 2 = nginx stream, 3 = switchyard (the numbering of the peer configurations).
PROXY_PORTS = {
    "haproxy": {"http": 9101, "iperf": 9201, "redis": 9301, "echo": 9401},
    "nginx": {"http": 9102, "iperf": 9202, "redis": 9302, "echo": 9402},
    "switchyard": {"http": 9103, "iperf": 9203, "redis": 9303, "echo": 9403},
}
DIRECT_PORTS = {"http": HTTP_PORT, "iperf": IPERF_PORT, "redis": REDIS_PORT, "echo": ECHO_PORT}
# Switchyard framed listeners in front of the echo server (--framed, --metrics-cost).
SWITCHYARD_LINE_PORT, SWITCHYARD_LENGTH_PORT = 9413, 9423
SWITCHYARD_METRICS_PORT = 9464  # the exporter in the --metrics-cost "on" run

TARGETS = ["direct", "haproxy", "nginx", "switchyard"]
TARGET_TITLES = {"direct": "direct", "haproxy": "HAProxy", "nginx": "nginx stream", "switchyard": "switchyard"}

NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
APT_HINT = {
    "wrk": "wrk", "redis-benchmark": "redis-tools", "redis-server": "redis-server", "iperf3": "iperf3",
    "haproxy": "haproxy", "nginx": "nginx", NGINX_STREAM_MODULE: "libnginx-mod-stream",
}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """A failure that ends the run with a clear message (no traceback)."""


# --------------------------------------------------------------------------------------------
# Configurations. Same settings as the peer configurations behind DESIGN.md's baseline; pid and
# log files go to the run's work directory instead of /tmp so runs never collide.
# --------------------------------------------------------------------------------------------

def nginx_backend_conf(work: Path) -> str:
    return f"""worker_processes 1;
pid {work}/nginx-backend.pid;
error_log {work}/nginx-backend.err;
events {{ worker_connections 10000; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    server {{ listen {HOST}:{HTTP_PORT}; location / {{ return 200 "hello\\n"; }} }}
}}
"""


def nginx_stream_conf(work: Path) -> str:
    p = PROXY_PORTS["nginx"]
    return f"""worker_processes 2;
pid {work}/nginx-stream.pid;
error_log {work}/nginx-stream.err;
load_module {NGINX_STREAM_MODULE};
events {{ worker_connections 10000; }}
stream {{
    upstream be {{ server {HOST}:{HTTP_PORT}; }}
    server {{ listen {HOST}:{p['http']} reuseport; proxy_pass be; }}
    server {{ listen {HOST}:{p['iperf']} reuseport; proxy_pass {HOST}:{IPERF_PORT}; }}
    server {{ listen {HOST}:{p['iperf']} udp reuseport; proxy_pass {HOST}:{IPERF_PORT}; proxy_timeout 30s; }}
    server {{ listen {HOST}:{p['redis']} reuseport; proxy_pass {HOST}:{REDIS_PORT}; }}
    server {{ listen {HOST}:{p['echo']} reuseport; proxy_pass {HOST}:{ECHO_PORT}; }}
}}
"""


def haproxy_cfg() -> str:
    p = PROXY_PORTS["haproxy"]
    return f"""global
    maxconn 9000
    nbthread 2
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend fe
    bind {HOST}:{p['http']}
    default_backend be
backend be
    balance roundrobin
    server s1 {HOST}:{HTTP_PORT}
frontend fe_iperf
    bind {HOST}:{p['iperf']}
    default_backend be_iperf
backend be_iperf
    server s1 {HOST}:{IPERF_PORT}
frontend fe_redis
    bind {HOST}:{p['redis']}
    default_backend be_redis
backend be_redis
    server s1 {HOST}:{REDIS_PORT}
frontend fe_echo
    bind {HOST}:{p['echo']}
    default_backend be_echo
backend be_echo
    server s1 {HOST}:{ECHO_PORT}
"""


def switchyard_yaml(framed: bool, metrics_listen: str, plugin_dir: str | None) -> str:
    p = PROXY_PORTS["switchyard"]
    lines = [
        "# Written by tests/bench/run-bench.py: one raw TCP listener per benchmark row.",
        "loops: 2",
        "log: {level: warn}",
        f'metrics: {{listen: "{metrics_listen}"}}',
    ]
    if plugin_dir:
        lines.append(f'plugin_dir: "{plugin_dir}"')
    lines += [
        "upstreams:",
        f"  - {{name: http, endpoints: [{HOST}:{HTTP_PORT}]}}",
        f"  - {{name: iperf, endpoints: [{HOST}:{IPERF_PORT}]}}",
        f"  - {{name: redis, endpoints: [{HOST}:{REDIS_PORT}]}}",
        f"  - {{name: echo, endpoints: [{HOST}:{ECHO_PORT}]}}",
        "listeners:",
        f"  - {{name: http-in, protocol: tcp, listen: {HOST}:{p['http']}, reuse_port: true, upstream: http}}",
        f"  - {{name: iperf-in, protocol: tcp, listen: {HOST}:{p['iperf']}, reuse_port: true, upstream: iperf}}",
        f"  - {{name: redis-in, protocol: tcp, listen: {HOST}:{p['redis']}, reuse_port: true, upstream: redis}}",
        f"  - {{name: echo-in, protocol: tcp, listen: {HOST}:{p['echo']}, reuse_port: true, upstream: echo}}",
    ]
    if framed:
        lines += [
            f"  - {{name: echo-line, protocol: tcp, listen: {HOST}:{SWITCHYARD_LINE_PORT}, reuse_port: true,"
            " upstream: echo, codec: {plugin: line}}",
            f"  - {{name: echo-length, protocol: tcp, listen: {HOST}:{SWITCHYARD_LENGTH_PORT}, reuse_port: true,"
            ' upstream: echo, codec: {plugin: length-field, length_field_length: "4", initial_bytes_to_strip: "4"}}',
        ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Processes.
# --------------------------------------------------------------------------------------------

def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def process_tree(root: int) -> list[int]:
    """root and all its descendants (nginx master + workers, for instance)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU time of a process and its descendants, in seconds."""
    total = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def tree_rss_kib(root: int) -> int:
    """Sum of VmRSS over a process and its descendants, in KiB."""
    total = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


@dataclass
class Service:
    """A long-running process of the run (backend or proxy), in its own process group."""
    name: str
    argv: list[str]
    ports: list[int]
    log_path: Path
    proc: subprocess.Popen | None = None

    def start(self, ready_timeout: float = 15.0) -> None:
        log(f"starting {self.name}: {' '.join(self.argv)}")
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + ready_timeout
        pending = list(self.ports)
        while pending:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with status {self.proc.returncode} before listening; "
                                 f"its output ({self.log_path}):\n{self.log_tail()}")
            if port_accepts(pending[0]):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name} is not listening on {HOST}:{pending[0]} after {ready_timeout:.0f} s; "
                                 f"its output ({self.log_path}):\n{self.log_tail()}")
            time.sleep(0.05)  # polling a port: there is no other readiness signal for these daemons

    def rss_kib(self) -> int:
        assert self.proc is not None
        return tree_rss_kib(self.proc.pid)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pid = self.proc.pid
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log(f"{self.name} ignored SIGTERM for 10 s: killing its process group")
        # Workers left behind by a master that died (its group is the one this script created).
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no output)"


# --------------------------------------------------------------------------------------------
# Measurements. Each returns Measurement(value, note); a note flags something to look at.
# --------------------------------------------------------------------------------------------

@dataclass
class Measurement:
    value: float | None
    note: str = ""
    extra: dict = field(default_factory=dict)
    rounds: list = field(default_factory=list)  # each round's value, when a median of several
    # The proxy's CPU time (user + system, all its processes) per unit of work: seconds per
    # request or message, per GB for iperf3. Proxies only; the median of the rounds, like value.
    cpu: float | None = None
    cpu_rounds: list = field(default_factory=list)


def run_tool(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                              errors="replace")
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"`{' '.join(argv)}` did not finish within {timeout:.0f} s") from e


def measure_wrk(port: int, s: "Settings") -> Measurement:
    argv = ["wrk", "-t1", "-c100", f"-d{s.wrk_seconds}s", f"http://{HOST}:{port}/"]
    r = run_tool(argv, s.wrk_seconds + 30)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    if not m:
        return Measurement(None, f"wrk failed: {(r.stdout + r.stderr).strip()[-300:]}")
    notes = []
    for pattern in (r"Socket errors:[^\n]*", r"Non-2xx or 3xx responses:[^\n]*"):
        e = re.search(pattern, r.stdout)
        if e:
            notes.append(e.group(0).strip())
    total = re.search(r"(\d+) requests in", r.stdout)
    return Measurement(float(m.group(1)), "; ".join(notes), {"work": int(total.group(1))} if total else {})


def measure_redis(port: int, s: "Settings", clients: int, requests: int, pipeline: int) -> Measurement:
    argv = ["redis-benchmark", "-h", HOST, "-p", str(port), "-c", str(clients), "-n", str(requests), "-t", "get",
            "-q"]
    if pipeline > 1:
        argv += ["-P", str(pipeline)]
    r = run_tool(argv, 180)
    found = re.findall(r"GET:\s+([\d.]+) requests per second", r.stdout)
    if not found:
        return Measurement(None, f"redis-benchmark failed: {(r.stdout + r.stderr).strip()[-300:]}")
    return Measurement(float(found[-1]), "", {"work": requests})


def measure_iperf(port: int, s: "Settings") -> Measurement:
    argv = ["iperf3", "-c", HOST, "-p", str(port), "-P", "4", "-t", str(s.iperf_seconds), "-J"]
    # The iperf3 server runs one test at a time and, behind a proxy, learns late that the
    # previous one ended: it answers "busy" for a moment. It says so, and retrying is its remedy.
    for attempt in range(10):
        r = run_tool(argv, s.iperf_seconds + 30)
        try:
            report = json.loads(r.stdout)
        except json.JSONDecodeError:
            return Measurement(None, f"iperf3 failed: {(r.stdout + r.stderr).strip()[-300:]}")
        if "busy" not in report.get("error", ""):
            break
        time.sleep(1)
    if "error" in report:
        return Measurement(None, f"iperf3: {report['error']}")
    received = report["end"]["sum_received"]
    return Measurement(received["bits_per_second"] / 1e9, "", {"work": received["bytes"] / 1e9})


def run_loadgen(s: "Settings", port: int, mode: str, framing: str = "none") -> Measurement:
    argv = [s.loadgen, "--target", f"{HOST}:{port}", "--connections", "100", "--size", "64",
            "--framing", framing, "--duration", str(s.loadgen_seconds), "--warmup", "1"]
    argv += ["--mode", "pipelined", "--pipeline", str(s.pipeline)] if mode == "pipelined" else ["--mode", "pingpong"]
    r = run_tool(argv, s.loadgen_seconds + 30)
    summary = next((json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")), None)
    if summary is None:
        return Measurement(None, f"loadgen failed: {r.stderr.strip()[-300:]}")
    note = ""
    if summary["errors"]:
        note = (f"{summary['errors']} errors (connect {summary['connect_errors']}, io {summary['io_errors']}, "
                f"mismatch {summary['mismatches']})")
    lat = summary["latency_us"]
    # Messages of the measured window plus the warm-up second, which the proxy's CPU time covers too.
    work = summary["messages"] + summary["messages_per_s"] * 1
    return Measurement(summary["messages_per_s"], note,
                       {"p50_us": lat["p50"], "p99_us": lat["p99"], "p999_us": lat["p999"], "work": work})


def time_scrapes(port: int, count: int) -> dict:
    """Times `count` GET /metrics requests (new connection each, as Prometheus may)."""
    durations, size = [], 0
    for _ in range(count):
        start = time.monotonic()
        with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=10) as r:
            size = len(r.read())
        durations.append((time.monotonic() - start) * 1000)
    durations.sort()
    return {"scrape_median_ms": round(durations[len(durations) // 2], 2), "scrape_max_ms": round(durations[-1], 2),
            "scrape_bytes": size}


def measure_idle_rss(service: Service, port: int, s: "Settings", while_held: Callable[[], dict] | None = None) -> Measurement:
    """Proxy RSS growth per connection held idle after one 64-byte echo each. `while_held`, if
    given, runs while the connections are held and its dict lands in the measurement's extra."""
    before = service.rss_kib()
    argv = [s.loadgen, "--target", f"{HOST}:{port}", "--mode", "hold", "--connections", str(s.rss_connections),
            "--size", "64", "--duration", "120"]
    holder = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)
    try:
        held = None
        deadline = time.monotonic() + 60
        while held is None and time.monotonic() < deadline and holder.poll() is None:
            ready, _, _ = select.select([holder.stdout], [], [], 1.0)
            if ready:
                line = holder.stdout.readline()
                if line.startswith('{"event":"held"'):
                    held = json.loads(line)
        if held is None:
            return Measurement(None, f"connections not held within 60 s ({holder.stderr.read() if holder.poll() is not None else 'timeout'})")
        after = service.rss_kib()
        note = f"{held['failed']} of {s.rss_connections} connections failed" if held["failed"] else ""
        extra = {"rss_before_kib": before, "rss_after_kib": after, "held": held["connections"]}
        if while_held:
            extra.update(while_held())
        return Measurement((after - before) / max(1, held["connections"]), note, extra)
    finally:
        if holder.poll() is None:
            holder.send_signal(signal.SIGTERM)
        try:
            holder.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.communicate()


# --------------------------------------------------------------------------------------------
# Rows.
# --------------------------------------------------------------------------------------------

@dataclass
class Settings:
    loadgen: str
    wrk_seconds: int = 6
    redis_requests: int = 200000
    redis_p32_requests: int = 1000000
    iperf_seconds: int = 5
    loadgen_seconds: float = 5
    pipeline: int = 16
    rss_connections: int = 5000
    repeat: int = 1


@dataclass
class Row:
    key: str
    title: str
    unit: str
    backend: str  # key into DIRECT_PORTS / PROXY_PORTS
    tools: list[str]
    measure: Callable[[int, Settings], Measurement]
    digits: int = 0
    cpu_unit: str = "µs/req"    # how the proxy CPU table shows CPU per unit of work
    cpu_scale: float = 1e6      # seconds per unit of work -> cpu_unit


def rows_for(s: Settings) -> list[Row]:
    return [
        Row("wrk", f"wrk HTTP `-t1 -c100 -d{s.wrk_seconds}s`", "req/s", "http", ["wrk"], measure_wrk),
        Row("redis", f"redis GET `-c 200 -n {s.redis_requests}`", "req/s", "redis", ["redis-benchmark"],
            lambda port, st: measure_redis(port, st, 200, st.redis_requests, 1)),
        Row("redis-p32", f"redis GET `-c 50 -n {s.redis_p32_requests} -P 32`", "req/s", "redis", ["redis-benchmark"],
            lambda port, st: measure_redis(port, st, 50, st.redis_p32_requests, 32)),
        Row("iperf", f"iperf3 `-P 4 -t {s.iperf_seconds}`", "Gbit/s", "iperf", ["iperf3"], measure_iperf, 2,
            "ms/GB", 1e3),
        Row("pingpong", "loadgen ping-pong, 100 conns, 64 B", "msg/s", "echo", [],
            lambda port, st: run_loadgen(st, port, "pingpong"), 0, "µs/msg"),
        Row("pipelined", f"loadgen pipelined x{s.pipeline}, 100 conns, 64 B", "msg/s", "echo", [],
            lambda port, st: run_loadgen(st, port, "pipelined"), 0, "µs/msg"),
    ]


ALL_ROW_KEYS = ["wrk", "redis", "redis-p32", "iperf", "pingpong", "pipelined", "rss"]


def repeated(measure: Callable[[], Measurement], times: int) -> Measurement:
    """Median of `times` runs (notes of all runs kept)."""
    return median_of([measure() for _ in range(times)])


def interleaved(measures: dict[str, Callable[[], Measurement]], times: int) -> dict[str, Measurement]:
    """Median of `times` runs of each measure, taken in rounds (a b c, c b a, a b c, ...) so that a
    machine getting busier or quieter during a row weighs on every target alike."""
    runs: dict[str, list[Measurement]] = {k: [] for k in measures}
    keys = list(measures)
    for round_no in range(times):
        for k in (keys if round_no % 2 == 0 else keys[::-1]):
            runs[k].append(measures[k]())
    return {k: median_of(v) for k, v in runs.items()}


def with_proxy_cpu(measure: Callable[[], Measurement], proxy: Service) -> Callable[[], Measurement]:
    """measure, also taking the proxy's CPU time over it per unit of work the tool reported."""
    def run() -> Measurement:
        assert proxy.proc is not None
        before = tree_cpu_seconds(proxy.proc.pid)
        m = measure()
        used = tree_cpu_seconds(proxy.proc.pid) - before
        if m.value is not None and m.extra.get("work"):
            m.cpu = used / m.extra["work"]
        return m
    return run


def paired_ratio(numerators: list, denominators: list) -> tuple[float, float, float] | None:
    """Median, min and max over rounds of numerator/denominator, each round's pair measured
    back to back: drift between rounds cancels out of every ratio. None unless both were
    measured in the same two or more rounds."""
    pairs = list(zip(numerators, denominators))
    if len(pairs) < 2 or len(numerators) != len(denominators) or any(a is None or not b for a, b in pairs):
        return None
    ratios = [a / b for a, b in pairs]
    return statistics.median(ratios), min(ratios), max(ratios)


def fmt_paired_ratio(numerator: Measurement | None, denominator: Measurement | None, cpu: bool = False) -> str:
    """The median of per-round ratios with their range when the cells were repeated in rounds,
    else the plain ratio. cpu: of the CPU figures instead of the throughputs."""
    if numerator is None or denominator is None:
        return "n/a"
    if cpu:
        paired, plain = paired_ratio(numerator.cpu_rounds, denominator.cpu_rounds), (numerator.cpu, denominator.cpu)
    else:
        paired, plain = paired_ratio(numerator.rounds, denominator.rounds), (numerator.value, denominator.value)
    if paired is None:
        return fmt_ratio(*plain)
    median, low, high = paired
    return f"{median:.2f} ({low:.2f}–{high:.2f})"


def median_of(results: list[Measurement]) -> Measurement:
    values = [r.value for r in results if r.value is not None]
    notes = "; ".join(sorted({r.note for r in results if r.note}))
    if not values:
        return Measurement(None, notes)
    median = statistics.median(values)
    closest = min((r for r in results if r.value is not None), key=lambda r: abs(r.value - median))
    cpus = [r.cpu for r in results if r.cpu is not None]
    return Measurement(median, notes, closest.extra, rounds=[r.value for r in results],
                       cpu=statistics.median(cpus) if cpus else None, cpu_rounds=[r.cpu for r in results])


# --------------------------------------------------------------------------------------------
# Output.
# --------------------------------------------------------------------------------------------

def fmt_value(value: float | None, digits: int) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def fmt_ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or denominator is None or denominator == 0:
        return "n/a"
    return f"{numerator / denominator:.2f}"


class Notes:
    def __init__(self) -> None:
        self.items: list[str] = []

    def mark(self, text: str) -> str:
        """Returns a footnote marker for text ('' when text is empty)."""
        if not text:
            return ""
        self.items.append(text)
        return f" [{len(self.items)}]"


def render_main_table(rows: list[Row], targets: list[str], results: dict, rss: dict | None, notes: Notes,
                      skipped: dict[str, str]) -> str:
    header = ["Row", "unit"] + [TARGET_TITLES[t] for t in targets]
    if "haproxy" in targets and "switchyard" in targets:
        header.append("switchyard/HAProxy")
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|"]
    for row in rows:
        cells = [row.title, row.unit]
        direct = results.get((row.key, "direct"))
        for t in targets:
            if t in skipped:
                cells.append("skipped")
                continue
            m = results.get((row.key, t))
            if m is None:
                cells.append("n/a")
                continue
            text = fmt_value(m.value, row.digits)
            if t != "direct" and direct is not None:
                text += f" ({fmt_ratio(m.value, direct.value)})"
            cells.append(text + notes.mark(f"{row.title}, {TARGET_TITLES[t]}: {m.note}" if m.note else ""))
        if "haproxy" in targets and "switchyard" in targets:
            cells.append(fmt_paired_ratio(results.get((row.key, "switchyard")), results.get((row.key, "haproxy"))))
        out.append("| " + " | ".join(cells) + " |")
    if rss is not None:
        cells = [f"RSS per idle connection ({rss['connections']:,} held)", "KiB/conn"]
        for t in targets:
            if t == "direct":
                cells.append("—")
            elif t in skipped:
                cells.append("skipped")
            else:
                m = rss["results"].get(t)
                cells.append("n/a" if m is None else fmt_value(m.value, 2) +
                             notes.mark(f"RSS, {TARGET_TITLES[t]}: {m.note}" if m.note else ""))
        if "haproxy" in targets and "switchyard" in targets:
            sy, ha = rss["results"].get("switchyard"), rss["results"].get("haproxy")
            cells.append(fmt_ratio(sy.value if sy else None, ha.value if ha else None))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def render_cpu_table(rows: list[Row], proxies: list[str], results: dict) -> str:
    """Each proxy's CPU time per request, message or GB: what the throughput cost it. Lower is
    better; switchyard/HAProxy below 1.0 means switchyard spent less."""
    rows = [r for r in rows if any(results.get((r.key, t)) and results[(r.key, t)].cpu for t in proxies)]
    if not rows:
        return ""
    both = "haproxy" in proxies and "switchyard" in proxies
    header = ["Row", "unit"] + [TARGET_TITLES[t] for t in proxies] + (["switchyard/HAProxy"] if both else [])
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|"]
    for row in rows:
        cells = [row.title, row.cpu_unit]
        for t in proxies:
            m = results.get((row.key, t))
            cells.append(fmt_value(m.cpu * row.cpu_scale, 2) if m and m.cpu is not None else "n/a")
        if both:
            cells.append(fmt_paired_ratio(results.get((row.key, "switchyard")), results.get((row.key, "haproxy")),
                                          cpu=True))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Setup helpers.
# --------------------------------------------------------------------------------------------

def find_loadgen(explicit: str | None) -> str:
    candidates = [explicit, os.environ.get("LOADGEN_BIN"), str(REPO / "build/default/tests/bench/switchyard-loadgen")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    found = sorted(list(REPO.glob("build/*/tests/bench/switchyard-loadgen")) + list(REPO.glob("build/*/switchyard-loadgen")),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    for p in found:
        if os.access(p, os.X_OK):
            return str(p)
    raise BenchError("switchyard-loadgen not found. Build it: `cmake --preset default && "
                     "cmake --build build/default --target switchyard-loadgen` (or pass --loadgen PATH / "
                     "set LOADGEN_BIN)")


def find_switchyard(explicit: str | None) -> str | None:
    path = explicit or os.environ.get("SWITCHYARD_BIN") or str(REPO / "build/default/daemon/switchyard")
    return path if os.access(path, os.X_OK) else None


def check_tools(needed: set[str]) -> None:
    missing = []
    for tool in sorted(needed):
        ok = os.path.exists(tool) if tool.startswith("/") else shutil.which(tool) is not None
        if not ok:
            missing.append(tool)
    if missing:
        packages = sorted({APT_HINT.get(t, t) for t in missing})
        raise BenchError(f"missing: {', '.join(missing)}. Install with: apt-get install {' '.join(packages)} "
                         "(or leave the rows/targets that need them out: --rows, --targets)")


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    if hard < needed:
        raise BenchError(f"open-file limit is {hard}, the RSS row needs about {needed} "
                         "(lower it with --rss-connections)")


# --------------------------------------------------------------------------------------------
# The run.
# --------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="switchyard-bench-"))
        self.services: dict[str, Service] = {}
        self.backends: list[str] = []  # backends started; readiness is probed only through them

    def service(self, name: str, argv: list[str], ports: list[int]) -> Service:
        svc = Service(name, argv, ports, self.work / f"{name}.log")
        self.services[name] = svc
        svc.start()
        return svc

    def stop_all(self) -> None:
        for svc in reversed(list(self.services.values())):
            svc.stop()
        self.services.clear()

    def cleanup(self) -> None:
        self.stop_all()
        if self.args.keep_workdir:
            log(f"work directory kept: {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def write(self, name: str, text: str) -> Path:
        path = self.work / name
        path.write_text(text)
        return path

    def start_switchyard(self, binary: str, framed: bool, metrics_listen: str) -> Service:
        config = self.write("switchyard.yaml", switchyard_yaml(framed, metrics_listen, self.args.plugin_dir))
        argv = [binary] + [a.replace("{config}", str(config)) for a in self.args.switchyard_args.split()]
        ports = [PROXY_PORTS["switchyard"][b] for b in self.backends]
        if framed:
            ports += [SWITCHYARD_LINE_PORT, SWITCHYARD_LENGTH_PORT]
        self.services.pop("switchyard", None)
        return self.service("switchyard", argv, ports)

    def restart_switchyard(self, binary: str, framed: bool, metrics_listen: str) -> Service:
        old = self.services.pop("switchyard", None)
        if old:
            old.stop()
        return self.start_switchyard(binary, framed, metrics_listen)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See tests/bench/README.md for what each row means and how to read ratios.")
    p.add_argument("--rows", default=",".join(ALL_ROW_KEYS),
                   help=f"comma-separated rows to run, from: {','.join(ALL_ROW_KEYS)} (default: all)")
    p.add_argument("--targets", default=",".join(TARGETS),
                   help="comma-separated targets: direct,haproxy,nginx,switchyard (default: all)")
    p.add_argument("--framed", action="store_true",
                   help="also measure switchyard's line and length-field codec listeners against its raw one")
    p.add_argument("--metrics-cost", action="store_true",
                   help="also run the switchyard echo rows with the metrics exporter on vs off")
    p.add_argument("--repeat", type=int, default=1, help="runs per cell; the median is reported (default 1)")
    p.add_argument("--quick", action="store_true",
                   help="short runs to check the setup (figures not comparable with the baseline)")
    p.add_argument("--rss-connections", type=int, default=5000, help="connections held for the RSS row (default 5000)")
    p.add_argument("--pipeline", type=int, default=16, help="messages in flight per connection, pipelined rows (default 16)")
    p.add_argument("--loadgen", help="switchyard-loadgen binary (default: $LOADGEN_BIN, then build/*/)")
    p.add_argument("--switchyard", help="switchyard binary (default: $SWITCHYARD_BIN, then build/default/daemon/switchyard)")
    p.add_argument("--switchyard-args", default=os.environ.get("SWITCHYARD_ARGS", "--config {config}"),
                   help="arguments for switchyard, {config} is the generated YAML (default: '--config {config}', "
                        "or $SWITCHYARD_ARGS)")
    p.add_argument("--plugin-dir", help="plugin_dir for the switchyard config (default: the daemon's own search path)")
    p.add_argument("--json", metavar="FILE", help="also write every figure as JSON to FILE")
    p.add_argument("--keep-workdir", action="store_true", help="keep configs and logs after the run")
    p.add_argument("--udp", action="store_true",
                   help="then the UDP rows (run-udp-bench.py: request/response, one-way, RSS per idle session; "
                        "direct, nginx stream UDP and switchyard in the same run)")
    args = p.parse_args(argv)
    args.rows = [r for r in args.rows.split(",") if r]
    args.targets = [t for t in args.targets.split(",") if t]
    for r in args.rows:
        if r not in ALL_ROW_KEYS:
            p.error(f"unknown row '{r}' (choose from {','.join(ALL_ROW_KEYS)})")
    for t in args.targets:
        if t not in TARGETS:
            p.error(f"unknown target '{t}' (choose from {','.join(TARGETS)})")
    if not 1 <= args.repeat <= 9:
        p.error("--repeat must be 1..9")
    if not 1 <= args.rss_connections <= 9000:
        p.error("--rss-connections must be 1..9000 (the proxy holds two descriptors per connection)")
    return args


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    settings = Settings(loadgen=find_loadgen(args.loadgen), pipeline=args.pipeline,
                        rss_connections=args.rss_connections, repeat=args.repeat)
    if args.quick:
        settings.wrk_seconds, settings.redis_requests, settings.redis_p32_requests = 2, 20000, 200000
        settings.iperf_seconds, settings.loadgen_seconds = 2, 2
        settings.rss_connections = min(settings.rss_connections, 1000)

    targets = list(args.targets)
    skipped: dict[str, str] = {}
    switchyard_bin = None
    if "switchyard" in targets or args.framed or args.metrics_cost:
        switchyard_bin = find_switchyard(args.switchyard)
        if switchyard_bin is None:
            why = ("switchyard binary not found (set SWITCHYARD_BIN or build build/default/daemon/switchyard): "
                   "skipping its rows")
            log(why)
            if "switchyard" in targets:
                skipped["switchyard"] = why

    all_rows = [r for r in rows_for(settings) if r.key in args.rows]
    want_rss = "rss" in args.rows
    needed = {tool for r in all_rows for tool in r.tools}
    uses_backend = {r.backend for r in all_rows} | ({"echo"} if want_rss or args.framed or args.metrics_cost else set())
    if "http" in uses_backend:
        needed.add("nginx")
    if "redis" in uses_backend:
        needed.add("redis-server")
    if "iperf" in uses_backend:
        needed.add("iperf3")
    if "haproxy" in targets:
        needed.add("haproxy")
    if "nginx" in targets:
        needed |= {"nginx", NGINX_STREAM_MODULE}
    check_tools(needed)
    raise_fd_limit(2 * settings.rss_connections + 1000 if want_rss else 1024)

    ports = [DIRECT_PORTS[b] for b in uses_backend]
    for t in targets:
        if t in PROXY_PORTS and t not in skipped:
            ports += list(PROXY_PORTS[t].values())
    if switchyard_bin and (args.framed or args.metrics_cost):
        ports += [SWITCHYARD_LINE_PORT, SWITCHYARD_LENGTH_PORT]
    busy = [p for p in sorted(set(ports)) if not port_is_free(p)]
    if busy:
        raise BenchError(f"ports already in use on {HOST}: {', '.join(map(str, busy))} "
                         "(another benchmark or peer still running? see `ss -ltnp`)")

    bench = Bench(args)
    bench.backends = sorted(uses_backend)
    # Ctrl-C and SIGTERM unwind through the finally below, which stops every process started.
    signal.signal(signal.SIGTERM, interrupt)
    report: dict = {"settings": vars(settings).copy(), "rows": {}, "framed": {}, "metrics_cost": {}}
    try:
        started = time.monotonic()
        # Backends.
        if "http" in uses_backend:
            conf = bench.write("nginx-backend.conf", nginx_backend_conf(bench.work))
            bench.service("nginx-backend", ["nginx", "-p", f"{bench.work}/", "-e", f"{bench.work}/nginx-backend.err",
                                            "-c", str(conf), "-g", "daemon off;"], [HTTP_PORT])
        if "redis" in uses_backend:
            bench.service("redis", ["redis-server", "--bind", HOST, "--port", str(REDIS_PORT), "--save", "",
                                    "--appendonly", "no", "--dir", str(bench.work)], [REDIS_PORT])
        if "iperf" in uses_backend:
            bench.service("iperf3", ["iperf3", "-s", "-B", HOST, "-p", str(IPERF_PORT)], [IPERF_PORT])
        if "echo" in uses_backend:
            bench.service("echo", [settings.loadgen, "--server", "--listen", f"{HOST}:{ECHO_PORT}", "--threads", "1"],
                          [ECHO_PORT])
        # Proxies.
        proxy_services: dict[str, Service] = {}
        if "haproxy" in targets:
            cfg = bench.write("haproxy.cfg", haproxy_cfg())
            proxy_services["haproxy"] = bench.service("haproxy", ["haproxy", "-db", "-f", str(cfg)],
                                                      [PROXY_PORTS["haproxy"][b] for b in bench.backends])
        if "nginx" in targets:
            conf = bench.write("nginx-stream.conf", nginx_stream_conf(bench.work))
            proxy_services["nginx"] = bench.service(
                "nginx-stream", ["nginx", "-p", f"{bench.work}/", "-e", f"{bench.work}/nginx-stream.err",
                                 "-c", str(conf), "-g", "daemon off;"], [PROXY_PORTS["nginx"][b] for b in bench.backends])
        if "switchyard" in targets and "switchyard" not in skipped:
            try:
                proxy_services["switchyard"] = bench.start_switchyard(switchyard_bin, args.framed or args.metrics_cost, "")
            except BenchError as e:
                log(str(e))
                skipped["switchyard"] = "switchyard did not start"

        # Main table: each row through each target.
        results: dict[tuple[str, str], Measurement] = {}
        for row in all_rows:
            measures = {}
            for t in targets:
                if t in skipped:
                    continue
                port = DIRECT_PORTS[row.backend] if t == "direct" else PROXY_PORTS[t][row.backend]
                measures[t] = (lambda r, p: lambda: r.measure(p, settings))(row, port)
                if t in proxy_services:
                    measures[t] = with_proxy_cpu(measures[t], proxy_services[t])
            for t, m in interleaved(measures, settings.repeat).items():
                results[(row.key, t)] = m
                log(f"{row.key:10s} {TARGET_TITLES[t]:13s} {fmt_value(m.value, row.digits)} {row.unit}"
                    + (f"  ({m.note})" if m.note else ""))
                report["rows"].setdefault(row.key, {})[t] = vars(m)
        rss = None
        if want_rss:
            rss = {"connections": settings.rss_connections, "results": {}}
            for t, svc in proxy_services.items():
                m = measure_idle_rss(svc, PROXY_PORTS[t]["echo"], settings)
                rss["results"][t] = m
                log(f"rss        {TARGET_TITLES[t]:13s} {fmt_value(m.value, 2)} KiB/conn" + (f"  ({m.note})" if m.note else ""))
                report["rows"].setdefault("rss", {})[t] = vars(m)

        notes = Notes()
        print()
        print(f"### Proxies vs direct (loopback, {os.cpu_count()} CPUs; ratio to direct in parentheses)")
        print()
        print(render_main_table(all_rows, targets, results, rss, notes, skipped))
        cpu_table = render_cpu_table(all_rows, [t for t in targets if t in proxy_services], results)
        if cpu_table:
            print()
            print("### Proxy CPU per unit of work (user + system time of the proxy's processes over each run)")
            print()
            print(cpu_table)

        # Framed relays: switchyard only.
        framed_rows = [("raw", PROXY_PORTS["switchyard"]["echo"], "none"),
                       ("line codec", SWITCHYARD_LINE_PORT, "line"),
                       ("length-field codec", SWITCHYARD_LENGTH_PORT, "length4")]
        if args.framed and "switchyard" in proxy_services:
            figures = interleaved({name: (lambda p, f: lambda: run_loadgen(settings, p, "pipelined", f))(port, framing)
                                   for name, port, framing in framed_rows}, settings.repeat)
            for name, m in figures.items():
                log(f"framed     {name:18s} {fmt_value(m.value, 0)} msg/s" + (f"  ({m.note})" if m.note else ""))
                report["framed"][name] = vars(m)
            print()
            print(f"### switchyard framed vs raw (loadgen pipelined x{settings.pipeline}, 100 conns, 64-byte frames)")
            print()
            print("| Listener | msg/s | p99 latency | framed/raw |")
            print("|---|---:|---:|---:|")
            for name, _, _ in framed_rows:
                m = figures[name]
                p99 = f"{m.extra['p99_us']:,.0f} us" if m.extra else "n/a"
                print(f"| {name} | {fmt_value(m.value, 0)}{notes.mark(m.note and f'framed {name}: {m.note}')} | {p99} | "
                      f"{'1.00' if name == 'raw' else fmt_paired_ratio(m, figures['raw'])} |")
        elif args.framed:
            print("\n(framed rows skipped: switchyard is not running)")

        # Metrics exporter cost: the same switchyard echo rows with the exporter off, then on.
        if args.metrics_cost and switchyard_bin and "switchyard" not in skipped:
            cost_rows = [("raw ping-pong", PROXY_PORTS["switchyard"]["echo"], "none", "pingpong"),
                         ("raw pipelined", PROXY_PORTS["switchyard"]["echo"], "none", "pipelined"),
                         ("line pipelined", SWITCHYARD_LINE_PORT, "line", "pipelined"),
                         ("length-field pipelined", SWITCHYARD_LENGTH_PORT, "length4", "pipelined")]
            figures = {}
            scrape: dict = {}
            for label, listen in (("off", ""), ("on", f"{HOST}:{SWITCHYARD_METRICS_PORT}")):
                try:
                    bench.restart_switchyard(switchyard_bin, True, listen)
                except BenchError as e:
                    log(str(e))
                    break
                for name, port, framing, mode in cost_rows:
                    m = repeated(lambda: run_loadgen(settings, port, mode, framing), settings.repeat)
                    figures[(name, label)] = m
                    log(f"metrics {label:3s} {name:22s} {fmt_value(m.value, 0)} msg/s" + (f"  ({m.note})" if m.note else ""))
                    report["metrics_cost"].setdefault(name, {})[label] = vars(m)
                if label == "on":
                    # Scrape latency while the daemon holds rss_connections connections.
                    service = bench.services["switchyard"]
                    m = measure_idle_rss(service, PROXY_PORTS["switchyard"]["echo"], settings,
                                         while_held=lambda: time_scrapes(SWITCHYARD_METRICS_PORT, 20))
                    scrape = m.extra or {}
                    log(f"scrape with {scrape.get('held')} connections held: median {scrape.get('scrape_median_ms')} ms, "
                        f"max {scrape.get('scrape_max_ms')} ms, {scrape.get('scrape_bytes')} bytes")
                    report["metrics_cost"]["scrape"] = scrape
            print()
            print(f"### switchyard metrics exporter cost (`metrics: {{listen: {HOST}:{SWITCHYARD_METRICS_PORT}}}` vs `{{listen: \"\"}}`)")
            print()
            print("| Row | metrics off, msg/s | metrics on, msg/s | on/off |")
            print("|---|---:|---:|---:|")
            for name, *_ in cost_rows:
                off, on = figures.get((name, "off")), figures.get((name, "on"))
                print(f"| {name} | {fmt_value(off.value if off else None, 0)} | {fmt_value(on.value if on else None, 0)} | "
                      f"{fmt_ratio(on.value if on else None, off.value if off else None)} |")
            if scrape:
                print()
                print(f"GET /metrics while holding {scrape.get('held')} connections: median "
                      f"{scrape.get('scrape_median_ms')} ms, max {scrape.get('scrape_max_ms')} ms over 20 scrapes "
                      f"({scrape.get('scrape_bytes')} bytes).")
        elif args.metrics_cost:
            print("\n(metrics-cost rows skipped: switchyard is not available)")

        if skipped or notes.items:
            print()
            for t, why in skipped.items():
                print(f"- {TARGET_TITLES[t]} skipped: {why}")
            for i, text in enumerate(notes.items, 1):
                print(f"- [{i}] {text}")
        print()
        print(f"_{time.strftime('%Y-%m-%d %H:%M')}, `{' '.join(['run-bench.sh'] + argv)}`, "
              f"{time.monotonic() - started:.0f} s; loadgen {settings.loadgen}"
              + (f"; switchyard {switchyard_bin}" if switchyard_bin and 'switchyard' not in skipped else "") + "_")
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2, default=str))
        return 0
    finally:
        bench.cleanup()


def run_udp_rows(argv: list[str]) -> int:
    """The UDP rows live in their own driver (their own load generator and sink); run it after."""
    args = parse_args(argv)
    if not args.udp:
        return 0
    cmd = [sys.executable, str(REPO / "tests/bench/run-udp-bench.py"), "--repeat", str(args.repeat)]
    if args.switchyard:
        cmd += ["--switchyard", args.switchyard]
    if args.quick:
        cmd += ["--duration", "2", "--sessions", "1000"]
    print(flush=True)
    return subprocess.call(cmd)


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
        sys.exit(code or run_udp_rows(sys.argv[1:]))
    except BenchError as e:
        print(f"run-bench: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("run-bench: interrupted; everything started was stopped", file=sys.stderr)
        sys.exit(130)
