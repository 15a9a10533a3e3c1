"""The PROXY protocol: accepted from a balancer in front (proxy_protocol: accept), sent to
upstreams (send_proxy), against hand-made headers and against real HAProxy on both sides.

What a client sees, what /metrics counts, what the log names and, with HAProxy behind, what the
backend itself reports as the client's address."""
import re
import socket
import struct
import time

import pytest

from harness import (Daemon, EchoBackend, HAProxy, SLOW, closed_by_peer, connect, free_port, recv_all,
                     recv_exact, wait_until)


def rejected(d, reason, listener="p"):
    return d.metric("switchyard_listener_connections_rejected_total", listener=listener, reason=reason)


V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v2_header(src, src_port, dst="127.0.0.1", dst_port=80, command=0x21):
    block = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", src_port, dst_port)
    return V2_SIGNATURE + bytes([command, 0x11]) + struct.pack("!H", len(block)) + block


def v1_header(src, src_port, dst="127.0.0.1", dst_port=80):
    return f"PROXY TCP4 {src} {dst} {src_port} {dst_port}\r\n".encode()


PP_ECHO = """
metrics: {listen: 127.0.0.1:0}
listeners:
  - name: p
    listen: 127.0.0.1:0
    handler: echo
    proxy_protocol: accept
    proxy_protocol_timeout: 300ms
    idle_timeout: 300ms
    access: [{deny: 192.0.2.0/24}]
"""


@pytest.mark.parametrize("header", [v1_header, v2_header])
def test_the_client_a_header_names_is_the_client(header):
    with Daemon(PP_ECHO) as d:
        # Header and data in one segment: the data after the header is relayed, the header not.
        c = d.client("p")
        c.sendall(header("198.51.100.7", 41000) + b"hello")
        assert recv_exact(c, 5) == b"hello"
        # The log names the real client: the idle close of this connection says who it was.
        line = wait_until(lambda: next((l for l in d.log().splitlines() if "no traffic for" in l), None),
                          what="the idle close line")
        assert "listener p: client 198.51.100.7:41000: no traffic" in line
        # Access rules see the header's client, not the balancer's address (127.0.0.1).
        denied = d.client("p")
        denied.sendall(header("192.0.2.9", 5555) + b"hello")
        assert closed_by_peer(denied)
        assert rejected(d, "denied") == 1
        assert re.search(r"listener p: client 192\.0\.2\.9:5555 \(via 127\.0\.0\.1:\d+\): denied by access rule 1",
                         d.log())


def test_a_header_arriving_in_pieces_and_data_sent_later():
    with Daemon(PP_ECHO) as d:
        c = d.client("p")
        whole = v2_header("198.51.100.8", 1234)
        for i in range(0, len(whole), 5):
            c.sendall(whole[i:i + 5])
            time.sleep(0.01)  # separate segments on purpose: the header must be reassembled
        c.sendall(b"after")
        assert recv_exact(c, 5) == b"after"
        assert rejected(d, "proxy_protocol_invalid") == 0


def test_health_checks_without_a_client_address_keep_the_connection_own():
    with Daemon(PP_ECHO) as d:
        for header in (b"PROXY UNKNOWN\r\n", V2_SIGNATURE + b"\x20\x00\x00\x00"):  # v1 UNKNOWN, v2 LOCAL
            c = d.client("p")
            c.sendall(header + b"ok")
            assert recv_exact(c, 2) == b"ok"
        # A balancer's plain TCP check connects and leaves without a byte: not an error.
        connect(d.addr("p")).close()
        # Both served connections close idle, named by their own address (127.0.0.1).
        lines = wait_until(lambda: [l for l in d.log().splitlines() if "no traffic for" in l] or None,
                           what="the idle closes")
        wait_until(lambda: len([l for l in d.log().splitlines() if "no traffic for" in l]) == 2, what="both idle")
        for line in lines:
            assert re.search(r"listener p: client 127\.0\.0\.1:\d+: no traffic", line), line
        assert d.metrics().sum("switchyard_listener_connections_rejected_total", listener="p") == 0
        assert d.metric("switchyard_listener_connections_total", listener="p") == 2


def test_malformed_truncated_late_and_untrusted_headers_close_the_connection_counted():
    with Daemon("""
metrics: {listen: 127.0.0.1:0}
listeners:
  - name: p
    listen: 127.0.0.1:0
    handler: echo
    proxy_protocol: accept
    proxy_protocol_timeout: 300ms
    trusted_sources: [127.0.0.1]
""") as d:
        # A client speaking its protocol straight away is refused at its first byte.
        start = time.monotonic()
        http = d.client("p")
        http.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert closed_by_peer(http)
        assert time.monotonic() - start < 0.25 * SLOW  # well before the timeout
        # Leading zeros are not allowed (octal confusion), nor a lone LF.
        for bad in (b"PROXY TCP4 192.0.2.01 127.0.0.1 1 2\r\n", b"PROXY TCP4 192.0.2.1 127.0.0.1 1 2\n"):
            c = d.client("p")
            c.sendall(bad)
            assert closed_by_peer(c)
        # A header cut short by the client's FIN.
        cut = d.client("p")
        cut.sendall(b"PROXY TCP4 192.0.2.1 ")
        cut.shutdown(socket.SHUT_WR)
        assert closed_by_peer(cut)
        assert rejected(d, "proxy_protocol_invalid") == 4
        # Half a header, then nothing: closed at proxy_protocol_timeout.
        slow = d.client("p")
        slow.sendall(V2_SIGNATURE[:6])
        assert closed_by_peer(slow)
        assert rejected(d, "proxy_protocol_timeout") == 1
        # Not from a trusted source: closed before anything is read.
        untrusted = d.client("p", source_ip="127.0.0.9")
        assert closed_by_peer(untrusted)
        assert rejected(d, "proxy_protocol_untrusted") == 1
        log = d.log()
        assert re.search(r"listener p: client 127\.0\.0\.1:\d+: invalid PROXY protocol header: the connection does "
                         r"not start with a PROXY protocol header; closing", log), log
        assert "invalid PROXY protocol header: a v1 TCP4 header's address is not a dotted IPv4 address" in log
        assert "the connection ended inside its PROXY protocol header (21 byte(s))" in log
        assert "no complete PROXY protocol header within 300 ms (proxy_protocol_timeout)" in log
        assert re.search(r"client 127\.0\.0\.9:\d+: rejected, not in trusted_sources", log)
        # Nothing was served, and the daemon carries on.
        assert d.metric("switchyard_listener_connections_total", listener="p") == 0
        good = d.client("p")
        good.sendall(v1_header("198.51.100.1", 1) + b"fine")
        assert recv_exact(good, 4) == b"fine"


def test_per_ip_limit_and_source_addr_hash_use_the_real_client():
    backends = [EchoBackend(), EchoBackend()]
    try:
        with Daemon(f"""
loops: 2
tick: 50ms
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - name: b
    balancer: source-addr-hash
    endpoints: ["{backends[0].address}", "{backends[1].address}"]
listeners:
  - name: p
    listen: 127.0.0.1:0
    upstream: b
    balancer: source-addr-hash
    proxy_protocol: accept
    max_connections_per_ip: 1
  - {{name: q, listen: 127.0.0.1:0, handler: echo, balancer: source-addr-hash, proxy_protocol: accept}}
""") as d:
            # Every connection comes from 127.0.0.1; the headers name different clients.
            first = d.client("p")
            first.sendall(v2_header("198.51.100.1", 1000) + b"a")
            assert recv_exact(first, 1) == b"a"
            second_same_client = d.client("p")
            second_same_client.sendall(v2_header("198.51.100.1", 1001) + b"b")
            assert closed_by_peer(second_same_client)
            assert rejected(d, "max_connections_per_ip") == 1
            first.close()
            wait_until(lambda: d.metric("switchyard_listener_connections_active", listener="p") == 0,
                       what="first closed")

            # The upstream balancer hashes the header's client: one client, one backend; many
            # clients, both backends (all of them would land on one if it hashed 127.0.0.1).
            def backend_for(ip):
                before = [b.connections for b in backends]
                c = connect(d.addr("p"))
                c.sendall(v1_header(ip, 2000) + b"x")
                assert recv_exact(c, 1) == b"x"
                c.close()
                wait_until(lambda: d.metric("switchyard_listener_connections_active", listener="p") == 0,
                           what="closed")
                return [i for i in range(2) if backends[i].connections != before[i]][0]
            assert len({backend_for("198.51.100.9") for _ in range(4)}) == 1
            assert {backend_for(f"198.51.100.{i}") for i in range(10, 40)} == {0, 1}

            # The loop balancer too (listener q): the connections of one client share a loop, and
            # many clients spread over both, although they all come from 127.0.0.1.
            def loops_hosting():
                series = d.metrics().series("switchyard_loop_connections_active")
                return sorted(int(v) for v in series.values())
            one_client = []
            for i in range(4):
                c = d.client("q")
                c.sendall(v1_header("203.0.113.1", 3000 + i) + b"h")
                assert recv_exact(c, 1) == b"h"
                one_client.append(c)
            wait_until(lambda: loops_hosting() == [0, 4], what="one client's connections on one loop")
            for c in one_client:
                c.close()
            wait_until(lambda: loops_hosting() == [0, 0], what="closed")
            many = []
            for i in range(20):
                c = d.client("q")
                c.sendall(v1_header(f"203.0.113.{i + 10}", 4000) + b"m")
                assert recv_exact(c, 1) == b"m"
                many.append(c)
            wait_until(lambda: sum(loops_hosting()) == 20, what="20 connections hosted")
            assert min(loops_hosting()) > 0
    finally:
        for b in backends:
            b.close()


HTTP_SRC_BACKEND = """
frontend echo_src
  mode http
  bind 127.0.0.1:{port} accept-proxy
  http-request return status 200 content-type text/plain lf-string "client=%[src]:%[src_port] dst=%[dst]:%[dst_port]"
"""


def http_get(sock):
    sock.sendall(b"GET / HTTP/1.0\r\nHost: backend\r\n\r\n")
    response = recv_all(sock).decode()
    assert response.startswith("HTTP/1.0 200") or response.startswith("HTTP/1.1 200"), response
    return response.split("\r\n\r\n", 1)[1]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_send_proxy_to_haproxy_with_accept_proxy_shows_it_the_client(version):
    port = free_port()
    with HAProxy(HTTP_SRC_BACKEND.format(port=port), ports=[port]):
        with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: h, endpoints: ["127.0.0.1:{port}"], send_proxy: {version}}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: h}}
""") as d:
            c = d.client("p", source_ip="127.0.0.5")
            body = http_get(c)
            listen_port = int(d.addr("p").rsplit(":", 1)[1])
            # HAProxy saw the client (127.0.0.5, its own port) connecting to switchyard's listener,
            # not switchyard's own upstream connection from 127.0.0.1.
            assert body == f"client=127.0.0.5:{c.getsockname()[1]} dst=127.0.0.1:{listen_port}", body
            # The header is counted in the bytes sent to the endpoint.
            sent = d.metric("switchyard_upstream_bytes_sent_total", upstream="h", endpoint=f"127.0.0.1:{port}")
            received = d.metric("switchyard_listener_bytes_received_total", listener="p")
            assert sent > received


@pytest.mark.parametrize("haproxy_sends", ["send-proxy", "send-proxy-v2"])
def test_haproxy_in_front_names_the_client_and_switchyard_passes_it_on(haproxy_sends):
    """client --> HAProxy (tcp, send-proxy[-v2]) --> switchyard (accept, send_proxy v2) --> HAProxy
    (http, accept-proxy, answers with the client it sees). Access rules deny one client by its
    own address although every connection reaches switchyard from HAProxy."""
    backend_port, front_port = free_port(), free_port()
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: h, endpoints: ["127.0.0.1:{backend_port}"], send_proxy: v2}}
listeners:
  - name: p
    listen: 127.0.0.1:0
    upstream: h
    proxy_protocol: accept
    trusted_sources: 127.0.0.1
    access: [{{deny: 127.0.0.7}}]
""") as d:
        sy_port = int(d.addr("p").rsplit(":", 1)[1])
        sections = HTTP_SRC_BACKEND.format(port=backend_port) + f"""
frontend front
  mode tcp
  bind 127.0.0.1:{front_port}
  default_backend to_switchyard
backend to_switchyard
  mode tcp
  server sy 127.0.0.1:{sy_port} {haproxy_sends}
"""
        # (Its readiness probe of the front port reaches switchyard as a header then a close.)
        with HAProxy(sections, ports=[backend_port, front_port]):
            c = connect(f"127.0.0.1:{front_port}", source_ip="127.0.0.6")
            body = http_get(c)
            # The backend behind switchyard sees the client that connected to HAProxy, and the
            # address that client connected to (HAProxy's front), carried through both hops.
            assert body == f"client=127.0.0.6:{c.getsockname()[1]} dst=127.0.0.1:{front_port}", body
            c.close()

            denied = connect(f"127.0.0.1:{front_port}", source_ip="127.0.0.7")
            denied.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert recv_all_or_reset(denied) == b""
            assert rejected(d, "denied") == 1
            assert re.search(r"listener p: client 127\.0\.0\.7:\d+ \(via 127\.0\.0\.1:\d+\): denied by access rule 1 "
                             r"\(deny 127\.0\.0\.7/32\)", d.log())
            assert rejected(d, "proxy_protocol_invalid") == 0


def recv_all_or_reset(sock):
    try:
        return recv_all(sock)
    except ConnectionResetError:
        return b""
