"""Who is served: access rules, max_connections_per_ip, rate_limit, first_byte_timeout, and
who may connect to a unix listener (owner, group).

Clients pick their source address on loopback (all of 127.0.0.0/8 is local) so one test can be
several clients. Every refusal is checked from both ends: the client sees its connection closed,
/metrics counts it under its reason, the log names the client, and the upstream never hears
of it."""
import os
import re
import socket
import stat
import time

from harness import Daemon, EchoBackend, SLOW, closed_by_peer, connect, recv_exact, wait_until


def rejected(d, reason, listener="e"):
    return d.metric("switchyard_listener_connections_rejected_total", listener=listener, reason=reason)


def echoes(sock, payload=b"ping"):
    sock.sendall(payload)
    return recv_exact(sock, len(payload)) == payload


def test_access_rules_first_match_wins_and_denied_clients_never_reach_the_upstream():
    backend = EchoBackend()
    try:
        with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: b, endpoints: ["{backend.address}"]}}
listeners:
  - name: e
    listen: 127.0.0.1:0
    upstream: b
    access:
      - deny: 127.0.0.3
      - allow: 127.0.0.0/24
      - deny: all
""") as d:
            # Rule 2 allows 127.0.0.4; rule 1 denies 127.0.0.3 although rule 2 would allow it.
            allowed = d.client("e", source_ip="127.0.0.4")
            assert echoes(allowed)
            first = d.client("e", source_ip="127.0.0.3")
            assert closed_by_peer(first)
            # Outside 127.0.0.0/24: no allow matches, the final deny does.
            last = d.client("e", source_ip="127.0.1.1")
            assert closed_by_peer(last)
            assert rejected(d, "denied") == 2
            assert backend.connections == 1  # only the allowed client got an upstream connection
            log = d.log()
            assert re.search(r"warning .*listener e: client 127\.0\.0\.3:\d+: denied by access rule 1 "
                             r"\(deny 127\.0\.0\.3/32\)", log), log
            assert re.search(r"listener e: client 127\.0\.1\.1:\d+: denied by access rule 3 \(deny all\)", log), log
            assert "listener e: access 3 rule(s)" in log
            assert d.metric("switchyard_listener_connections_total", listener="e") == 1
    finally:
        backend.close()


def test_access_rules_for_ipv6_clients():
    with Daemon("""
metrics: {listen: 127.0.0.1:0}
listeners:
  - name: e
    listen: "[::1]:0"
    handler: echo
    access: [{deny: "::1"}]
  - name: v6net
    listen: "[::1]:0"
    handler: echo
    access: [{allow: "::/8"}, {deny: all}]
""") as d:
        assert closed_by_peer(d.client("e"))
        assert echoes(d.client("v6net"))
        assert rejected(d, "denied") == 1
        assert re.search(r"listener e: client \[::1\]:\d+: denied by access rule 1 \(deny ::1/128\)", d.log())


def test_only_allow_rules_are_warned_about_at_start():
    with Daemon("""
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo, access: [{allow: 10.0.0.0/8}]}
""") as d:
        assert "listener e: every access rule allows, and a client no rule matches is allowed too" in d.log()
        assert echoes(d.client("e"))  # 127.0.0.1 matches no rule: allowed, as nginx does


def test_max_connections_per_ip_counts_each_client_address_separately():
    with Daemon("""
metrics: {listen: 127.0.0.1:0}
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo, max_connections_per_ip: 2}
""") as d:
        a1, a2 = d.client("e", source_ip="127.0.0.5"), d.client("e", source_ip="127.0.0.5")
        assert echoes(a1) and echoes(a2)
        third = d.client("e", source_ip="127.0.0.5")
        assert closed_by_peer(third)
        b = d.client("e", source_ip="127.0.0.6")  # another client has its own count
        assert echoes(b)
        assert rejected(d, "max_connections_per_ip") == 1
        assert re.search(r"listener e: client 127\.0\.0\.5:\d+: rejected, max_connections_per_ip 2 reached", d.log())
        # A closed connection gives its slot back.
        a1.close()
        wait_until(lambda: d.metric("switchyard_listener_connections_active", listener="e") == 2, what="active == 2")
        again = d.client("e", source_ip="127.0.0.5")
        assert echoes(again)


def test_per_ip_counts_and_rate_bucket_survive_a_reload():
    config = """
metrics: {{listen: 127.0.0.1:0}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, handler: echo, max_connections_per_ip: 1, idle_timeout: {idle}}}
  - {{name: r, listen: 127.0.0.1:0, handler: echo, rate_limit: {{connections_per_second: 1, burst: 3}},
      idle_timeout: {idle}}}
"""
    with Daemon(config.format(idle="1h")) as d:
        held = d.client("p", source_ip="127.0.0.5")
        assert echoes(held)
        spent_at = time.monotonic()
        spent = [d.client("r") for _ in range(3)]  # the whole burst
        assert all(echoes(s) for s in spent)
        text = d.reload(config.format(idle="2h"))
        assert "2 listener(s) kept" in text
        # The connection open before the reload still counts for 127.0.0.5.
        assert closed_by_peer(d.client("p", source_ip="127.0.0.5"))
        assert rejected(d, "max_connections_per_ip", listener="p") == 1
        # The bucket remembers what was spent: a fresh bucket would let 3 through at once, this
        # one only what refilled since (one a second).
        after = [d.client("r") for _ in range(3)]
        elapsed = time.monotonic() - spent_at
        served = 0
        for s in after:
            try:
                served += echoes(s)
            except (ConnectionResetError, EOFError):
                pass
        if elapsed < 2.5:
            assert served < 3, (served, elapsed)  # at most 2 tokens refilled in 2.5 s
            assert rejected(d, "rate_limit", listener="r") == 3 - served


def test_rate_limit_lets_a_burst_through_then_refills():
    with Daemon("""
metrics: {listen: 127.0.0.1:0}
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo, rate_limit: {connections_per_second: 2, burst: 3}}
""") as d:
        clients = [d.client("e") for _ in range(5)]
        outcomes = []
        for c in clients:
            c.settimeout(10 * SLOW)
            try:
                c.sendall(b"x")
                outcomes.append(c.recv(1) == b"x")
            except ConnectionResetError:
                outcomes.append(False)
        # Five connections within well under the half second a token takes: the burst of 3 in.
        assert outcomes.count(True) == 3, outcomes
        assert rejected(d, "rate_limit") == 2
        assert "rejected, rate_limit 2/s (burst 3) exceeded" in d.log()

        # Refilled at 2 a second: a new connection is served again within a second or so.
        def served():
            s = connect(d.addr("e"))
            try:
                s.sendall(b"y")
                return s.recv(1) == b"y"
            except ConnectionResetError:
                return False
            finally:
                s.close()
        wait_until(served, what="a token refilled")


def test_first_byte_timeout_closes_silent_clients_before_any_upstream_connection():
    backend = EchoBackend()
    try:
        with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: b, endpoints: ["{backend.address}"]}}
listeners:
  - {{name: e, listen: 127.0.0.1:0, upstream: b, first_byte_timeout: 300ms}}
""") as d:
            silent = d.client("e")
            start = time.monotonic()
            talker = d.client("e")
            talker.sendall(b"hello")  # the first byte arrives: the upstream is connected, bytes relayed
            assert recv_exact(talker, 5) == b"hello"
            assert closed_by_peer(silent)
            waited = time.monotonic() - start
            assert 0.25 < waited < 3 * SLOW, waited
            assert rejected(d, "first_byte_timeout") == 1
            assert backend.connections == 1  # the silent client never reached the backend
            line = next(l for l in d.log().splitlines() if "first_byte_timeout" in l and "sent nothing" in l)
            assert " info " in line
            assert f"client 127.0.0.1:{silent.getsockname()[1]}: sent nothing within 300 ms" in line
            # A client that connects and leaves without a byte (a TCP health check) is no refusal.
            quiet = connect(d.addr("e"))
            quiet.close()
            talker.sendall(b"again")
            assert recv_exact(talker, 5) == b"again"
            assert rejected(d, "first_byte_timeout") == 1
            wait_until(lambda: d.metric("switchyard_listener_connections_active", listener="e") == 1,
                       what="only the talker open")
    finally:
        backend.close()


def test_a_flood_of_denied_clients_is_logged_at_most_ten_lines_a_second_and_summarised():
    with Daemon("""
tick: 50ms
metrics: {listen: 127.0.0.1:0}
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo, access: [{deny: all}]}
""") as d:
        host, port = d.addr("e").rsplit(":", 1)
        burst = []
        for _ in range(40):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((host, int(port)))
            burst.append(s)
        wait_until(lambda: rejected(d, "denied") == 40, what="40 denials counted")
        summary = wait_until(lambda: re.search(r"listener e: \.\.\.and (\d+) more connections denied \(access rules\) "
                                               r"in the last second", d.log()), what="the burst's summary")
        lines = [l for l in d.log().splitlines() if "denied by access rule 1 (deny all)" in l]
        noted = sum(int(m) for l in lines for m in re.findall(r"\((\d+) more connections denied", l))
        assert len(lines) + noted + int(summary.group(1)) == 40
        assert len(lines) <= 10
        for s in burst:
            s.close()


def test_unix_listener_owner_and_group():
    path = os.path.join(Daemon.scratch_dir(), "owned.sock")
    config = f"""
listeners:
  - {{name: u, protocol: unix, listen: {path}, handler: echo, owner: nobody, group: {{group}}}}
"""
    with Daemon(config.replace("{group}", "nogroup")) as d:
        st = os.stat(path)
        assert (st.st_uid, st.st_gid) == (65534, 65534)
        assert stat.S_IMODE(st.st_mode) == 0o660
        assert echoes(d.client("u"))
        # A reload that changes them applies them to the socket file it keeps.
        d.reload(config.replace("{group}", "root"))
        st = os.stat(path)
        assert (st.st_uid, st.st_gid) == (65534, 0)
        assert echoes(d.client("u"))
