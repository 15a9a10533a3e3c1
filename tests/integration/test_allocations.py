"""Zero heap allocations per frame on the relay path: the daemon runs with an allocation
counter preloaded; the count is read before and after 100,000 frames on a warm connection."""
import os
import random
import signal
import struct
import tempfile
import threading

import pytest

from harness import SANITIZED, Daemon, EchoBackend, recv_exact, wait_until

COUNTER = os.environ.get("SWITCHYARD_MALLOC_COUNTER", "")
pytestmark = pytest.mark.skipif(SANITIZED or not os.path.exists(COUNTER),
                                reason="needs the malloc counter shim, which sanitizers replace")


def read_count(d, path):
    before = os.path.getmtime(path) if os.path.exists(path) else 0
    os.unlink(path) if os.path.exists(path) else None
    d.signal(signal.SIGRTMIN + 1)
    wait_until(lambda: os.path.exists(path) and os.path.getsize(path) > 0, what="allocation count")
    with open(path) as f:
        return int(f.read())


def pump_frames(sock, payload_frames, reply_len):
    t = threading.Thread(target=sock.sendall, args=(b"".join(payload_frames),))
    t.start()
    got = recv_exact(sock, reply_len)
    t.join()
    return got


@pytest.mark.parametrize("mode", ["echo-line", "translate-line-to-length-field"])
def test_no_heap_allocation_per_frame(mode):
    count_file = os.path.join(tempfile.mkdtemp(), "count")
    backend = None
    if mode == "echo-line":
        cfg = """
listeners:
  - {name: f, listen: 127.0.0.1:0, handler: echo, codec: {plugin: line}}
"""
    else:
        backend = EchoBackend()  # echoes length-field frames back unchanged
        cfg = f"""
upstreams:
  - name: b
    endpoints: [{backend.address}]
    codec: {{plugin: length-field, length_field_length: "4", initial_bytes_to_strip: "4"}}
listeners:
  - {{name: f, listen: 127.0.0.1:0, upstream: b, codec: {{plugin: line}}}}
"""
    with Daemon("metrics: {listen: 127.0.0.1:0}\n" + cfg,
                env={"LD_PRELOAD": COUNTER, "MALLOC_COUNT_FILE": count_file}) as d:
        s = d.client("f", timeout=60)
        rng = random.Random(3)
        warm = [b"w" * rng.randint(1, 60) + b"\n" for _ in range(2000)]
        blob = b"".join(warm)
        assert pump_frames(s, warm, len(blob)) == blob
        before = read_count(d, count_file)
        frames = [bytes(rng.choices(b"abcdefgh", k=rng.randint(1, 60))) + b"\n" for _ in range(100000)]
        blob = b"".join(frames)
        assert pump_frames(s, frames, len(blob)) == blob
        after = read_count(d, count_file)
        # Buffers come from the loop's pool and handlers from Asio's recycling allocator: the
        # relay path allocates nothing per frame. A few allocations may come from elsewhere
        # (a tick, the metrics exporter's thread), never one per frame or per read.
        print(f"{mode}: {before} allocations before, {after - before} during 100,000 frames")
        assert after - before < 100, f"{after - before} allocations for 100,000 frames"
    if backend:
        backend.close()


# A udp listener's admission keys: checked when a session opens, never for its datagrams.
ADMISSION = ", access: [{deny: 127.0.0.3}, {allow: all}], rate_limit: {sessions_per_second: 1000}, max_sessions_per_ip: 100"


def udp_config(backend, extra):
    return f"""
loops: 1
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: b, endpoints: ["{backend.address}"]}}
listeners:
  - {{name: u, protocol: udp, listen: "127.0.0.1:0", upstream: b{extra}}}
"""


def exchange_datagrams(clients, rounds):
    for r in range(rounds):
        for i, c in enumerate(clients):
            c.send(b"q%d.%d\n" % (i, r))
        for i, c in enumerate(clients):
            assert c.recv(100) == b"q%d.%d\n" % (i, r)


@pytest.mark.parametrize("extra", ["", ", codec: {plugin: line}", ADMISSION], ids=["raw", "line", "admission-keys"])
def test_no_heap_allocation_per_datagram(extra):
    """20,000 request/response datagrams through warm UDP sessions: recvmmsg into the listener's
    batch, a send on the session's socket, the reply received into the reply batch and sent with
    sendmmsg; session lookup by address hash. Nothing on that path allocates, with or without
    access rules and session limits (an open session is past them)."""
    from harness import UdpEchoBackend, udp_client
    count_file = os.path.join(tempfile.mkdtemp(), "count")
    backend = UdpEchoBackend()
    with Daemon(udp_config(backend, extra), env={"LD_PRELOAD": COUNTER, "MALLOC_COUNT_FILE": count_file}) as d:
        clients = [udp_client(d.addr("u"), timeout=10) for _ in range(20)]
        exchange_datagrams(clients, 50)  # sessions open, tables and batches warm
        before = read_count(d, count_file)
        exchange_datagrams(clients, 1000)
        after = read_count(d, count_file)
        print(f"udp{extra}: {after - before} allocations during 20,000 exchanges")
        assert after - before < 100, f"{after - before} allocations for 20,000 datagrams"
        for c in clients:
            c.close()
    backend.close()


def test_a_denied_udp_flood_allocates_only_for_the_log_lines_it_gets():
    """Every datagram of a denied address is checked (it never has a session); at most 10 log
    lines a second are written, and only those format anything."""
    from harness import UdpEchoBackend, udp_client
    count_file = os.path.join(tempfile.mkdtemp(), "count")
    backend = UdpEchoBackend()
    with Daemon(udp_config(backend, ADMISSION), env={"LD_PRELOAD": COUNTER, "MALLOC_COUNT_FILE": count_file}) as d:
        allowed = udp_client(d.addr("u"), timeout=10)
        exchange_datagrams([allowed], 10)
        denied = udp_client(d.addr("u"), source_ip="127.0.0.3")
        before = read_count(d, count_file)
        # In waves, so no socket buffer on the way overflows. One loop reads the socket in order:
        # once the allowed client's reply is back, the wave before it has been handled (no
        # scrape to wait on, which would allocate itself).
        for wave in range(10):
            for i in range(500):
                denied.send(b"flood %d.%d" % (wave, i))
            exchange_datagrams([allowed], 1)
        after = read_count(d, count_file)
        assert d.metric("switchyard_udp_datagrams_dropped_total", listener="u", reason="denied") == 5000
        print(f"denied flood: {after - before} allocations for 5,000 datagrams")
        assert after - before < 100, f"{after - before} allocations for 5,000 denied datagrams"
        allowed.close()
        denied.close()
    backend.close()
