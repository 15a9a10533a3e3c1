"""SIGTERM: stop accepting, drain open connections, exit 0; shutdown_timeout bounds the drain."""
import signal
import socket
import threading
import time

from harness import Daemon, SLOW, connect, recv_all, recv_exact, wait_until


def slow_backend():
    """Sends 20 chunks 50 ms apart per connection: an in-flight transfer of ~1 s."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    started = threading.Event()

    def transfer(c):
        c.recv(16)
        started.set()
        for i in range(20):
            c.sendall(b"chunk%02d\n" % i)
            time.sleep(0.05)
        c.close()

    def serve():
        # The first connection gets the slow transfer; probes that slipped in before the
        # listener closed are closed at once, so they do not hold the drain open.
        first = True
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            if first:
                threading.Thread(target=transfer, args=(c,), daemon=True).start()
                first = False
            else:
                c.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv, started


def test_sigterm_drains_an_in_flight_transfer_and_exits_0():
    srv, started = slow_backend()
    port = srv.getsockname()[1]
    d = Daemon(f"""
shutdown_timeout: 20s
upstreams:
  - {{name: slow, endpoints: [127.0.0.1:{port}]}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: slow}}
""")
    addr = d.addr("p")
    s = connect(addr)
    s.sendall(b"go")
    assert started.wait(10)
    d.signal(signal.SIGTERM)
    # The daemon logs the drain once its listeners are closed: only the in-flight session is
    # counted (probing the listener before that line could add a session of our own).
    wait_until(lambda: "draining" in d.log(), what="the drain log line")
    assert "draining 1 open connection" in d.log()
    # New connections are refused now, while the old one drains.
    deadline = time.monotonic() + 5 * SLOW
    refused = False
    while time.monotonic() < deadline:
        try:
            connect(addr, timeout=1).close()
            time.sleep(0.02)
        except OSError:
            refused = True
            break
    assert refused, "listener still accepting after SIGTERM"
    data = recv_all(s)
    assert data == b"".join(b"chunk%02d\n" % i for i in range(20))
    s.close()  # the client's FIN ends the half-closed session: nothing is left to drain
    assert d.proc.wait(timeout=10 * SLOW) == 0
    d.stop()
    srv.close()


def test_shutdown_timeout_closes_what_is_left():
    d = Daemon("""
shutdown_timeout: 300ms
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
""")
    s = connect(d.addr("e"))
    s.sendall(b"a")
    assert recv_exact(s, 1) == b"a"
    start = time.monotonic()
    d.signal(signal.SIGTERM)
    assert s.recv(1) == b""  # closed by the daemon when the drain time ran out
    assert d.proc.wait(timeout=10 * SLOW) == 0
    assert time.monotonic() - start >= 0.25
    assert "shutdown_timeout reached: closing 1 connection" in d.log()
    d.stop()


def test_healthz_is_503_while_sigterm_drains_a_connection():
    d = Daemon("""
shutdown_timeout: 20s
metrics: {listen: 127.0.0.1:0}
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
""")
    status, _, body = d.admin_get("/healthz")
    assert (status, body) == (200, b"serving: 1 listeners accepting, 0 connections\n")
    s = connect(d.addr("e"))
    s.sendall(b"a")
    assert recv_exact(s, 1) == b"a"  # the connection is open and holds the drain
    d.signal(signal.SIGTERM)
    wait_until(lambda: "draining" in d.log(), what="the drain log line")
    status, _, body = d.admin_get("/healthz")
    assert status == 503
    assert body == b"draining: 1 connections open\n"
    # Metrics are still served while draining, so the drain itself can be watched.
    assert d.metric("switchyard_listener_connections_active", listener="e") == 1
    s.close()
    assert d.proc.wait(timeout=10 * SLOW) == 0
    d.stop()
