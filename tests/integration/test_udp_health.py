"""Upstream health for UDP endpoints: active checks that send a datagram (ICMP port unreachable,
a reply, the expected bytes), passive ejection by refusals and recovery by replies, for udp
listeners and for stream clients bridged to UDP upstreams, when_all_down, and reloads that leave
a udp listener on the configuration it started with."""
from harness import Daemon, UdpEchoBackend, free_udp_port, recv_exact, udp_client, wait_until


def metric(d, name, **labels):
    return d.metrics().get(name, 0.0, **labels)


def config(upstream, listener="{name: u, protocol: udp, listen: \"127.0.0.1:0\", upstream: %s}"):
    """One loop (one round-robin order), one upstream (a YAML flow mapping) and one listener: by
    default udp listener `u` in front of it; a listener with %s takes the upstream's name."""
    name = upstream.split("name: ", 1)[1].split(",", 1)[0]
    return f"""
loops: 1
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {upstream}
listeners:
  - {listener % name if "%s" in listener else listener}
"""


BRIDGE = "{name: t, listen: \"127.0.0.1:0\", upstream: %s, codec: {plugin: line}}"


def exchange(d, listener, payload, timeout=5.0):
    """One new client (a new session): sends `payload`, returns the reply."""
    c = udp_client(d.addr(listener), timeout=timeout)
    try:
        c.send(payload)
        return c.recv(65535)
    finally:
        c.close()


def refused(d, listener, count):
    """A new client's datagram draws ICMP port unreachable: waits until it is the count-th."""
    c = udp_client(d.addr(listener))
    c.send(b"anyone?")
    wait_until(lambda: metric(d, "switchyard_udp_datagrams_dropped_total", listener=listener,
                              reason="upstream_refused") == count, what=f"refusal {count}")
    c.close()


def test_when_all_down_reject_drops_a_udp_clients_datagram_without_a_session():
    dead = f"127.0.0.1:{free_udp_port()}"
    with Daemon(config(f'{{name: gone, when_all_down: reject, max_fails: 1, fail_timeout: 1m, endpoints: ["{dead}"]}}')) as d:
        refused(d, "u", 1)  # max_fails 1 ejects the only endpoint
        assert metric(d, "switchyard_upstream_ejections_total", upstream="gone", endpoint=dead, cause="max_fails") == 1
        c = udp_client(d.addr("u"))  # a new client address: a new session would be opened
        c.send(b"and now?")
        wait_until(lambda: metric(d, "switchyard_listener_connections_rejected_total", listener="u",
                                  reason="no_healthy_endpoint") == 1, what="the datagram rejected")
        m = d.metrics()
        assert m.get("switchyard_upstream_all_down_total", upstream="gone", when_all_down="reject") == 1
        assert m.get("switchyard_upstream_connect_attempts_total", upstream="gone", endpoint=dead) == 1
        assert m.get("switchyard_udp_sessions_total", listener="u") == 2  # the second opened none
        assert "no healthy endpoint in upstream gone (when_all_down: reject)" in d.log()
        c.close()


def test_when_all_down_reject_closes_a_stream_client_bridged_to_udp():
    dead = f"127.0.0.1:{free_udp_port()}"
    with Daemon(config(f'{{name: gone, protocol: udp, when_all_down: reject, max_fails: 1, fail_timeout: 1m, '
                       f'endpoints: ["{dead}"]}}', BRIDGE)) as d:
        s = d.client("t")
        s.sendall(b"anyone?\n")
        assert s.recv(100) == b""  # refused: closed, and the endpoint ejected
        assert metric(d, "switchyard_upstream_ejections_total", upstream="gone", endpoint=dead, cause="max_fails") == 1
        s = d.client("t")
        assert s.recv(100) == b""  # nothing healthy: closed at once
        wait_until(lambda: metric(d, "switchyard_listener_connections_rejected_total", listener="t",
                                  reason="no_healthy_endpoint") == 1, what="the connection rejected")
        assert metric(d, "switchyard_upstream_all_down_total", upstream="gone", when_all_down="reject") == 1


def test_when_all_down_reject_keeps_a_udp_to_stream_bridge_down_and_retrying():
    dead = f"127.0.0.1:{free_udp_port()}"
    with Daemon(config(f'{{name: gone, protocol: tcp, when_all_down: reject, max_fails: 1, fail_timeout: 1m, '
                       f'endpoints: ["{dead}"]}}',
                       "{name: u, protocol: udp, listen: \"127.0.0.1:0\", upstream: %s, codec: {plugin: line}}")) as d:
        # The pooled stream connection's first connect is refused and ejects the endpoint; its
        # retries then find nothing healthy, and back off.
        wait_until(lambda: metric(d, "switchyard_upstream_all_down_total", upstream="gone",
                                  when_all_down="reject") >= 2, what="retries finding no healthy endpoint")
        c = udp_client(d.addr("u"))
        c.send(b"dropped\n")
        wait_until(lambda: metric(d, "switchyard_udp_datagrams_dropped_total", listener="u",
                                  reason="stream_down") == 1, what="the datagram dropped")
        assert metric(d, "switchyard_upstream_connect_attempts_total", upstream="gone", endpoint=dead) == 1
        assert d.proc.poll() is None
        c.close()


def test_a_refusal_ejects_a_udp_endpoint_by_max_fails_and_new_sessions_go_to_the_live_one():
    dead = f"127.0.0.1:{free_udp_port()}"
    live = UdpEchoBackend()
    with Daemon(config(f'{{name: dns, max_fails: 1, fail_timeout: 1m, endpoints: ["{dead}", "{live.address}"]}}')) as d:
        # Round-robin gives the first session the dead endpoint: its datagram draws ICMP port
        # unreachable, which ends the session and ejects the endpoint.
        refused(d, "u", 1)
        assert metric(d, "switchyard_upstream_ejections_total", upstream="dns", endpoint=dead, cause="max_fails") == 1
        for i in range(1, 9):
            assert exchange(d, "u", b"q%d" % i) == b"q%d" % i
        m = d.metrics()
        assert m.get("switchyard_upstream_connect_attempts_total", upstream="dns", endpoint=dead) == 1
        assert m.get("switchyard_upstream_datagrams_sent_total", upstream="dns", endpoint=live.address) == 8
        assert m.get("switchyard_upstream_endpoint_healthy", upstream="dns", endpoint=dead) == 0
        assert m.get("switchyard_upstream_endpoint_healthy", upstream="dns", endpoint=live.address) == 1
        assert f"endpoint {dead} ejected for 60000 ms after 1 consecutive refusal(s) (ICMP port unreachable)" in d.log()
    live.close()


def test_a_reply_ends_the_count_of_refusals():
    # max_fails 2: refused, answered, refused is never two in a row, so never an ejection.
    port = free_udp_port()
    endpoint = f"127.0.0.1:{port}"
    with Daemon(config(f'{{name: flaky, max_fails: 2, fail_timeout: 1m, endpoints: ["{endpoint}"]}}')) as d:
        refused(d, "u", 1)
        up = UdpEchoBackend(port=port)
        assert exchange(d, "u", b"hello") == b"hello"
        up.close()
        refused(d, "u", 2)
        m = d.metrics()
        assert m.get("switchyard_upstream_ejections_total", upstream="flaky", endpoint=endpoint, cause="max_fails") == 0
        assert m.get("switchyard_upstream_endpoint_healthy", upstream="flaky", endpoint=endpoint) == 1
        # Without a reply in between, two refusals in a row eject it.
        refused(d, "u", 3)
        assert metric(d, "switchyard_upstream_ejections_total", upstream="flaky", endpoint=endpoint,
                      cause="max_fails") == 1


def test_a_reply_after_the_ejection_puts_a_udp_endpoint_back():
    port = free_udp_port()
    endpoint = f"127.0.0.1:{port}"
    with Daemon(config(f'{{name: back, max_fails: 1, fail_timeout: 200ms, endpoints: ["{endpoint}"]}}')) as d:
        refused(d, "u", 1)
        assert metric(d, "switchyard_upstream_endpoint_healthy", upstream="back", endpoint=endpoint) == 0
        up = UdpEchoBackend(port=port)
        # After fail_timeout one session may try it again; its reply ends the ejection.
        wait_until(lambda: metric(d, "switchyard_upstream_endpoint_healthy", upstream="back", endpoint=endpoint) == 1,
                   what="fail_timeout over")
        assert exchange(d, "u", b"back?") == b"back?"
        wait_until(lambda: f"endpoint {endpoint} back in rotation: a reply came back after its ejection" in d.log(),
                   what="the return logged")
        up.close()


def test_a_refusal_ejects_the_endpoint_for_stream_clients_bridged_to_udp():
    dead = f"127.0.0.1:{free_udp_port()}"
    live = UdpEchoBackend()
    with Daemon(config(f'{{name: dns, protocol: udp, max_fails: 1, fail_timeout: 1m, '
                       f'endpoints: ["{dead}", "{live.address}"]}}', BRIDGE)) as d:
        s = d.client("t")
        s.sendall(b"q0\n")
        assert s.recv(100) == b""  # refused: the connection ends, the endpoint is ejected
        m = d.metrics()
        assert m.get("switchyard_upstream_ejections_total", upstream="dns", endpoint=dead, cause="max_fails") == 1
        assert m.get("switchyard_upstream_connect_failures_total", upstream="dns", endpoint=dead, reason="refused") == 1
        for i in range(1, 5):
            s = d.client("t")
            s.sendall(b"q%d\n" % i)
            assert recv_exact(s, 3) == b"q%d\n" % i
            s.close()
        m = d.metrics()
        assert m.get("switchyard_upstream_datagrams_sent_total", upstream="dns", endpoint=dead) == 1
        assert m.get("switchyard_upstream_datagrams_sent_total", upstream="dns", endpoint=live.address) == 4
    live.close()
