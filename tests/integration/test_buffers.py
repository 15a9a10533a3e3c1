"""Relay buffers: borrowed only while data flows, sized to the traffic (observed via /metrics)."""
import os
import threading

from harness import Daemon, EchoBackend, recv_exact, wait_until

BULK = 8 * 1024 * 1024


def config(backend, max_buffer_size=None):
    extra = f", max_buffer_size: {max_buffer_size}" if max_buffer_size else ""
    return f"""
loops: 1
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: b, endpoints: [{backend.address}]}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: b, buffer_size: 16KiB{extra}}}
"""


def buffer_bytes(d, state):
    return d.metrics().get("switchyard_buffer_bytes", loop="0", state=state)


def push_bulk(sock):
    """Sends BULK bytes while reading the echo back; returns what came back."""
    data = os.urandom(BULK)
    sender = threading.Thread(target=sock.sendall, args=(data,))
    sender.start()
    got = recv_exact(sock, BULK)
    sender.join()
    assert got == data
    return got


def test_idle_connections_hold_no_buffer_and_bulk_grows_it_to_the_max():
    backend = EchoBackend()
    try:
        with Daemon(config(backend)) as d:
            s = d.client("p")
            s.sendall(b"ping")
            assert recv_exact(s, 4) == b"ping"
            # Open and quiet: both directions gave their buffer back.
            wait_until(lambda: buffer_bytes(d, "borrowed") == 0, what="no borrowed buffer while idle")
            small_pool = buffer_bytes(d, "pooled")
            assert small_pool <= 2 * 16384  # request/response never grew a buffer
            push_bulk(s)
            wait_until(lambda: buffer_bytes(d, "borrowed") == 0, what="buffers back after the transfer")
            # A 64 KiB block served the transfer and was pooled once drained.
            assert buffer_bytes(d, "pooled") >= 65536
    finally:
        backend.close()


def test_max_buffer_size_caps_the_growth():
    backend = EchoBackend()
    try:
        with Daemon(config(backend, max_buffer_size="16KiB")) as d:
            s = d.client("p")
            push_bulk(s)
            wait_until(lambda: buffer_bytes(d, "borrowed") == 0, what="buffers back after the transfer")
            assert 0 < buffer_bytes(d, "pooled") <= 2 * 16384
    finally:
        backend.close()
