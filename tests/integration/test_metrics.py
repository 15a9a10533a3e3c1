"""/metrics: exact values after known traffic, promtool's linter, and a real Prometheus scrape."""
import gzip
import json
import os
import socket
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from harness import Daemon, EchoBackend, free_port, recv_exact, wait_until


def config(backend_address, dead_port):
    return f"""
loops: 2
tick: 50ms
metrics: {{listen: 127.0.0.1:0, path: /metrics}}
upstreams:
  - {{name: b, endpoints: [{backend_address}]}}
  - {{name: dead, connect_attempts: 1, endpoints: [127.0.0.1:{dead_port}]}}
listeners:
  - {{name: framed, listen: 127.0.0.1:0, upstream: b, codec: {{plugin: line, max_frame: 1KiB}}, max_connections: 3}}
  - {{name: raw, listen: 127.0.0.1:0, upstream: b}}
  - {{name: refused, listen: 127.0.0.1:0, upstream: dead}}
"""


@pytest.fixture
def daemon():
    backend = EchoBackend()
    dead = free_port()
    d = Daemon(config(backend.address, dead))
    d.dead_port = dead
    d.backend = backend
    yield d
    for c in d.clients:
        c.close()
    d.stop()
    backend.close()


def test_exact_values_after_known_traffic(daemon):
    d = daemon
    N, M = 3, 50  # connections, frames per connection
    conns = [d.client("framed") for _ in range(N)]
    sent = 0
    for i, s in enumerate(conns):
        payload = b"".join(b"frame-%d-%d\n" % (i, k) for k in range(M))
        s.sendall(payload)
        assert recv_exact(s, len(payload)) == payload
        sent += len(payload)
    # max_connections: 3 are open, a 4th is rejected.
    extra = d.client("framed")
    assert extra.recv(1) == b""
    # A codec error on one framed connection (frame over max_frame).
    conns[0].sendall(b"z" * 2000)
    assert conns[0].recv(1) == b""
    # Raw: K bytes each way.
    raw = d.client("raw")
    K = 123457
    raw.sendall(b"r" * K)
    assert recv_exact(raw, K) == b"r" * K
    # A refused upstream.
    r = d.client("refused")
    assert r.recv(1) == b""

    def settled():
        m = d.metrics()
        return m if m.get("switchyard_listener_connections_active", listener="framed") == N - 1 else None
    m = wait_until(settled, what="codec-error connection closed")

    assert m.get("switchyard_listener_connections_total", listener="framed") == N
    assert m.get("switchyard_listener_connections_rejected_total", listener="framed", reason="max_connections") == 1
    assert m.get("switchyard_listener_frames_received_total", listener="framed") == N * M
    assert m.get("switchyard_listener_frames_sent_total", listener="framed") == N * M
    assert m.get("switchyard_listener_bytes_sent_total", listener="framed") == sent
    # 2000 bad bytes were read before the frame was found too large.
    assert m.get("switchyard_listener_bytes_received_total", listener="framed") >= sent + 1024
    assert m.get("switchyard_codec_errors_total", listener="framed", side="client", codec="line",
                 reason="too_large") == 1
    assert m.get("switchyard_codec_errors_total", listener="framed", side="client", codec="line",
                 reason="malformed") == 0
    assert m.sum("switchyard_codec_errors_total", listener="framed", side="upstream") == 0
    assert m.get("switchyard_listener_bytes_received_total", listener="raw") == K
    assert m.get("switchyard_listener_bytes_sent_total", listener="raw") == K
    assert m.get("switchyard_listener_connections_active", listener="raw") == 1
    ep = d.backend.address
    assert m.get("switchyard_upstream_bytes_sent_total", upstream="b", endpoint=ep) == sent + K
    assert m.get("switchyard_upstream_bytes_received_total", upstream="b", endpoint=ep) == sent + K
    assert m.get("switchyard_upstream_connect_attempts_total", upstream="b", endpoint=ep) == N + 1
    assert m.get("switchyard_upstream_connections_active", upstream="b", endpoint=ep) == N - 1 + 1
    assert m.get("switchyard_upstream_connect_duration_seconds_count", upstream="b", endpoint=ep) == N + 1
    dead = f"127.0.0.1:{d.dead_port}"
    assert m.get("switchyard_upstream_connect_failures_total", upstream="dead", endpoint=dead, reason="refused") == 1
    assert m.get("switchyard_listener_connections_rejected_total", listener="refused",
                 reason="upstream_unavailable") == 1
    assert m.get("switchyard_loops") == 2
    assert m.get("switchyard_build_info", version=m_version(m)) == 1
    # Ticks run every 50 ms on each loop; wait for the first of each rather than assume one passed.
    m = wait_until(lambda: (lambda x: x if all(x.get("switchyard_loop_ticks_total", 0, loop=l) >= 1
                                               for l in ("0", "1")) else None)(d.metrics()), what="ticks")
    for loop in ("0", "1"):
        assert m.get("switchyard_loop_lag_seconds_count", loop=loop) >= 1
    assert m.sum("switchyard_loop_connections_active") == N - 1 + 1
    assert all(m.get("switchyard_loop_busy_seconds_total", loop=l) > 0 for l in ("0", "1"))
    assert m.get("process_open_fds") > 0
    assert m.get("process_resident_memory_bytes") > 0


def m_version(m):
    for (name, labels) in m.samples:
        if name == "switchyard_build_info":
            return dict(labels)["version"]
    raise AssertionError("no switchyard_build_info")


def test_every_family_has_help_and_type_and_promtool_accepts_it(daemon):
    d = daemon
    s = d.client("framed")
    s.sendall(b"hello\n")
    assert recv_exact(s, 6) == b"hello\n"
    text = d.metrics().text
    names = {l.split()[2] for l in text.splitlines() if l.startswith("# TYPE")}
    helps = {l.split()[2] for l in text.splitlines() if l.startswith("# HELP")}
    assert names == helps
    for required in ("switchyard_listener_connections_active", "switchyard_listener_connections_total",
                     "switchyard_listener_connections_rejected_total", "switchyard_listener_bytes_received_total",
                     "switchyard_listener_bytes_sent_total", "switchyard_listener_frames_received_total",
                     "switchyard_listener_frames_sent_total", "switchyard_codec_errors_total",
                     "switchyard_listener_idle_timeouts_total", "switchyard_loop_connections_active",
                     "switchyard_loop_ticks_total", "switchyard_loop_lag_seconds",
                     "switchyard_upstream_connections_active", "switchyard_upstream_connect_attempts_total",
                     "switchyard_upstream_connect_failures_total", "switchyard_upstream_connect_duration_seconds",
                     "switchyard_upstream_bytes_sent_total", "switchyard_upstream_bytes_received_total",
                     "switchyard_build_info", "switchyard_loops", "switchyard_loop_busy_seconds_total", "switchyard_buffer_bytes",
                     "process_cpu_seconds_total",
                     "process_resident_memory_bytes", "process_open_fds", "process_max_fds",
                     "process_start_time_seconds"):
        assert required in names, required
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "" and r.stderr.strip() == "", r.stdout + r.stderr


def test_a_real_prometheus_server_scrapes_the_daemon(daemon):
    d = daemon
    held = [d.client("raw") for _ in range(4)]
    for s in held:
        s.sendall(b"x")
        assert recv_exact(s, 1) == b"x"
    target = d.metrics_url.split("//")[1].split("/")[0]
    workdir = tempfile.mkdtemp(prefix="swy-prom-")
    cfg = os.path.join(workdir, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: switchyard
    metrics_path: /metrics
    static_configs: [{{targets: ["{target}"]}}]
""")
    port = free_port()
    prom = subprocess.Popen(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={workdir}/data",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "prom.log"), "w"))
    base = f"http://127.0.0.1:{port}"

    def query(q):
        url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = json.load(r)
        except OSError:
            return None
        assert body["status"] == "success"
        return body["data"]["result"]

    try:
        def active():
            res = query('switchyard_listener_connections_active{listener="raw"}')
            return res if res and float(res[0]["value"][1]) == 4 else None
        res = wait_until(active, timeout=60, interval=0.5, what="Prometheus to scrape 4 active connections")
        assert res[0]["metric"]["job"] == "switchyard"
        ticks = wait_until(lambda: (lambda r: r if r and len(r) == 2 else None)(query("switchyard_loop_ticks_total")),
                           timeout=30, interval=0.5, what="ticks of both loops")
        assert sorted(t["metric"]["loop"] for t in ticks) == ["0", "1"]
        assert all(float(t["value"][1]) > 0 for t in ticks)
        up = query('up{job="switchyard"}')
        assert up and up[0]["value"][1] == "1"
        # Every query of the Grafana dashboard parses and evaluates on this server.
        with open(os.path.join(os.path.dirname(__file__), "../../docker/grafana-dashboard.json")) as f:
            dashboard = json.load(f)
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        assert len(exprs) >= 10
        for e in exprs:
            e = e.replace("$__rate_interval", "1m").replace("$instance", ".*")
            assert query(e) is not None, e
        populated = query(dashboard["panels"][0]["targets"][0]["expr"].replace("$instance", ".*"))
        assert {r["metric"]["listener"] for r in populated} >= {"raw", "framed", "refused"}
    finally:
        prom.terminate()
        prom.wait(timeout=20)


def test_tick_summary_is_logged_every_log_every_ticks():
    with Daemon("""
loops: 2
tick: 50ms
log_every: 4
metrics: {listen: 127.0.0.1:0}
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
""") as d:
        held = [d.client("e") for _ in range(3)]
        for s in held:
            s.sendall(b"x")
            assert recv_exact(s, 1) == b"x"
        line = wait_until(lambda: next((l for l in d.log().splitlines()
                                        if "connections: 3 (listeners: e=3; loops:" in l), None),
                          what="summary line with 3 connections")
        loops = line.split("loops: ")[1].rstrip(")").split("/")
        assert sorted(int(x) for x in loops) == [1, 2]
        # One line every 4th tick of loop 0, not one per tick.
        summaries = [l for l in d.log().splitlines() if " info " in l and " connections: " in l]
        ticks = d.metric("switchyard_loop_ticks_total", loop="0")
        assert 1 <= len(summaries) <= ticks // 4 + 1, (len(summaries), ticks)


def test_gzip_scrape_decodes_to_the_same_text_and_the_admin_paths_answer(daemon):
    d = daemon
    # Counters hold still between the two scrapes only when no traffic and no tick changes them:
    # compare the text without the samples that move on their own (ticks, lag, CPU, memory).
    def steady(text):
        moving = ("switchyard_loop_", "process_", "switchyard_buffer_bytes")
        return [l for l in text.splitlines() if not l.startswith(moving)]
    status, headers, plain = d.admin_get("/metrics")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert headers.get("Content-Encoding") is None
    status, headers, zipped = d.admin_get("/metrics", {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert len(zipped) < len(plain) / 3
    assert steady(gzip.decompress(zipped).decode()) == steady(plain.decode())

    status, _, body = d.admin_get("/healthz")
    assert status == 200
    assert body.decode() == "serving: 3 listeners accepting, 0 connections\n"
    status, _, body = d.admin_get("/nope")
    assert status == 404
    assert b"/healthz" in body
    req = urllib.request.Request(d.metrics_url, data=b"x", method="POST")
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("POST /metrics was answered 2xx")
    except urllib.error.HTTPError as e:
        assert e.code == 405
