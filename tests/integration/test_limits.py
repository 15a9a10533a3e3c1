"""Idle timeout and max_connections."""
import re
import socket
import time

from harness import Daemon, SLOW, recv_exact, wait_until


def test_idle_timeout_closes_quiet_connections_only():
    with Daemon("""
metrics: {listen: 127.0.0.1:0}
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo, idle_timeout: 400ms}
""") as d:
        quiet = d.client("e")
        busy = d.client("e")
        start = time.monotonic()
        # Keep one connection busy past the timeout; the other says nothing.
        while time.monotonic() - start < 1.0 * SLOW:
            busy.sendall(b"x")
            assert recv_exact(busy, 1) == b"x"
            time.sleep(0.05)
        assert quiet.recv(1) == b""  # closed by the idle sweep
        closed_after = time.monotonic() - start
        assert closed_after < 1.5 * SLOW + 1
        busy.sendall(b"still here")
        assert recv_exact(busy, 10) == b"still here"
        assert d.metric("switchyard_listener_idle_timeouts_total", listener="e") == 1
        # Said at info, so the operator can tell a client why it was closed.
        quiet_port = quiet.getsockname()[1]
        line = next(l for l in d.log().splitlines() if "idle_timeout" in l and "closing" in l)
        assert " info " in line
        assert f"listener e: client 127.0.0.1:{quiet_port}: no traffic for " in line


def test_max_connections_rejects_the_excess_and_counts_it():
    with Daemon("""
metrics: {listen: 127.0.0.1:0}
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo, max_connections: 3}
""") as d:
        kept = [d.client("e") for _ in range(3)]
        for s in kept:
            s.sendall(b"ok")
            assert recv_exact(s, 2) == b"ok"
        extra = [d.client("e") for _ in range(2)]
        for s in extra:
            assert s.recv(10) == b""  # accepted, then closed at once
        assert d.metric("switchyard_listener_connections_rejected_total", listener="e",
                        reason="max_connections") == 2
        assert "max_connections 3 reached" in d.log()
        # A slot freed is a slot usable again.
        kept[0].close()
        wait_until(lambda: d.metric("switchyard_listener_connections_active", listener="e") == 2,
                   what="active == 2")
        again = d.client("e")
        again.sendall(b"back")
        assert recv_exact(again, 4) == b"back"


def test_a_burst_of_rejections_is_logged_once_and_summarised_when_it_ends():
    with Daemon("""
tick: 50ms
metrics: {listen: 127.0.0.1:0}
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo, max_connections: 1}
""") as d:
        kept = d.client("e")
        kept.sendall(b"ok")
        assert recv_exact(kept, 2) == b"ok"
        host, port = d.addr("e").rsplit(":", 1)
        burst = []
        for _ in range(40):  # 40 SYNs at once, accepted (and rejected) in one batch
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((host, int(port)))
            burst.append(s)
        wait_until(lambda: d.metric("switchyard_listener_connections_rejected_total", listener="e",
                                    reason="max_connections") == 40, what="40 rejections counted")
        summary = wait_until(lambda: re.search(r"listener e: \.\.\.and (\d+) more connections rejected "
                                               r"\(max_connections\) in the last second", d.log()),
                             what="the burst's summary line")
        lines = [l for l in d.log().splitlines() if "rejected, max_connections 1 reached" in l]
        # Every rejection is accounted for: one line each, plus the ones it or the summary count.
        noted = sum(int(m) for l in lines for m in re.findall(r"\((\d+) more connections rejected", l))
        assert len(lines) + noted + int(summary.group(1)) == 40
        assert len(lines) <= 10  # at most 10 lines a second, not a line per rejection
        for s in burst:
            s.close()
