"""Upstream health for UDP endpoints: active checks that send a datagram (ICMP port unreachable,
a reply, the expected bytes), passive ejection by refusals and recovery by replies, for udp
listeners and for stream clients bridged to UDP upstreams, and when_all_down."""
import struct
import subprocess
import time

from harness import (Daemon, Dnsmasq, UdpEchoBackend, free_udp_port, needs_dns, recv_exact, udp_client,
                     wait_until)


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
    sent = [time.monotonic()]
    c.send(b"anyone?")

    def counted():
        if metric(d, "switchyard_udp_datagrams_dropped_total", listener=listener, reason="upstream_refused") == count:
            return True
        # The kernel may send no ICMP for one datagram (its rate limits): the same session's next
        # datagram draws another. Sent far apart, so a slow answer is never counted twice.
        if time.monotonic() - sent[0] > 1.5:
            sent[0] = time.monotonic()
            c.send(b"anyone?")
        return False

    wait_until(counted, what=f"refusal {count}")
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
        assert m.get("switchyard_udp_sessions_total", listener="u") == 1  # the second opened none
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


FAST_CHECKS = "{interval: 100ms, timeout: 300ms, healthy_threshold: 2, unhealthy_threshold: 2%s}"


def healthy(d, upstream, endpoint):
    return d.metric("switchyard_upstream_endpoint_healthy", upstream=upstream, endpoint=endpoint)


def checks(d, upstream, endpoint, result):
    return d.metric("switchyard_upstream_health_checks_total", upstream=upstream, endpoint=endpoint, result=result)


def yaml_bytes(data):
    """A YAML double-quoted scalar holding these bytes (all below 0x80: YAML's \\x escapes
    above it are code points, written as UTF-8)."""
    assert all(b < 0x80 for b in data)
    return '"' + "".join("\\x%02x" % b for b in data) + '"'


# A DNS query for example.test A (ID 0x1234, recursion desired) and the bytes of the address
# dnsmasq answers it with (10.1.2.3), as the check's send and expect.
DNS_QUERY = (struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x07example\x04test\x00" +
             struct.pack("!HH", 1, 1))
DNS_ANSWER = bytes([10, 1, 2, 3])


def test_a_closed_udp_port_fails_its_checks_and_gets_no_sessions_until_it_answers_again():
    port = free_udp_port()
    dead = f"127.0.0.1:{port}"
    live = UdpEchoBackend()
    # max_fails: 0, so only the active checks decide.
    with Daemon(config(f'{{name: dns, max_fails: 0, endpoints: ["{dead}", "{live.address}"], '
                       f'health_check: {FAST_CHECKS % ""}}}')) as d:
        wait_until(lambda: healthy(d, "dns", dead) == 0, what="the closed port taken out")
        assert checks(d, "dns", dead, "connect_failed") >= 1
        # The live endpoint sends no ICMP port unreachable back (it echoes): it passes.
        wait_until(lambda: checks(d, "dns", live.address, "success") >= 2, what="the live endpoint's checks pass")
        m = d.metrics()
        assert m.get("switchyard_upstream_endpoint_healthy", upstream="dns", endpoint=live.address) == 1
        assert m.get("switchyard_upstream_ejections_total", upstream="dns", endpoint=dead, cause="health_check") == 1
        assert m.get("switchyard_upstream_health_checks_total", upstream="dns", endpoint=live.address,
                     result="connect_failed") == 0
        assert f"endpoint {dead} is down: 1 health check(s) in a row failed, the last with connect_failed: ICMP port " \
               "unreachable (Connection refused)" in d.log()
        assert set(live.datagrams) == {b"switchyard health check"}  # the default probe, nothing else yet
        for i in range(8):
            assert exchange(d, "u", b"q%d" % i) == b"q%d" % i
        m = d.metrics()
        assert m.get("switchyard_upstream_connect_attempts_total", upstream="dns", endpoint=dead) == 0
        assert m.get("switchyard_upstream_datagrams_sent_total", upstream="dns", endpoint=live.address) == 8
        assert m.get("switchyard_udp_datagrams_dropped_total", listener="u", reason="upstream_refused") == 0

        revived = UdpEchoBackend(port=port)  # back where it was: healthy_threshold passes bring it back
        wait_until(lambda: healthy(d, "dns", dead) == 1, what="the endpoint back")
        assert f"endpoint {dead} is up: 2 health check(s) in a row passed" in d.log()
        for i in range(8):
            assert exchange(d, "u", b"r%d" % i) == b"r%d" % i
        assert metric(d, "switchyard_upstream_datagrams_sent_total", upstream="dns", endpoint=dead) == 4
        revived.close()
    live.close()


@needs_dns
def test_a_dns_query_check_takes_out_endpoints_that_answer_wrong_or_not_at_all_for_udp_and_bridged_clients():
    dns = Dnsmasq()
    wrong = UdpEchoBackend(reply=b"not dns at all")
    silent = UdpEchoBackend(silent=True)
    check = FAST_CHECKS % f", send: {yaml_bytes(DNS_QUERY)}, expect: {yaml_bytes(DNS_ANSWER)}"
    # One UDP upstream for a udp listener and for a tcp listener bridged to it (DNS over TCP).
    with Daemon(f"""
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: dns, protocol: udp, endpoints: ["{wrong.address}", "{silent.address}", "{dns.address}"],
      health_check: {check}}}
listeners:
  - {{name: u, protocol: udp, listen: "127.0.0.1:0", upstream: dns, responses: 1}}
  - {{name: t, listen: "127.0.0.1:0", upstream: dns, codec: {{plugin: length-field, length_field_length: 2}}}}
""") as d:
        for ep, result in ((wrong.address, "bad_response"), (silent.address, "timeout"), (dns.address, "success")):
            wait_until(lambda: checks(d, "dns", ep, result) >= 1, what=f"a {result} check of {ep}")
        wait_until(lambda: healthy(d, "dns", wrong.address) == 0 and healthy(d, "dns", silent.address) == 0,
                   what="both taken out")
        assert healthy(d, "dns", dns.address) == 1
        assert wrong.datagrams[0] == DNS_QUERY  # `send`, as configured
        assert "the last with bad_response: a reply of 14 byte(s) without the expected bytes" in d.log()
        # Every client, over UDP and over TCP, is answered by dnsmasq: no session or connection
        # goes to an endpoint whose checks fail (a wrong answer would make dig fail).
        port_u = d.addr("u").rsplit(":", 1)[1]
        port_t = d.addr("t").rsplit(":", 1)[1]
        for transport, port in (("+notcp", port_u), ("+tcp", port_t)):
            for _ in range(3):
                r = subprocess.run(["dig", transport, "@127.0.0.1", "-p", port, "example.test", "A", "+short",
                                    "+time=2", "+tries=1"], capture_output=True, text=True, timeout=20)
                assert r.stdout.strip() == "10.1.2.3", r.stdout + r.stderr
        m = d.metrics()
        for ep in (wrong.address, silent.address):
            assert m.get("switchyard_upstream_datagrams_sent_total", upstream="dns", endpoint=ep) == 0
        assert m.get("switchyard_upstream_datagrams_sent_total", upstream="dns", endpoint=dns.address) == 6
    dns.close()
    wrong.close()
    silent.close()
