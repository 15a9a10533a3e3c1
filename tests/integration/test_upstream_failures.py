"""Connect failures: retries across endpoints, a backend down then up, connect timeout."""
import socket

from harness import Daemon, EchoBackend, free_port, recv_exact, wait_until


def test_connect_attempts_move_to_the_next_endpoint():
    dead = free_port()  # nothing listens there: connection refused
    backend = EchoBackend()
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - name: b
    connect_attempts: 2
    endpoints: [127.0.0.1:{dead}, {backend.address}]
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: b}}
""") as d:
        for i in range(6):
            s = d.client("p")
            s.sendall(b"ping%d" % i)
            assert recv_exact(s, 5) == b"ping%d" % i
        m = d.metrics()
        # Round-robin tries the dead endpoint first once; after that it is backed off and skipped.
        assert m.get("switchyard_upstream_connect_failures_total", upstream="b",
                     endpoint=f"127.0.0.1:{dead}", reason="refused") >= 1
        assert m.get("switchyard_upstream_connect_attempts_total", upstream="b", endpoint=backend.address) == 6
        assert m.get("switchyard_listener_connections_rejected_total", listener="p",
                     reason="upstream_unavailable") == 0
    backend.close()


def test_all_attempts_failing_closes_the_client_with_a_logged_reason():
    dead1, dead2 = free_port(), free_port()
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - name: gone
    connect_attempts: 3
    endpoints: [127.0.0.1:{dead1}, 127.0.0.1:{dead2}]
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: gone}}
""") as d:
        s = d.client("p")
        assert s.recv(10) == b""  # closed by the proxy
        wait_until(lambda: "unavailable after 3 connect attempt(s)" in d.log(), what="log line")
        m = d.metrics()
        assert m.sum("switchyard_upstream_connect_attempts_total", upstream="gone") == 3
        assert m.get("switchyard_listener_connections_rejected_total", listener="p",
                     reason="upstream_unavailable") == 1


def test_backend_down_then_up():
    port = free_port()
    with Daemon(f"""
upstreams:
  - {{name: b, connect_attempts: 1, endpoints: [127.0.0.1:{port}]}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: b}}
""") as d:
        s = d.client("p")
        assert s.recv(10) == b""  # backend down: client closed
        # Backend comes up on the same port.
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen()
        # A single endpoint is never skipped, even while backed off: the next client gets through.
        c = d.client("p")
        c.sendall(b"hello")
        conn, _ = srv.accept()
        assert recv_exact(conn, 5) == b"hello"
        conn.sendall(b"world")
        assert recv_exact(c, 5) == b"world"
        conn.close()
        srv.close()


def metrics_after_one_failed_client(upstream):
    """Runs a proxy listener in front of `upstream` (a YAML flow mapping named after the
    upstream it declares), lets one client through to a failed connect, and returns /metrics."""
    name = upstream.split("name:")[1].split(",")[0].strip()
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {upstream}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: {name}}}
""") as d:
        s = d.client("p")
        assert s.recv(10) == b""  # closed by the proxy, after the failure was counted
        return d.metrics()


def test_connect_timeout():
    # A listener whose accept queue is full drops further SYNs: connects to it hang.
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(0)
    port = blackhole.getsockname()[1]
    fillers = []
    for _ in range(3):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(("127.0.0.1", port))
        fillers.append(f)
    m = metrics_after_one_failed_client(
        f"{{name: slow, connect_timeout: 300ms, connect_attempts: 2, endpoints: [127.0.0.1:{port}]}}")
    assert m.get("switchyard_upstream_connect_failures_total", upstream="slow",
                 endpoint=f"127.0.0.1:{port}", reason="timeout") == 2
    for f in fillers:
        f.close()
    blackhole.close()


def test_a_missing_unix_socket_file_is_counted_as_not_found(tmp_path):
    missing = tmp_path / "nobody-here.sock"
    m = metrics_after_one_failed_client(f'{{name: u, connect_attempts: 1, endpoints: ["unix:{missing}"]}}')
    failures = {reason: m.get("switchyard_upstream_connect_failures_total", upstream="u",
                              endpoint=f"unix:{missing}", reason=reason)
                for reason in ("not_found", "refused", "other")}
    assert failures == {"not_found": 1, "refused": 0, "other": 0}
