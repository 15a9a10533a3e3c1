"""UDP listeners: per-client sessions over real sockets (IPv4 and IPv6), against Python UDP
backends, a real DNS server (dnsmasq, queried with dig) and socat as a real client."""
import os
import selectors
import signal
import socket
import subprocess
import time

import pytest

from harness import (BIN, Daemon, Dnsmasq, SLOW, UdpEchoBackend, connect, free_port, needs_dns, nothing_waiting, recv_exact,
                     udp_client, wait_until)

FAMILIES = [("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")]


def proxy_config(backend, listen="127.0.0.1:0", loops=2, extra="", reuse_port=False, balancer="round-robin",
                 shutdown_timeout="1s"):
    # A short shutdown_timeout: sessions idle for 60 s by default, and each test's daemon stops
    # with its sessions still open.
    return f"""
loops: {loops}
tick: 20ms
shutdown_timeout: {shutdown_timeout}
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: back, endpoints: ["{backend}"]}}
listeners:
  - {{name: u, protocol: udp, listen: "{listen}", upstream: back, reuse_port: {str(reuse_port).lower()}, balancer: {balancer}{extra}}}
"""


def metric(d, name, **labels):
    return d.metrics().get(name, 0.0, **labels)


@pytest.mark.parametrize("host,bracketed", FAMILIES, ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("reuse_port", [False, True], ids=["one-socket", "reuse-port"])
def test_dns_like_exchange_from_500_source_ports_keeps_every_reply_intact(host, bracketed, reuse_port):
    backend = UdpEchoBackend(host, prefix=b"re:")
    with Daemon(proxy_config(backend.address, listen=f"{bracketed}:0", reuse_port=reuse_port)) as d:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        port = int(d.addr("u").rsplit(":", 1)[1])
        sel = selectors.DefaultSelector()
        clients = []
        for i in range(500):
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.bind((host, 0))  # a port of its own: 500 client addresses, 500 sessions
            s.connect((host, port))
            s.setblocking(False)
            query = b"q%04d:" % i + os.urandom(16 + i % 200)
            clients.append((s, query))
            sel.register(s, selectors.EVENT_READ, i)
        # Sent in waves of 50 so no socket buffer on the way overflows (loss is counted, not
        # allowed, below).
        answers = {}
        for wave in range(0, 500, 50):
            for s, query in clients[wave:wave + 50]:
                s.send(query)
            deadline = time.monotonic() + 10 * SLOW
            while len(answers) < wave + 50 and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=0.5):
                    answers[key.data] = key.fileobj.recv(65535)
        assert len(answers) == 500
        for i, (s, query) in enumerate(clients):
            assert answers[i] == b"re:" + query
            s.close()
        # A loop counts a batch right after its sendmmsg: the client may read the replies first.
        wait_until(lambda: metric(d, "switchyard_udp_datagrams_sent_total", listener="u") == 500,
                   what="500 datagrams counted as sent")
        m = d.metrics()
        assert m.get("switchyard_udp_sessions_total", listener="u") == 500
        assert m.get("switchyard_udp_datagrams_received_total", listener="u") == 500
        assert m.get("switchyard_udp_datagrams_sent_total", listener="u") == 500
        assert m.get("switchyard_upstream_datagrams_sent_total", upstream="back", endpoint=backend.address) == 500
        assert m.get("switchyard_upstream_datagrams_received_total", upstream="back", endpoint=backend.address) == 500
        assert m.get("switchyard_listener_bytes_sent_total", listener="u") == sum(len(q) + 3 for _, q in clients)
        assert m.sum("switchyard_udp_datagrams_dropped_total", listener="u") == 0
        assert len(backend.peers) == 500  # one upstream socket per session
    backend.close()


@needs_dns
@pytest.mark.parametrize("listen,server", [("127.0.0.1:0", "127.0.0.1"), ("[::1]:0", "::1")], ids=["ipv4", "ipv6"])
def test_dig_through_the_proxy_to_a_real_dns_server(listen, server):
    dns = Dnsmasq()
    try:
        with Daemon(proxy_config(dns.address, listen=listen, extra=", responses: 1")) as d:
            port = d.addr("u").rsplit(":", 1)[1]
            for name, expected in (("example.test", "10.1.2.3"), ("a.example.test", "10.1.2.3")):
                r = subprocess.run(["dig", f"@{server}", "-p", port, name, "A", "+short", "+time=2", "+tries=1"],
                                   capture_output=True, text=True, timeout=20)
                assert r.stdout.strip() == expected, r.stdout + r.stderr
            # responses: 1 ends each dig's session as soon as its answer is relayed.
            wait_until(lambda: metric(d, "switchyard_udp_sessions_active", listener="u") == 0, what="sessions ended")
            assert metric(d, "switchyard_udp_sessions_total", listener="u") == 2
    finally:
        dns.close()


def test_idle_timeout_is_refreshed_by_client_only_traffic_then_ends_the_session():
    sink = UdpEchoBackend(silent=True)
    with Daemon(proxy_config(sink.address, extra=", idle_timeout: 600ms")) as d:
        c = udp_client(d.addr("u"))
        start = time.monotonic()
        sent = 0
        # 1.8 s of client datagrams 150 ms apart (pacing, not synchronisation): three idle
        # timeouts' worth, no reply ever comes back.
        while time.monotonic() - start < 1.8:
            c.send(b"tick")
            sent += 1
            time.sleep(0.15)
        wait_until(lambda: sink.received == sent, what="every datagram at the sink")
        m = d.metrics()
        assert m.get("switchyard_udp_sessions_total", listener="u") == 1
        assert m.get("switchyard_udp_sessions_active", listener="u") == 1
        assert m.get("switchyard_listener_idle_timeouts_total", listener="u") == 0
        wait_until(lambda: metric(d, "switchyard_udp_sessions_active", listener="u") == 0, what="idle expiry")
        assert metric(d, "switchyard_listener_idle_timeouts_total", listener="u") == 1
        c.close()
    sink.close()


def test_idle_timeout_is_refreshed_by_upstream_only_traffic():
    # The backend keeps talking to the session's socket without the client saying anything.
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.bind(("127.0.0.1", 0))
    back.settimeout(5)
    with Daemon(proxy_config("127.0.0.1:%d" % back.getsockname()[1], extra=", idle_timeout: 600ms")) as d:
        c = udp_client(d.addr("u"))
        c.send(b"hello")
        _, session_addr = back.recvfrom(100)
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < 1.8:
            back.sendto(b"push%d" % n, session_addr)
            assert c.recv(100) == b"push%d" % n
            n += 1
            time.sleep(0.15)
        assert metric(d, "switchyard_udp_sessions_total", listener="u") == 1
        assert metric(d, "switchyard_listener_idle_timeouts_total", listener="u") == 0
        wait_until(lambda: metric(d, "switchyard_udp_sessions_active", listener="u") == 0, what="idle expiry")
        c.close()
    back.close()


def test_responses_1_ends_the_session_after_one_reply():
    backend = UdpEchoBackend()
    with Daemon(proxy_config(backend.address, extra=", responses: 1")) as d:
        c = udp_client(d.addr("u"))
        c.send(b"one")
        assert c.recv(100) == b"one"
        wait_until(lambda: metric(d, "switchyard_udp_sessions_active", listener="u") == 0, what="session end")
        c.send(b"two")  # the same client address opens a new session
        assert c.recv(100) == b"two"
        assert metric(d, "switchyard_udp_sessions_total", listener="u") == 2
    backend.close()


def test_max_sessions_drops_and_counts_datagrams_of_new_clients():
    backend = UdpEchoBackend()
    with Daemon(proxy_config(backend.address, extra=", max_sessions: 3")) as d:
        clients = [udp_client(d.addr("u")) for _ in range(5)]
        for i, c in enumerate(clients[:3]):
            c.send(b"c%d" % i)
            assert c.recv(100) == b"c%d" % i
        for c in clients[3:]:
            c.send(b"late")
        wait_until(lambda: metric(d, "switchyard_udp_datagrams_dropped_total", listener="u", reason="max_sessions") == 2,
                   what="two drops counted")
        assert all(nothing_waiting(c) for c in clients[3:])
        assert metric(d, "switchyard_udp_sessions_active", listener="u") == 3
        # A client that already has a session is not limited.
        clients[0].send(b"again")
        assert clients[0].recv(100) == b"again"
        assert "max_sessions 3 reached" in d.log()
        for c in clients:
            c.close()
    backend.close()


@pytest.mark.parametrize("host,bracketed", FAMILIES, ids=["ipv4", "ipv6"])
def test_oversize_datagram_is_dropped_and_counted_never_truncated(host, bracketed):
    backend = UdpEchoBackend(host)
    with Daemon(proxy_config(backend.address, listen=f"{bracketed}:0", extra=", max_datagram: 1000")) as d:
        c = udp_client(d.addr("u"))
        c.send(b"x" * 1001)
        wait_until(lambda: metric(d, "switchyard_udp_datagrams_dropped_total", listener="u", reason="oversize") == 1,
                   what="oversize drop")
        c.send(b"y" * 1000)
        assert c.recv(2000) == b"y" * 1000  # the largest allowed passes whole
        assert backend.received == 1
        c.close()
    backend.close()


def test_largest_udp_payload_passes_by_default():
    backend = UdpEchoBackend()
    with Daemon(proxy_config(backend.address)) as d:
        c = udp_client(d.addr("u"))
        payload = os.urandom(65507)
        c.send(payload)
        assert c.recv(65535) == payload
        c.close()
    backend.close()


def test_upstream_refused_is_counted_and_ends_the_session():
    dead = free_port()  # nothing listens there: the kernel answers ICMP port unreachable
    with Daemon(proxy_config(f"127.0.0.1:{dead}")) as d:
        c = udp_client(d.addr("u"))
        c.send(b"anyone?")
        wait_until(lambda: metric(d, "switchyard_udp_datagrams_dropped_total", listener="u",
                                  reason="upstream_refused") == 1, what="refusal counted")
        wait_until(lambda: metric(d, "switchyard_udp_sessions_active", listener="u") == 0, what="session ended")
        assert metric(d, "switchyard_upstream_connect_failures_total", upstream="back",
                      endpoint=f"127.0.0.1:{dead}", reason="refused") == 1
        assert "refused (ICMP port unreachable)" in d.log()
        c.close()


def test_socat_as_a_real_udp_client():
    backend = UdpEchoBackend(prefix=b"echo: ")
    with Daemon(proxy_config(backend.address)) as d:
        r = subprocess.run(["socat", "-t", "2", "-", "UDP:" + d.addr("u")], input=b"hello from socat\n",
                           capture_output=True, timeout=20)
        assert r.stdout == b"echo: hello from socat\n"
    backend.close()


def test_udp_echo_handler_and_a_tcp_listener_share_one_address_and_port():
    port = free_port()
    with Daemon(f"""
listeners:
  - {{name: t, protocol: tcp, listen: "127.0.0.1:{port}", handler: echo}}
  - {{name: u, protocol: udp, listen: "127.0.0.1:{port}", handler: echo}}
""") as d:
        c = udp_client(d.addr("u"))
        c.send(b"datagram")
        assert c.recv(100) == b"datagram"
        t = d.client("t")
        t.sendall(b"stream")
        assert t.recv(100) == b"stream"
        assert d.addr("u") == d.addr("t") == f"127.0.0.1:{port}"
        c.close()


def test_replies_leave_from_the_address_the_client_sent_to_on_a_wildcard_listener():
    backend = UdpEchoBackend()
    with Daemon(proxy_config(backend.address, listen="0.0.0.0:0")) as d:
        port = int(d.addr("u").rsplit(":", 1)[1])
        for local in ("127.0.0.1", "127.0.0.2"):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(5 * SLOW)
            s.bind(("127.0.0.1", 0))
            s.sendto(b"hi " + local.encode(), (local, port))
            data, source = s.recvfrom(100)
            assert data == b"hi " + local.encode()
            assert source == (local, port)  # not 127.0.0.1 for the query sent to 127.0.0.2
            s.close()
    backend.close()


def open_sessions(d, n):
    """n clients, each with a session that answered once."""
    clients = []
    for i in range(n):
        c = udp_client(d.addr("u"))
        c.send(b"%d" % i)
        assert c.recv(100) == b"%d" % i
        clients.append(c)
    return clients


def loop_sessions(d, expected_total, loops=4):
    def read():
        series = d.metrics().series("switchyard_loop_connections_active")
        counts = [int(series.get(str(i), 0)) for i in range(loops)]
        return counts if sum(counts) == expected_total else None
    return wait_until(read, what=f"{expected_total} sessions on the loops")


@pytest.mark.parametrize("balancer,expected", [("round-robin", [25, 25, 25, 25]),
                                               ("least-connections", [25, 25, 25, 25])])
def test_listener_balancer_spreads_new_sessions_over_the_loops(balancer, expected):
    backend = UdpEchoBackend()
    with Daemon(proxy_config(backend.address, loops=4, balancer=balancer)) as d:
        clients = open_sessions(d, 100)
        assert loop_sessions(d, 100) == expected
        # Later datagrams of each client reach the loop that owns its session: still 100.
        for i, c in enumerate(clients):
            c.send(b"again%d" % i)
            assert c.recv(100) == b"again%d" % i
        assert metric(d, "switchyard_udp_sessions_total", listener="u") == 100
        for c in clients:
            c.close()
    backend.close()


def test_source_addr_hash_keeps_a_client_ip_on_one_loop():
    backend = UdpEchoBackend()
    with Daemon(proxy_config(backend.address, loops=4, balancer="source-addr-hash")) as d:
        used = set()
        total = 0
        held = []
        for k in range(1, 9):
            before = loop_sessions(d, total)
            for i in range(5):
                c = udp_client(d.addr("u"), source_ip=f"127.0.0.{k}")
                c.send(b"x")
                assert c.recv(10) == b"x"
                held.append(c)
            total += 5
            after = loop_sessions(d, total)
            grown = [i for i in range(4) if after[i] != before[i]]
            assert len(grown) == 1 and after[grown[0]] - before[grown[0]] == 5, (k, before, after)
            used.add(grown[0])
        assert len(used) > 1
        for c in held:
            c.close()
    backend.close()


def test_reuse_port_serves_each_client_on_the_loop_that_received_it():
    backend = UdpEchoBackend()
    with Daemon(proxy_config(backend.address, loops=4, reuse_port=True)) as d:
        clients = open_sessions(d, 100)
        counts = loop_sessions(d, 100)
        assert sum(1 for n in counts if n > 0) >= 2, counts  # the kernel's hash spread them
        for c in clients:
            c.close()
    backend.close()


def test_sigterm_drains_udp_sessions_until_idle():
    backend = UdpEchoBackend()
    d = Daemon(proxy_config(backend.address, extra=", idle_timeout: 1500ms", shutdown_timeout="20s"))
    old = udp_client(d.addr("u"))
    old.send(b"before")
    assert old.recv(100) == b"before"
    d.signal(signal.SIGTERM)
    wait_until(lambda: "draining" in d.log(), what="the drain log line")
    assert "draining 1 open connection" in d.log()
    started = time.monotonic()
    newcomer = udp_client(d.addr("u"))
    newcomer.send(b"new")  # no new session while draining
    old.send(b"during")    # the open session keeps working
    assert old.recv(100) == b"during"
    assert nothing_waiting(newcomer)  # its datagram came first on the same socket: dropped
    assert d.proc.wait(timeout=15 * SLOW) == 0  # ends when the session idles out, not at shutdown_timeout
    assert time.monotonic() - started < 10 * SLOW
    assert "shutdown_timeout reached" not in d.log()
    d.stop()
    old.close()
    newcomer.close()
    backend.close()


def codec_config(backend, listener_codec, upstream_codec=None):
    up = f", codec: {upstream_codec}" if upstream_codec else ""
    return f"""
loops: 1
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: back, endpoints: ["{backend}"]{up}}}
listeners:
  - {{name: u, protocol: udp, listen: "127.0.0.1:0", upstream: back, codec: {listener_codec}}}
"""


def test_codec_on_a_udp_listener_translates_each_datagram_frame_by_frame():
    # statsd-like lines from the client; the backend speaks 4-byte length fields. One datagram in,
    # one datagram out, every frame re-encoded; the reply comes back as lines.
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.bind(("127.0.0.1", 0))
    back.settimeout(5 * SLOW)
    with Daemon(codec_config("127.0.0.1:%d" % back.getsockname()[1], "{plugin: line}", "{plugin: length-field}")) as d:
        c = udp_client(d.addr("u"))
        c.send(b"a:1|c\nbb:2|g\nlast:3|ms")  # the last line has no newline: decode_end frames it
        datagram, session = back.recvfrom(1000)
        assert datagram == b"\x00\x00\x00\x05a:1|c\x00\x00\x00\x06bb:2|g\x00\x00\x00\x09last:3|ms"
        back.sendto(b"\x00\x00\x00\x02ok\x00\x00\x00\x04done", session)
        assert c.recv(1000) == b"ok\ndone\n"
        # A reply that does not frame (a length field longer than the datagram) is dropped.
        back.sendto(b"\x00\x00\x00\x09cut", session)
        wait_until(lambda: metric(d, "switchyard_udp_datagrams_dropped_total", listener="u", reason="codec_error") == 1,
                   what="codec error counted")
        assert metric(d, "switchyard_codec_errors_total", listener="u", side="upstream", codec="length-field",
                      reason="malformed") == 1
        m = d.metrics()
        assert m.get("switchyard_listener_frames_received_total", listener="u") == 3
        assert m.get("switchyard_listener_frames_sent_total", listener="u") == 2
        assert nothing_waiting(c)
        c.close()
    back.close()


def test_a_datagram_that_does_not_frame_is_dropped_and_counted_not_passed_on():
    backend = UdpEchoBackend()
    with Daemon(codec_config(backend.address, "{plugin: length-field, length_field_length: 2}")) as d:
        c = udp_client(d.addr("u"))
        c.send(b"\x00\x05abc")  # says 5 bytes, holds 3
        wait_until(lambda: metric(d, "switchyard_udp_datagrams_dropped_total", listener="u", reason="codec_error") == 1,
                   what="codec error counted")
        assert backend.received == 0
        c.send(b"\x00\x03abc\x00\x01z")  # whole frames: passed on as they came (both sides alike)
        assert c.recv(100) == b"\x00\x03abc\x00\x01z"
        assert "codec length-field: malformed datagram from client" in d.log()
        c.close()
    backend.close()


@needs_dns
def test_dig_over_tcp_through_a_length_field_listener_to_a_dns_server_over_udp():
    # DNS over TCP frames each message with a 2-byte length; the bridge sends each frame as one
    # UDP datagram to dnsmasq and frames each answer back.
    dns = Dnsmasq()
    try:
        with Daemon(f"""
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: dns, protocol: udp, endpoints: ["{dns.address}"]}}
listeners:
  - {{name: t, listen: "127.0.0.1:0", upstream: dns, codec: {{plugin: length-field, length_field_length: 2}}}}
""") as d:
            port = d.addr("t").rsplit(":", 1)[1]
            for name in ("example.test", "www.example.test"):
                r = subprocess.run(["dig", "+tcp", "@127.0.0.1", "-p", port, name, "A", "+short", "+time=3", "+tries=1"],
                                   capture_output=True, text=True, timeout=20)
                assert r.stdout.strip() == "10.1.2.3", r.stdout + r.stderr
            # Two queries in one TCP connection (dig keeps it open for both): two datagrams out.
            r = subprocess.run(["dig", "+tcp", "+keepopen", "@127.0.0.1", "-p", port, "a.example.test", "b.example.test",
                                "+short", "+time=3", "+tries=1"], capture_output=True, text=True, timeout=20)
            assert r.stdout.split() == ["10.1.2.3", "10.1.2.3"], r.stdout + r.stderr
            m = d.metrics()
            endpoint = dns.address
            assert m.get("switchyard_upstream_datagrams_sent_total", upstream="dns", endpoint=endpoint) == 4
            assert m.get("switchyard_upstream_datagrams_received_total", upstream="dns", endpoint=endpoint) == 4
            assert m.get("switchyard_listener_frames_received_total", listener="t") == 4
            wait_until(lambda: metric(d, "switchyard_listener_connections_active", listener="t") == 0,
                       what="the dig connections closed")
            assert metric(d, "switchyard_listener_connections_total", listener="t") == 3
    finally:
        dns.close()


def test_stream_to_udp_bridge_refused_endpoint_closes_the_connection():
    dead = free_port()
    with Daemon(f"""
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: gone, protocol: udp, endpoints: ["127.0.0.1:{dead}"]}}
listeners:
  - {{name: t, listen: "127.0.0.1:0", upstream: gone, codec: {{plugin: line}}}}
""") as d:
        s = d.client("t")
        s.sendall(b"anyone?\n")
        assert s.recv(100) == b""  # closed once the ICMP port unreachable comes back
        assert metric(d, "switchyard_udp_datagrams_dropped_total", listener="t", reason="upstream_refused") == 1


class LineCollector:
    """A TCP server that collects every byte its connections send (a stream upstream)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.data = b""
        self.connections = 0
        import threading
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        import threading
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._read, args=(c,), daemon=True).start()

    def _read(self, c):
        c.sendall(b"ignored reply\n")  # fire-and-forget: the proxy reads and discards this
        while True:
            b = c.recv(65536)
            if not b:
                return
            with self.lock:
                self.data += b

    def close(self):
        self.sock.close()


def bridge_config(stream_address, loops=1, reuse_port=False):
    return f"""
loops: {loops}
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: collector, protocol: tcp, endpoints: ["{stream_address}"]}}
listeners:
  - {{name: u, protocol: udp, listen: "127.0.0.1:0", upstream: collector, codec: {{plugin: line}}, reuse_port: {str(reuse_port).lower()}}}
"""


def test_udp_to_tcp_bridge_gathers_every_datagrams_lines_onto_one_pooled_connection():
    collector = LineCollector()
    with Daemon(bridge_config(collector.address)) as d:
        wait_until(lambda: "stream connection to upstream collector" in d.log(), what="the pooled connection")
        clients = [udp_client(d.addr("u")) for _ in range(5)]
        expected = b""
        for i, c in enumerate(clients):
            c.send(b"metric.%d:1|c\nother.%d:2|g" % (i, i))  # the last line needs no newline
            expected += b"metric.%d:1|c\nother.%d:2|g\n" % (i, i)
        wait_until(lambda: collector.data == expected, what="every line at the stream upstream")
        assert collector.connections == 1  # one connection per loop and upstream, not per client
        m = d.metrics()
        assert m.get("switchyard_listener_frames_received_total", listener="u") == 10
        assert m.get("switchyard_udp_sessions_total", listener="u") in (None, 0.0)  # fire-and-forget
        wait_until(lambda: metric(d, "switchyard_upstream_bytes_received_total", upstream="collector",
                                  endpoint=collector.address) == len(b"ignored reply\n"), what="reply read and discarded")
        for c in clients:
            c.close()
    collector.close()


def test_udp_to_tcp_bridge_drops_and_counts_while_the_stream_is_down_then_reconnects():
    port = free_port(  )
    with Daemon(bridge_config(f"127.0.0.1:{port}")) as d:
        c = udp_client(d.addr("u"))
        c.send(b"lost\n")
        wait_until(lambda: metric(d, "switchyard_udp_datagrams_dropped_total", listener="u", reason="stream_down") == 1,
                   what="stream_down drop")
        assert "retrying in" in d.log()
        # The upstream comes up: the back-off retry finds it and later datagrams get through.
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(1)
        srv.settimeout(15 * SLOW)
        conn, _ = srv.accept()
        wait_until(lambda: "is up" in d.log(), what="the connection up")
        c.send(b"kept\n")
        conn.settimeout(5 * SLOW)
        assert conn.recv(100) == b"kept\n"
        conn.close()
        srv.close()
        c.close()


def test_udp_to_unix_stream_bridge_with_a_length_field_upstream_codec(tmp_path):
    # Lines in datagrams, written to a unix-socket stream upstream as 2-byte length fields.
    path = str(tmp_path / "collector.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(10 * SLOW)
    with Daemon(f"""
loops: 1
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: collector, protocol: tcp, endpoints: ["unix:{path}"], codec: {{plugin: length-field, length_field_length: 2}}}}
listeners:
  - {{name: u, protocol: udp, listen: "[::1]:0", upstream: collector, codec: {{plugin: line}}}}
""") as d:
        conn, _ = srv.accept()
        conn.settimeout(5 * SLOW)
        wait_until(lambda: "is up" in d.log(), what="the pooled connection")
        c = udp_client(d.addr("u"))
        c.send(b"ab\nc")
        got = b""
        while len(got) < 7:
            got += conn.recv(100)
        assert got == b"\x00\x02ab\x00\x01c"
        conn.close()
        c.close()
    srv.close()


def test_idle_udp_listeners_leave_the_loops_asleep():
    # An emptied socket must end the read, not defer another look every turn (a spinning loop).
    backend = UdpEchoBackend()
    with Daemon(proxy_config(backend.address, reuse_port=True) +
                "  - {name: e, protocol: udp, listen: \"127.0.0.1:0\", handler: echo}\n") as d:
        c = udp_client(d.addr("u"))
        c.send(b"wake")
        assert c.recv(100) == b"wake"

        def busy():
            return sum(v for v in d.metrics().series("switchyard_loop_busy_seconds_total").values())

        before = busy()
        time.sleep(1.0)  # the measurement window itself
        assert busy() - before < 0.1, "loops busy while every socket is empty"
        c.close()
    backend.close()


def wait_port_freed(d, address):
    """A removed udp listener closes its socket once its sessions ended: the port binds again."""
    wait_until(lambda: "removed udp listener(s) closed" in d.log(), timeout=10 * SLOW,
               what="the removed udp listener to close")
    host, port = address.rsplit(":", 1)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind((host, int(port)))
    probe.close()


@pytest.mark.parametrize("reuse_port", [True, False], ids=["reuse_port", "one_socket"])
def test_a_reload_moves_udp_listeners_to_the_new_configuration(reuse_port):
    # As stream listeners: a kept udp listener keeps its sockets; sessions open before the
    # reload finish on the configuration they started with, new ones follow the new one; a
    # removed listener takes no new session and closes its socket once its sessions ended; an
    # added one serves.
    old_backend, new_backend = UdpEchoBackend(prefix=b"old:"), UdpEchoBackend(prefix=b"new:")

    def config(endpoint, second):
        return f"""
loops: 2
tick: 20ms
shutdown_timeout: 10s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: back, endpoints: ["{endpoint}"]}}
listeners:
  - {{name: u, protocol: udp, listen: "127.0.0.1:0", upstream: back, reuse_port: {str(reuse_port).lower()}, max_sessions: 3}}
{second}"""

    def unanswered(address, payload):
        c = udp_client(address)
        c.send(payload)
        c.settimeout(0.5)
        with pytest.raises(socket.timeout):
            c.recv(100)
        c.close()

    gone = '  - {name: gone, protocol: udp, listen: "127.0.0.1:0", upstream: back, idle_timeout: 1s}\n'
    added = '  - {name: added, protocol: udp, listen: "127.0.0.1:0", upstream: back}\n'
    with Daemon(config(old_backend.address, gone)) as d:
        u_addr, gone_addr = d.addr("u"), d.addr("gone")
        early = udp_client(u_addr)
        early.send(b"1")
        assert early.recv(100) == b"old:1"
        lingering = udp_client(gone_addr)
        lingering.send(b"g")
        assert lingering.recv(100) == b"old:g"

        text = d.reload(config(new_backend.address, added))
        assert "1 removed" in text and "1 added" in text, text
        assert "reload: listener gone removed: no new connections; open ones drain for up to 10000 ms" in text
        assert d.addr("u") == u_addr  # the same sockets
        # The session opened before the reload stays with the endpoint it started with.
        early.send(b"2")
        assert early.recv(100) == b"old:2"
        # A new client follows the new configuration.
        late = udp_client(u_addr)
        late.send(b"3")
        assert late.recv(100) == b"new:3"
        added_client = udp_client(d.addr("added"))
        added_client.send(b"4")
        assert added_client.recv(100) == b"new:4"
        # max_sessions counts the sessions of both configurations: 2 open, 1 more fits, not 2.
        third = udp_client(u_addr)
        third.send(b"5")
        assert third.recv(100) == b"new:5"
        unanswered(u_addr, b"6")
        assert metric(d, "switchyard_udp_datagrams_dropped_total", listener="u", reason="max_sessions") == 1

        # The removed listener: its open session is still answered; a new client is not.
        lingering.send(b"h")
        assert lingering.recv(100) == b"old:h"
        unanswered(gone_addr, b"x")
        # Once its session idled out (1 s), its socket closes: the port is free again.
        wait_port_freed(d, gone_addr)
        for c in (early, lingering, late, added_client, third):
            c.close()
    old_backend.close()
    new_backend.close()


def test_a_reload_frees_the_old_udp_configuration_when_its_last_session_ends():
    backend = UdpEchoBackend()
    base = proxy_config(backend.address, extra=", idle_timeout: 1s")
    with Daemon(base) as d:
        c = udp_client(d.addr("u"))
        c.send(b"a")
        assert c.recv(100) == b"a"
        d.reload(base.replace("idle_timeout: 1s", "idle_timeout: 2s"))
        assert metric(d, "switchyard_config_generations_draining") == 1
        # The session opened before the reload idles out after 1 s (its own configuration's
        # idle_timeout); then the old configuration is freed.
        wait_until(lambda: metric(d, "switchyard_config_generations_draining") == 0, timeout=10 * SLOW,
                   what="the old configuration to be freed")
        c.send(b"b")  # a new session, on the new configuration
        assert c.recv(100) == b"b"
        c.close()
    backend.close()

def test_a_reload_moves_a_udp_to_tcp_bridge_onto_the_new_upstream():
    # The pooled stream connection of the old configuration goes once it has written what it
    # took; datagrams after the reload are written onto the new upstream's connection.
    first, second = LineCollector(), LineCollector()
    with Daemon(bridge_config(first.address)) as d:
        wait_until(lambda: d.log().count("is up") == 1, what="the pooled connection to the first upstream")
        c = udp_client(d.addr("u"))
        c.send(b"one\n")
        wait_until(lambda: first.data == b"one\n", what="the first line at the first upstream")
        d.reload(bridge_config(second.address))
        wait_until(lambda: d.log().count("is up") == 2, what="the pooled connection to the new upstream")
        assert second.connections == 1
        c.send(b"two\n")
        wait_until(lambda: second.data == b"two\n", what="the second line at the new upstream")
        assert first.data == b"one\n"
        wait_until(lambda: metric(d, "switchyard_config_generations_draining") == 0,
                   what="the old configuration (and its connection) freed")
        c.close()
    first.close()
    second.close()


def held_udp_port():
    """A UDP port another server holds, bound with SO_REUSEADDR as dnsmasq binds its own."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    return holder, holder.getsockname()[1]


def test_a_udp_listener_never_shares_a_port_another_server_holds(tmp_path):
    holder, port = held_udp_port()
    path = tmp_path / "taken.yaml"
    path.write_text(f'listeners:\n  - {{name: taken, protocol: udp, listen: "127.0.0.1:{port}", handler: echo}}\n')
    r = subprocess.run([BIN, "--config", str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert f"listener taken: bind 127.0.0.1:{port}: Address already in use" in r.stderr
    # Added by a reload: the whole reload is refused, and the port stays the other server's.
    base = 'listeners:\n  - {name: e, protocol: udp, listen: "127.0.0.1:0", handler: echo}\n'
    with Daemon(base) as d:
        text = d.reload(base + f'  - {{name: taken, protocol: udp, listen: "127.0.0.1:{port}", handler: echo}}\n',
                        expect="refused")
        assert "Address already in use" in text
    holder.close()


def test_a_removed_reuse_port_listener_named_again_serves_every_new_client():
    # Removed while a session is open, its sockets stay for that session's replies; named again
    # by a later reload it serves again on them, rather than a new reuse_port group member
    # beside it that would get only part of the new clients.
    backend = UdpEchoBackend()
    with_u = proxy_config(backend.address, reuse_port=True, shutdown_timeout="5s") + \
        '  - {name: other, protocol: udp, listen: "127.0.0.1:0", handler: echo}\n'
    without_u = with_u.replace(with_u[with_u.index("  - {name: u,"):with_u.index("  - {name: other")], "")
    with Daemon(with_u) as d:
        u_addr = d.addr("u")
        early = udp_client(u_addr)
        early.send(b"early")
        assert early.recv(100) == b"early"
        d.reload(without_u)
        newcomer = udp_client(u_addr)
        newcomer.send(b"x")
        newcomer.settimeout(0.5)
        with pytest.raises(socket.timeout):
            newcomer.recv(100)
        wait_until(lambda: metric(d, "switchyard_udp_datagrams_dropped_total", listener="u", reason="draining") == 1,
                   what="the new client's datagram counted as dropped while draining")
        newcomer.close()
        text = d.reload(with_u)
        assert "1 added" in text
        clients = [udp_client(u_addr) for _ in range(40)]
        for i, c in enumerate(clients):
            c.send(b"n%d" % i)
        for i, c in enumerate(clients):
            assert c.recv(100) == b"n%d" % i
            c.close()
        early.send(b"still")
        assert early.recv(100) == b"still"
        early.close()
    backend.close()


def test_shutdown_timeout_closes_what_a_removed_listener_opened_before_an_earlier_reload():
    backend = UdpEchoBackend()
    base = proxy_config(backend.address, shutdown_timeout="2s") + \
        '  - {name: t, listen: "127.0.0.1:0", handler: echo}\n' + \
        '  - {name: other, protocol: udp, listen: "127.0.0.1:0", handler: echo}\n'
    with Daemon(base) as d:
        u_addr = d.addr("u")
        c = udp_client(u_addr)
        c.send(b"a")
        assert c.recv(100) == b"a"
        s = connect(d.addr("t"))
        s.sendall(b"t")
        assert recv_exact(s, 1) == b"t"
        # A reload that keeps both listeners, then one that removes them: the session and the
        # connection belong to the configuration before the first.
        d.reload(base.replace("balancer: round-robin", "balancer: round-robin, idle_timeout: 61s"))
        kept_only = base[:base.index("  - {name: u,")] + '  - {name: other, protocol: udp, listen: "127.0.0.1:0", handler: echo}\n'
        d.reload(kept_only)
        # shutdown_timeout (2 s) later both are closed, and the udp port is free.
        s.settimeout(10 * SLOW)
        assert s.recv(10) == b""
        wait_port_freed(d, u_addr)
        wait_until(lambda: metric(d, "switchyard_config_generations_draining") == 0, timeout=10 * SLOW,
                   what="the replaced configurations freed")
        s.close()
        c.close()
    backend.close()
