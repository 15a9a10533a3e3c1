"""Who a udp listener serves: access rules, rate_limit in new sessions and max_sessions_per_ip,
over real UDP sockets against the real daemon.

Clients pick their source address on loopback (all of 127.0.0.0/8 is local), so one test can be
several client addresses; each socket bound to a port of its own is a client address of its own
(a session each). Every refusal is checked from both ends: the client gets no reply, the
backend never hears of it, /metrics counts it under its reason in
switchyard_udp_datagrams_dropped_total, and the log names the client."""
import re
import selectors
import socket
import time

import pytest

from harness import SLOW, Daemon, UdpEchoBackend, nothing_waiting, udp_client, wait_until


def config(backend, listeners, loops=2):
    """`listeners`: one flow mapping's inside per udp listener in front of `backend`."""
    lines = "\n".join(f"  - {{protocol: udp, upstream: back, {l}}}" for l in listeners)
    # A short shutdown_timeout: sessions are still open when each test's daemon stops.
    return f"""
loops: {loops}
tick: 20ms
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: back, endpoints: ["{backend}"]}}
listeners:
{lines}
"""


def dropped(d, reason, listener="u"):
    return d.metric("switchyard_udp_datagrams_dropped_total", listener=listener, reason=reason)


def answered(c, payload):
    c.send(payload)
    return c.recv(1000) == b"re:" + payload


def replies_from(clients, n, timeout=10.0):
    """{index: reply} once n of the clients have a reply (or the timeout passed)."""
    sel = selectors.DefaultSelector()
    for i, c in enumerate(clients):
        sel.register(c, selectors.EVENT_READ, i)
    replies = {}
    deadline = time.monotonic() + timeout * SLOW
    while len(replies) < n and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            replies[key.data] = key.fileobj.recv(1000)
    sel.close()
    return replies


def new_clients(d, n, listener="u", source_ip=None):
    """n client addresses: sockets of their own port each, connected to the listener."""
    return [udp_client(d.addr(listener), source_ip=source_ip) for _ in range(n)]


@pytest.mark.parametrize("reuse_port", [False, True], ids=["one-socket", "reuse-port"])
def test_a_denied_client_address_opens_no_session_and_gets_no_reply(reuse_port):
    # reuse_port off: loop 0 reads and hands clients to the other loop, so a denied client is
    # turned away before the hand-over; on: each loop checks the datagrams it reads.
    backend = UdpEchoBackend(prefix=b"re:")
    rules = "access: [{deny: 127.0.0.3}, {allow: 127.0.0.0/24}, {deny: all}]"
    with Daemon(config(backend.address, [f"name: u, listen: 127.0.0.1:0, reuse_port: {str(reuse_port).lower()}, "
                                         + rules])) as d:
        allowed = udp_client(d.addr("u"), source_ip="127.0.0.2")
        assert answered(allowed, b"hello")
        first_rule = udp_client(d.addr("u"), source_ip="127.0.0.3")  # rule 2 would allow it
        last_rule = udp_client(d.addr("u"), source_ip="127.0.1.1")   # only the final deny matches
        for i in range(3):
            first_rule.send(b"denied %d" % i)
        last_rule.send(b"denied too")
        wait_until(lambda: dropped(d, "denied") == 4, what="four denied datagrams counted")
        # A denied client address has no session to come back to: each datagram is checked.
        assert nothing_waiting(first_rule) and nothing_waiting(last_rule)
        assert answered(allowed, b"still served")
        m = d.metrics()
        assert m.get("switchyard_udp_sessions_total", listener="u") == 1
        assert m.get("switchyard_udp_datagrams_received_total", listener="u") == 6
        assert backend.received == 2 and len(backend.peers) == 1  # the denied never reached it
        # Counted as datagrams dropped, not as connections rejected.
        assert m.get("switchyard_listener_connections_rejected_total", None, listener="u", reason="denied") is None
        log = d.log()
        assert re.search(r"warning .*listener u: client 127\.0\.0\.3:\d+: denied by access rule 1 "
                         r"\(deny 127\.0\.0\.3/32\); datagram dropped", log), log
        assert re.search(r"listener u: client 127\.0\.1\.1:\d+: denied by access rule 3 \(deny all\)", log), log
        assert "listener u: access 3 rule(s)" in log
        for c in (allowed, first_rule, last_rule):
            c.close()
    backend.close()


def test_ipv6_clients_are_matched_by_ipv6_rules():
    # One IPv6 address on loopback, so three listeners: ::1 is denied by a rule naming it,
    # allowed by one naming its network, and meets the final deny where only IPv4 is allowed.
    backend = UdpEchoBackend(prefix=b"re:")
    with Daemon(config(backend.address, [
            'name: deny6, listen: "[::1]:0", access: [{deny: "::1"}]',
            'name: allow6, listen: "[::1]:0", access: [{allow: "::1/128"}, {deny: all}]',
            'name: v4only, listen: "[::1]:0", access: [{allow: 127.0.0.0/8}, {deny: all}]'])) as d:
        denied = udp_client(d.addr("deny6"))
        denied.send(b"nope")
        outside = udp_client(d.addr("v4only"))
        outside.send(b"nope")
        allowed = udp_client(d.addr("allow6"))
        assert answered(allowed, b"v6")
        wait_until(lambda: dropped(d, "denied", "deny6") == 1 and dropped(d, "denied", "v4only") == 1,
                   what="both denials counted")
        assert nothing_waiting(denied) and nothing_waiting(outside)
        assert dropped(d, "denied", "allow6") == 0
        assert re.search(r"listener deny6: client \[::1\]:\d+: denied by access rule 1 \(deny ::1/128\)", d.log())
        assert backend.received == 1
        for c in (denied, outside, allowed):
            c.close()
    backend.close()


def test_handler_echo_applies_access_rules_to_every_datagram():
    with Daemon("""
loops: 2
metrics: {listen: 127.0.0.1:0}
listeners:
  - {name: e, protocol: udp, listen: 127.0.0.1:0, handler: echo, access: [{deny: 127.0.0.3}]}
""") as d:
        allowed = udp_client(d.addr("e"), source_ip="127.0.0.2")
        denied = udp_client(d.addr("e"), source_ip="127.0.0.3")
        for i in range(5):
            denied.send(b"x%d" % i)
        allowed.send(b"echo me")
        assert allowed.recv(100) == b"echo me"
        wait_until(lambda: dropped(d, "denied", "e") == 5, what="every denied datagram counted")
        assert nothing_waiting(denied)
        # Counted right after the sendmmsg that the client may have read from first.
        wait_until(lambda: d.metric("switchyard_udp_datagrams_sent_total", listener="e") == 1, what="one echo sent")
        assert d.metric("switchyard_udp_datagrams_received_total", listener="e") == 6
        allowed.close()
        denied.close()


@pytest.mark.parametrize("host,bracketed", [("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")], ids=["ipv4", "ipv6"])
def test_rate_limit_counts_new_sessions_not_datagrams(host, bracketed):
    backend = UdpEchoBackend(host, prefix=b"re:")
    # reuse_port: the sessions land on both loops, which share one bucket.
    with Daemon(config(backend.address, [f'name: u, listen: "{bracketed}:0", reuse_port: true, '
                                         'rate_limit: {sessions_per_second: 2, burst: 3}'])) as d:
        clients = new_clients(d, 6)
        # Six new client addresses at once: the burst of 3 opens sessions, the other 3 are
        # dropped (a token comes back only every 500 ms).
        for i, c in enumerate(clients):
            c.send(b"first %d" % i)
        wait_until(lambda: dropped(d, "rate_limit") == 3, what="three datagrams over the rate dropped")
        replies = replies_from(clients, 3)
        assert sorted(replies.values()) == [b"re:first %d" % i for i in sorted(replies)]
        assert backend.received == 3
        admitted = [c for i, c in enumerate(clients) if i in replies]
        refused = [c for i, c in enumerate(clients) if i not in replies]
        assert all(nothing_waiting(c) for c in refused)
        # Open sessions are past the check: a burst of their datagrams takes no token.
        for c in admitted:
            for i in range(10):
                c.send(b"more %d" % i)
            for i in range(10):
                assert c.recv(100) == b"re:more %d" % i
        assert dropped(d, "rate_limit") == 3
        # The bucket refills with time (what is limited is a rate: nothing to wait on but the
        # clock). A refused client address was not remembered: its next datagram is new.
        time.sleep(0.6)
        assert answered(refused[0], b"after refill")
        m = d.metrics()
        assert m.get("switchyard_udp_sessions_total", listener="u") == 4
        assert m.get("switchyard_udp_datagrams_dropped_total", listener="u", reason="rate_limit") == 3
        log = d.log()
        assert re.search(r"listener u: client \S+: rate_limit 2/s \(burst 3\) of new sessions exceeded; "
                         r"datagram dropped", log), log
        assert "listener u: rate_limit sessions 2/s burst 3" in log
        for c in clients:
            c.close()
    backend.close()


@pytest.mark.parametrize("reuse_port", [False, True], ids=["one-socket", "reuse-port"])
@pytest.mark.parametrize("host,bracketed", [("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")], ids=["ipv4", "ipv6"])
def test_max_sessions_per_ip_counts_a_client_address_across_loops_and_ports(host, bracketed, reuse_port):
    # Both loops own sessions: with reuse_port by the kernel's hash of each port, without it by
    # the round-robin loop balancer. The count of one client IP is shared by them.
    backend = UdpEchoBackend(host, prefix=b"re:")
    with Daemon(config(backend.address, [f'name: u, listen: "{bracketed}:0", reuse_port: {str(reuse_port).lower()}, '
                                         'max_sessions_per_ip: 2, idle_timeout: 1s'])) as d:
        first = new_clients(d, 3)
        assert answered(first[0], b"one")
        assert answered(first[1], b"two")
        first[2].send(b"three")  # the third port of the same IP
        wait_until(lambda: dropped(d, "max_sessions_per_ip") == 1, what="the third session refused")
        assert nothing_waiting(first[2])
        assert re.search(r"listener u: client \S+: max_sessions_per_ip 2 reached; datagram dropped", d.log())
        if host == "127.0.0.1":
            # Another client IP has a count of its own.
            other = udp_client(d.addr("u"), source_ip="127.0.0.2")
            assert answered(other, b"elsewhere")
            other.close()
        # Once the sessions idle out, their slots are free again.
        wait_until(lambda: d.metric("switchyard_udp_sessions_active", listener="u") == 0, what="sessions idled out")
        assert answered(first[2], b"three again")
        assert answered(first[0], b"one again")
        first[1].send(b"two again")
        wait_until(lambda: dropped(d, "max_sessions_per_ip") == 2, what="the limit holding again")
        assert nothing_waiting(first[1])
        for c in first:
            c.close()
    backend.close()


def test_a_session_gives_its_per_ip_slot_back_however_it_ends():
    backend = UdpEchoBackend(prefix=b"re:")
    dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()  # nothing listens there: the kernel answers ICMP port unreachable
    with Daemon(f"""
loops: 2
tick: 20ms
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: back, endpoints: ["{backend.address}"]}}
  - {{name: gone, endpoints: ["127.0.0.1:{dead_port}"]}}
listeners:
  - {{name: r, protocol: udp, listen: 127.0.0.1:0, upstream: back, responses: 1, max_sessions_per_ip: 1}}
  - {{name: x, protocol: udp, listen: 127.0.0.1:0, upstream: gone, max_sessions_per_ip: 1}}
""") as d:
        # responses: 1 ends each session with its reply.
        a, b = new_clients(d, 2, listener="r")
        assert answered(a, b"a")
        wait_until(lambda: d.metric("switchyard_udp_sessions_active", listener="r") == 0, what="a's session ended")
        assert answered(b, b"b")
        # An endpoint that refuses ends the session too.
        c, e = new_clients(d, 2, listener="x")
        c.send(b"anyone?")
        wait_until(lambda: dropped(d, "upstream_refused", "x") == 1, what="the refusal")
        wait_until(lambda: d.metric("switchyard_udp_sessions_active", listener="x") == 0, what="c's session ended")
        e.send(b"anyone?")
        wait_until(lambda: d.metric("switchyard_udp_sessions_total", listener="x") == 2, what="e's session opened")
        assert dropped(d, "max_sessions_per_ip", "r") == 0
        assert dropped(d, "max_sessions_per_ip", "x") == 0
        for s in (a, b, c, e):
            s.close()
    backend.close()


def test_drop_reasons_appear_where_the_keys_are_set():
    backend = UdpEchoBackend(prefix=b"re:")
    with Daemon(config(backend.address, [
            "name: plain, listen: 127.0.0.1:0",
            "name: limited, listen: 127.0.0.1:0, access: [{deny: 10.0.0.0/8}], "
            "rate_limit: {sessions_per_second: 100}, max_sessions_per_ip: 10"])) as d:
        m = d.metrics()
        for reason in ("denied", "rate_limit", "max_sessions_per_ip"):
            assert m.get("switchyard_udp_datagrams_dropped_total", listener="limited", reason=reason) == 0
            assert m.get("switchyard_udp_datagrams_dropped_total", None, listener="plain", reason=reason) is None
        assert m.get("switchyard_udp_datagrams_dropped_total", listener="plain", reason="max_sessions") == 0
        c = udp_client(d.addr("limited"))
        assert answered(c, b"allowed")
        c.close()
    backend.close()


def test_a_reload_changes_a_udp_listeners_rules_and_a_denied_flood_is_summarised():
    backend = UdpEchoBackend(prefix=b"re:")
    before = config(backend.address, ["name: u, listen: 127.0.0.1:0, access: [{deny: 127.0.0.3}]"])
    with Daemon(before) as d:
        denied = udp_client(d.addr("u"), source_ip="127.0.0.3")
        # A reload that keeps the rules gives the listener a new context: the flood below is
        # summarised from the one it runs with now.
        d.reload(before.replace("{deny: 127.0.0.3}]", "{deny: 127.0.0.3}], idle_timeout: 30s"))
        for i in range(40):
            denied.send(b"flood %d" % i)
        wait_until(lambda: dropped(d, "denied") == 40, what="40 denials counted")
        assert nothing_waiting(denied)
        # At most 10 lines a second; the rest are noted on later lines or summarised by the tick,
        # from the context the listener runs with (not the reload's).
        summary = wait_until(lambda: re.search(r"listener u: \.\.\.and (\d+) more datagrams dropped \(access rules\) "
                                               r"in the last second", d.log()), what="the flood's summary")
        lines = [l for l in d.log().splitlines() if "denied by access rule 1 (deny 127.0.0.3/32)" in l]
        noted = sum(int(m) for l in lines for m in re.findall(r"\((\d+) more datagrams dropped", l))
        assert len(lines) + noted + int(summary.group(1)) == 40
        assert len(lines) <= 10
        # A reload that lets the address in: its next datagram opens a session.
        d.reload(before.replace("{deny: 127.0.0.3}", "{allow: all}"))
        assert answered(denied, b"let in")
        denied.close()
    backend.close()
