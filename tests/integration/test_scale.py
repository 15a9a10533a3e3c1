"""5,000 concurrent proxied connections, every byte checked; bounded memory under backpressure."""
import asyncio
import os
import random
import resource
import socket
import subprocess
import sys
import threading
import time

from harness import Daemon, SANITIZED, SLOW, connect, wait_until

CONNECTIONS = 5000


def start_echo_backend():
    proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "echo_backend.py")],
                            stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    return proc, port


async def hold_and_check(addr, n, d):
    host, port = addr.rsplit(":", 1)
    rng = random.Random(1)
    conns = []
    # Open in waves so the listen backlog never overflows.
    for start in range(0, n, 500):
        batch = await asyncio.gather(*[asyncio.open_connection(host, int(port)) for _ in range(start, min(n, start + 500))])
        conns.extend(batch)
    # Every connection is open at once here.
    active = await asyncio.get_running_loop().run_in_executor(
        None, lambda: wait_until(
            lambda: d.metric("switchyard_listener_connections_active", listener="p") == n or None,
            timeout=30, what=f"{n} active connections"))
    assert active

    async def exchange(i, reader, writer):
        payload = rng.randbytes(rng.randint(1, 8192)) + i.to_bytes(4, "big")
        writer.write(payload)
        await writer.drain()
        got = await reader.readexactly(len(payload))
        return got == payload

    results = []
    for start in range(0, n, 1000):
        results += await asyncio.gather(*[exchange(i, r, w) for i, (r, w) in enumerate(conns[start:start + 1000], start)])
    for _, w in conns:
        w.close()
    return results


def test_5000_concurrent_proxied_connections_with_integrity():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    backend, port = start_echo_backend()
    try:
        with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: echo, endpoints: [127.0.0.1:{port}]}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: echo, backlog: 4096}}
""") as d:
            results = asyncio.run(hold_and_check(d.addr("p"), CONNECTIONS, d))
            assert len(results) == CONNECTIONS
            assert all(results), f"{results.count(False)} connections got corrupted data"
            wait_until(lambda: d.metric("switchyard_listener_connections_active", listener="p") == 0,
                       timeout=30, what="all connections closed")
            assert d.metric("switchyard_listener_connections_total", listener="p") == CONNECTIONS
    finally:
        backend.terminate()
        backend.wait()


def test_slow_reader_backpressure_keeps_memory_bounded():
    total = 200 * 1024 * 1024
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    sent = [0]

    def push():
        c, _ = srv.accept()
        chunk = bytes(range(256)) * 4096  # 1 MiB with a pattern the reader can check
        while sent[0] < total:
            c.sendall(chunk)
            sent[0] += len(chunk)
        c.close()

    t = threading.Thread(target=push, daemon=True)
    t.start()
    with Daemon(f"""
loops: 1
upstreams:
  - {{name: firehose, endpoints: [127.0.0.1:{srv.getsockname()[1]}]}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: firehose}}
""") as d:
        baseline = d.rss_kib()
        s = connect(d.addr("p"), timeout=60)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        # Wait until the backend is stuck: every buffer on the way is full and the proxy has
        # stopped reading from the backend.
        last = -1
        while True:
            time.sleep(0.3 * SLOW)
            if sent[0] == last:
                break
            last = sent[0]
        assert sent[0] < total // 4, f"{sent[0]} bytes pushed into a client that reads nothing"
        growth = d.rss_kib() - baseline
        assert growth < 4096, f"daemon RSS grew by {growth} KiB while the client was not reading"
        received = 0
        pattern = bytes(range(256)) * 4096
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            offset = received % len(pattern)
            expected = (pattern[offset:] + pattern)[:len(b)] if len(b) <= len(pattern) else None
            if expected is not None:
                assert b == expected, f"corrupted at byte {received}"
            received += len(b)
        assert received == total
        s.close()
    t.join()
    srv.close()
