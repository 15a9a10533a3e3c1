"""Upstream health: active checks (a real redis-server with PING/+PONG), passive ejection after
max_fails failed connects, when_all_down, and health across reloads."""
import socket
import threading
import time

from harness import Daemon, EchoBackend, RedisServer, blackhole, free_port, recv_exact, redis_command, wait_until

FAST_CHECKS = "{interval: 100ms, timeout: 500ms, healthy_threshold: 2, unhealthy_threshold: 2%s}"
REDIS_CHECK = FAST_CHECKS % ', send: "PING\\r\\n", expect: "+PONG"'


def healthy(d, upstream, endpoint):
    return d.metric("switchyard_upstream_endpoint_healthy", upstream=upstream, endpoint=endpoint)


def log_count(d, text):
    return d.log().count(text)


def test_redis_ping_pong_checks_take_an_endpoint_out_and_back():
    a, b = RedisServer(), RedisServer()
    try:
        with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - name: cache
    endpoints: [{a.address}, {b.address}]
    health_check: {REDIS_CHECK}
listeners:
  - {{name: r, listen: 127.0.0.1:0, upstream: cache}}
""") as d:
            checks = "switchyard_upstream_health_checks_total"
            for ep in (a.address, b.address):
                wait_until(lambda: d.metric(checks, upstream="cache", endpoint=ep, result="success") >= 2,
                           what=f"two passed checks of {ep}")
                assert healthy(d, "cache", ep) == 1
            # Through the proxy, redis answers as usual.
            c = d.client("r")
            assert redis_command(c, "PING") == b"+PONG\r\n"
            c.close()

            b.close()  # the endpoint goes down
            wait_until(lambda: healthy(d, "cache", b.address) == 0, what="the checks to take b out")
            m = d.metrics()
            assert m.get("switchyard_upstream_ejections_total", upstream="cache", endpoint=b.address,
                         cause="health_check") == 1
            # unhealthy_threshold failed checks in a row: refused connects, or a check that met the
            # server while it was shutting down (bad_response, timeout).
            failed = sum(m.get(checks, 0.0, upstream="cache", endpoint=b.address, result=r)
                         for r in ("connect_failed", "bad_response", "timeout"))
            assert failed >= 2 and m.get(checks, upstream="cache", endpoint=b.address, result="connect_failed") >= 1
            assert log_count(d, f"endpoint {b.address} is down") == 1
            # No new connection goes to b while it is down: every client gets redis a.
            attempts_b = m.get("switchyard_upstream_connect_attempts_total", upstream="cache", endpoint=b.address)
            for i in range(10):
                c = d.client("r")
                assert redis_command(c, "SET", f"k{i}", "v") == b"+OK\r\n"
                c.close()
            m = d.metrics()
            assert m.get("switchyard_upstream_connect_attempts_total", upstream="cache",
                         endpoint=b.address) == attempts_b
            assert m.get("switchyard_upstream_connect_failures_total", upstream="cache", endpoint=b.address,
                         reason="refused") == 0

            b = RedisServer(port=b.port)  # back where it was
            wait_until(lambda: healthy(d, "cache", b.address) == 1, what="the checks to bring b back")
            assert log_count(d, f"endpoint {b.address} is up") == 1
            assert log_count(d, f"endpoint {b.address} is down") == 1  # each change logged once
            for i in range(10):
                c = d.client("r")
                assert redis_command(c, "PING") == b"+PONG\r\n"
                c.close()
            assert d.metric("switchyard_upstream_connect_attempts_total", upstream="cache",
                            endpoint=b.address) > attempts_b
    finally:
        a.close()
        b.close()


class WrongReplyBackend:
    """Answers every connection with '-ERR nope' and closes: a check expecting +PONG fails."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                c.sendall(b"-ERR nope\r\n")
            except OSError:
                pass
            c.close()

    def close(self):
        self.sock.close()


def test_check_results_are_told_apart():
    wrong = WrongReplyBackend()
    hole_listener, fillers = blackhole()  # connects to it hang until the check's timeout
    hole = "127.0.0.1:%d" % hole_listener.getsockname()[1]
    dead = "127.0.0.1:%d" % free_port()
    backend = EchoBackend()
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - name: u
    endpoints: [{wrong.address}, {hole}, {dead}, {backend.address}]
    health_check: {{interval: 100ms, timeout: 200ms, send: "PING\\r\\n", expect: "PING"}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: u}}
""") as d:
        checks = "switchyard_upstream_health_checks_total"
        expected = {wrong.address: "bad_response", hole: "timeout", dead: "connect_failed", backend.address: "success"}
        for ep, result in expected.items():
            wait_until(lambda: d.metric(checks, upstream="u", endpoint=ep, result=result) >= 1,
                       what=f"a {result} check of {ep}")
        # The first verdict applies at once: one failed check is enough at start.
        for ep in (wrong.address, hole, dead):
            wait_until(lambda: healthy(d, "u", ep) == 0, what=f"{ep} down")
        assert healthy(d, "u", backend.address) == 1
        # A hanging check never holds up the relay: every client gets the healthy echo endpoint.
        for i in range(5):
            c = d.client("p")
            c.sendall(b"x%d" % i)
            assert recv_exact(c, 2) == b"x%d" % i
            c.close()
        assert "the last with bad_response: reply of 11 byte(s) without the expected bytes, then " in d.log()
    for f in fillers:
        f.close()
    hole_listener.close()
    wrong.close()
    backend.close()


def test_max_fails_ejects_an_endpoint_for_fail_timeout():
    dead = "127.0.0.1:%d" % free_port()
    backend = EchoBackend()
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
loops: 1
upstreams:
  - name: b
    max_fails: 2
    fail_timeout: 1m
    connect_attempts: 3
    endpoints: [{dead}, {backend.address}]
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: b}}
""") as d:
        for i in range(12):
            c = d.client("p")
            c.sendall(b"m%02d" % i)
            assert recv_exact(c, 3) == b"m%02d" % i
            c.close()
        m = d.metrics()
        # Round-robin tried the dead endpoint twice (max_fails), then never again.
        assert m.get("switchyard_upstream_connect_attempts_total", upstream="b", endpoint=dead) == 2
        assert m.get("switchyard_upstream_ejections_total", upstream="b", endpoint=dead, cause="max_fails") == 1
        assert m.get("switchyard_upstream_endpoint_healthy", upstream="b", endpoint=dead) == 0
        assert m.get("switchyard_upstream_endpoint_healthy", upstream="b", endpoint=backend.address) == 1
        assert m.get("switchyard_listener_connections_rejected_total", listener="p", reason="upstream_unavailable") == 0
        assert log_count(d, f"endpoint {dead} ejected for 60000 ms after 2 consecutive failed connect(s)") == 1
    backend.close()


def test_when_all_down_reject_turns_clients_away_without_trying():
    dead = "127.0.0.1:%d" % free_port()
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - name: gone
    when_all_down: reject
    endpoints: [{dead}]
    health_check: {FAST_CHECKS % ""}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: gone}}
""") as d:
        wait_until(lambda: healthy(d, "gone", dead) == 0, what="the endpoint down")
        for _ in range(3):
            c = d.client("p")
            assert c.recv(10) == b""  # closed at once
            c.close()
        wait_until(lambda: d.metric("switchyard_listener_connections_rejected_total", listener="p",
                                    reason="no_healthy_endpoint") == 3, what="three rejections")
        m = d.metrics()
        assert m.get("switchyard_upstream_all_down_total", upstream="gone", when_all_down="reject") == 3
        assert m.get("switchyard_upstream_connect_attempts_total", upstream="gone", endpoint=dead) == 0
        assert log_count(d, "upstream gone: no endpoint is healthy; rejecting new connections") == 1


def test_when_all_down_fail_open_still_serves():
    # The check expects a reply the echo backend never gives, so the endpoint is "down"; yet
    # relaying works, and fail-open (the default) keeps serving.
    backend = EchoBackend()
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - name: u
    endpoints: [{backend.address}]
    health_check: {{interval: 100ms, timeout: 100ms, send: "PING\\r\\n", expect: "+PONG"}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: u}}
""") as d:
        wait_until(lambda: healthy(d, "u", backend.address) == 0, what="the endpoint down")
        for i in range(3):
            c = d.client("p")
            c.sendall(b"hi%d" % i)
            assert recv_exact(c, 3) == b"hi%d" % i
            c.close()
        m = d.metrics()
        assert m.get("switchyard_upstream_all_down_total", upstream="u", when_all_down="fail-open") == 3
        assert m.get("switchyard_listener_connections_rejected_total", listener="p", reason="no_healthy_endpoint") == 0
        assert log_count(d, "upstream u: no endpoint is healthy; balancing new connections over all of them") == 1
    backend.close()


def test_reload_keeps_health_and_stops_checking_removed_endpoints():
    dead = "127.0.0.1:%d" % free_port()
    kept, removed = EchoBackend(), EchoBackend()
    config = """
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - name: u
    endpoints: [{endpoints}]
    health_check: {{interval: {interval}, timeout: 300ms}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: u}}
"""
    with Daemon(config.format(endpoints=f"{dead}, {kept.address}, {removed.address}", interval="100ms")) as d:
        wait_until(lambda: healthy(d, "u", dead) == 0, what="the dead endpoint down")
        wait_until(lambda: removed.connections >= 2, what="checks of the endpoint to be removed")
        checks_before = d.metric("switchyard_upstream_health_checks_total", upstream="u", endpoint=kept.address,
                                 result="success")
        d.reload(config.format(endpoints=f"{dead}, {kept.address}", interval="150ms"))
        m = d.metrics()
        # A kept endpoint keeps its verdict (no flip to healthy) and its counters.
        assert m.get("switchyard_upstream_endpoint_healthy", upstream="u", endpoint=dead) == 0
        assert m.get("switchyard_upstream_health_checks_total", upstream="u", endpoint=kept.address,
                     result="success") >= checks_before
        # The removed endpoint is gone from /metrics, not left at healthy=1.
        assert m.get("switchyard_upstream_endpoint_healthy", upstream="u", endpoint=removed.address) is None
        assert m.get("switchyard_upstream_health_checks_total", upstream="u", endpoint=removed.address,
                     result="success") is None
        assert log_count(d, f"endpoint {dead} is down") == 1
        # And nobody checks it any more (the retired generation's checks stopped at the reload).
        # A window of several intervals, not a synchronisation: there is no event for "nothing".
        seen = removed.connections
        time.sleep(0.6)
        assert removed.connections == seen
        # Checks without health_check: the active verdict goes; endpoints are listed, unchecked.
        d.reload(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: u, endpoints: [{kept.address}], max_fails: 0}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: u}}
""")
        m = d.metrics()
        assert m.get("switchyard_upstream_endpoint_healthy", upstream="u", endpoint=kept.address) == 1
        assert m.get("switchyard_upstream_health_checks_total", upstream="u", endpoint=kept.address,
                     result="success") is None
        seen = kept.connections
        time.sleep(0.45)
        assert kept.connections == seen
    kept.close()
    removed.close()
