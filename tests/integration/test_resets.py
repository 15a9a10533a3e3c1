"""Endings relayed as they came: a reset (RST) from either side reaches the other side as a
reset, and a clean close (FIN) as a clean close, in every state a connection can be in:
connecting, idle, mid-transfer, paused on a full peer, half-closed. The peer that did not end
the connection tells which it got: recv() raises ECONNRESET after a reset, returns b"" after a
FIN."""
import socket
import struct
import threading

import pytest

from harness import Daemon, blackhole, recv_exact, wait_until

CHUNK = b"0123456789abcdef" * 4096  # 64 KiB


def reset(sock):
    """Closes with SO_LINGER {1, 0}: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def ending(sock, timeout=10.0):
    """Reads until the peer's end: ("rst", bytes read) or ("fin", bytes read)."""
    sock.settimeout(timeout)
    got = 0
    while True:
        try:
            b = sock.recv(1 << 16)
        except ConnectionResetError:
            return "rst", got
        if not b:
            return "fin", got
        got += len(b)


def end(sock, how):
    if how == "rst":
        reset(sock)
    else:
        sock.close()


class Backend:
    """A listening socket the test accepts on itself, so it holds the backend's end."""

    def __init__(self, backlog=64):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(backlog)
        self.address = "127.0.0.1:%d" % self.listener.getsockname()[1]

    def accept(self, timeout=10.0):
        self.listener.settimeout(timeout)
        conn, _ = self.listener.accept()
        return conn

    def close(self):
        self.listener.close()


@pytest.fixture
def proxy():
    backend = Backend()
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: b, endpoints: [{backend.address}], connect_timeout: 10s}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: b, buffer_size: 16KiB, max_buffer_size: 16KiB}}
""") as d:
        d.backend = backend
        yield d
    backend.close()


def pair(d):
    """A client through the proxy and the backend's end of its connection."""
    c = d.client("p")
    c.sendall(b"hello")
    s = d.backend.accept()
    assert recv_exact(s, 5) == b"hello"
    return c, s


def resets(d, side):
    return d.metric("switchyard_listener_resets_total", listener="p", side=side)


def settled(d):
    wait_until(lambda: d.metric("switchyard_listener_connections_active", listener="p") == 0,
               what="the proxy to close the connection")


@pytest.mark.parametrize("how", ["rst", "fin"])
def test_idle_client_ending_reaches_the_backend(proxy, how):
    c, s = pair(proxy)
    end(c, how)
    assert ending(s) == (how, 0)
    s.close()
    settled(proxy)
    assert resets(proxy, "client") == (1 if how == "rst" else 0)
    assert resets(proxy, "upstream") == 0


@pytest.mark.parametrize("how", ["rst", "fin"])
def test_idle_backend_ending_reaches_the_client(proxy, how):
    c, s = pair(proxy)
    end(s, how)
    assert ending(c) == (how, 0)
    c.close()
    settled(proxy)
    assert resets(proxy, "upstream") == (1 if how == "rst" else 0)
    assert resets(proxy, "client") == 0


@pytest.mark.parametrize("how", ["rst", "fin"])
def test_client_ending_mid_transfer(proxy, how):
    """The client streams; the backend reads what arrives, then sees the end as it was made."""
    c, s = pair(proxy)
    for _ in range(8):
        c.sendall(CHUNK)
    end(c, how)
    kind, got = ending(s)
    assert kind == how
    if how == "fin":
        assert got == 8 * len(CHUNK)  # a clean close loses nothing
    s.close()
    settled(proxy)


@pytest.mark.parametrize("how", ["rst", "fin"])
def test_backend_ending_mid_transfer(proxy, how):
    c, s = pair(proxy)
    for _ in range(8):
        s.sendall(CHUNK)
    end(s, how)
    kind, got = ending(c)
    assert kind == how
    if how == "fin":
        assert got == 8 * len(CHUNK)
    c.close()
    settled(proxy)


def fill(sock):
    """Writes until the socket would block: the peer's receive buffer, the proxy's buffer and
    both of its socket buffers are full, and the proxy has stopped reading the writer."""
    sock.setblocking(False)
    sent = 0
    try:
        while True:
            sent += sock.send(CHUNK)
    except BlockingIOError:
        pass
    sock.setblocking(True)
    return sent


def stall(d, writer, received):
    """Fills `writer` until the proxy has stopped reading it: the bytes the proxy counts as
    received from that side (metric `received`) stay put between two polls while the writer
    still cannot write. Returns the bytes written."""
    sent = fill(writer)
    last = None

    def stopped():
        nonlocal sent, last
        wrote = fill(writer)
        sent += wrote
        now = d.metrics().sum(received)
        done = wrote == 0 and now == last
        last = now
        return done

    wait_until(stopped, interval=0.1, what="the proxy to stop reading (backpressure)")
    return sent


@pytest.mark.parametrize("how", ["rst", "fin"])
def test_client_ending_while_the_proxy_waits_on_a_full_backend(proxy, how):
    """The backend reads nothing, so the proxy stops reading the client (backpressure); the
    client's ending must still get through, not wait for the backend to read."""
    c, s = pair(proxy)
    sent = stall(proxy, c, "switchyard_listener_bytes_received_total")
    if how == "rst":
        reset(c)
        # The reset arrives without the backend reading a byte: the proxy reset its side.
        wait_until(lambda: resets(proxy, "client") == 1, what="the client's reset to be seen")
        assert ending(s)[0] == "rst"
    else:
        c.shutdown(socket.SHUT_WR)
        kind, got = ending(s)
        assert (kind, got) == ("fin", sent)  # everything, then the FIN
        c.close()
    s.close()
    settled(proxy)


@pytest.mark.parametrize("how", ["rst", "fin"])
def test_backend_ending_while_the_proxy_waits_on_a_full_client(proxy, how):
    c, s = pair(proxy)
    sent = stall(proxy, s, "switchyard_upstream_bytes_received_total")
    if how == "rst":
        reset(s)
        wait_until(lambda: resets(proxy, "upstream") == 1, what="the backend's reset to be seen")
        assert ending(c)[0] == "rst"
    else:
        s.shutdown(socket.SHUT_WR)
        assert ending(c) == ("fin", sent)
        s.close()
    c.close()
    settled(proxy)


@pytest.mark.parametrize("how", ["rst", "fin"])
def test_backend_ending_after_the_client_half_closed(proxy, how):
    """The client said FIN and waits for the answer; the backend then ends its side."""
    c, s = pair(proxy)
    c.shutdown(socket.SHUT_WR)
    assert ending(s, timeout=10) == ("fin", 0)  # the half-close arrived
    s.sendall(b"partial answer")
    end(s, how)
    kind, got = ending(c)
    assert kind == how
    if how == "fin":
        assert got == len(b"partial answer")
    c.close()
    settled(proxy)


@pytest.mark.parametrize("how", ["rst", "fin"])
def test_client_ending_after_the_backend_half_closed(proxy, how):
    c, s = pair(proxy)
    s.shutdown(socket.SHUT_WR)
    assert ending(c) == ("fin", 0)
    c.sendall(b"late words")
    end(c, how)
    kind, got = ending(s)
    assert kind == how
    if how == "fin":
        assert got == len(b"late words")
    s.close()
    settled(proxy)


def test_client_reset_while_connecting_ends_the_attempt_at_once():
    listener, fillers = blackhole()
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: b, endpoints: ["127.0.0.1:{listener.getsockname()[1]}"], connect_timeout: 30s, connect_attempts: 1}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: b}}
""") as d:
        c = d.client("p")
        wait_until(lambda: d.metric("switchyard_upstream_connect_attempts_total", upstream="b",
                                    endpoint=f"127.0.0.1:{listener.getsockname()[1]}") == 1,
                   what="the connect attempt to begin")
        reset(c)
        # Closed long before connect_timeout (30 s), counted as the client's reset.
        wait_until(lambda: d.metric("switchyard_listener_connections_active", listener="p") == 0, timeout=5,
                   what="the session to end")
        m = d.metrics()
        assert m.get("switchyard_listener_resets_total", listener="p", side="client") == 1
        assert m.sum("switchyard_upstream_connect_failures_total", upstream="b") == 0
    for f in fillers:
        f.close()
    listener.close()


def test_client_fin_while_connecting_is_relayed_once_connected():
    listener, fillers = blackhole()
    port = listener.getsockname()[1]
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: b, endpoints: ["127.0.0.1:{port}"], connect_timeout: 30s, connect_attempts: 1}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: b}}
""") as d:
        c = d.client("p")
        wait_until(lambda: d.metric("switchyard_upstream_connect_attempts_total", upstream="b",
                                    endpoint=f"127.0.0.1:{port}") == 1, what="the connect attempt to begin")
        c.sendall(b"early request")
        c.shutdown(socket.SHUT_WR)
        # Make room in the accept queue: the kernel's SYN retries get through, the fillers' and
        # the proxy's; the proxy's connection is the one that is no filler.
        listener.settimeout(10)
        filler_ends = {f.getsockname() for f in fillers}
        while True:
            s, peer = listener.accept()
            if peer not in filler_ends:
                break
            s.close()
        assert ending(s, timeout=10) == ("fin", len(b"early request"))
        s.sendall(b"late answer")
        s.close()
        assert ending(c) == ("fin", len(b"late answer"))
        assert d.metric("switchyard_listener_resets_total", listener="p", side="client") == 0
    for f in fillers:
        f.close()
    listener.close()
