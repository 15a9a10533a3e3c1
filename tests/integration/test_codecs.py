"""Framed relaying through the built-in codec plugins: through echo and through the proxy,
integrity over 100,000 random frames, split/batched/dribbled writes, translation between
framings, and bad frames closing only their own connection."""
import os
import random
import socket
import struct
import threading
import time

import pytest

from harness import SANITIZED, SLOW, Daemon, EchoBackend, recv_all, recv_exact, wait_until

FRAMES = 30000 if SANITIZED else 100000


def line_frames(rng, n):
    alphabet = bytes(range(32, 127))
    return [bytes(rng.choices(alphabet, k=rng.randint(0, 120))) + b"\n" for _ in range(n)]


def delimiter_frames(rng, n):
    # Payload bytes avoid the delimiter's first byte, so "\r\n" cannot appear inside a payload.
    alphabet = bytes(b for b in range(256) if b != 13)
    return [bytes(rng.choices(alphabet, k=rng.randint(0, 120))) + b"\r\n" for _ in range(n)]


def length_field_frames(rng, n):
    out = []
    for _ in range(n):
        p = rng.randbytes(rng.randint(0, 200))
        out.append(struct.pack(">I", len(p)) + p)
    return out


def fixed_frames(rng, n):
    return [rng.randbytes(16) for _ in range(n)]


CODECS = {
    "line": ("{plugin: line}", line_frames),
    "delimiter": ('{plugin: delimiter, delimiter: "\\\\r\\\\n"}', delimiter_frames),
    "length-field": ('{plugin: length-field, length_field_length: "4", initial_bytes_to_strip: "4"}',
                     length_field_frames),
    "fixed-length": ('{plugin: fixed-length, frame_length: "16"}', fixed_frames),
}


def send_in_odd_pieces(sock, blob, rng):
    """Writes blob cut at random points: frames split across writes, many frames per write,
    and a stretch of 1-byte dribbles."""
    i = 0
    dribble_end = min(len(blob), 3000)
    while i < dribble_end:
        sock.sendall(blob[i:i + 1])
        i += 1
    while i < len(blob):
        n = rng.choice([1, 7, 100, 1500, 9000, 65536])
        sock.sendall(blob[i:i + n])
        i += n


def roundtrip(addr_sock, frames, rng):
    blob = b"".join(frames)
    t = threading.Thread(target=send_in_odd_pieces, args=(addr_sock, blob, rng))
    t.start()
    got = recv_exact(addr_sock, len(blob))
    t.join()
    return blob, got


@pytest.mark.parametrize("codec", list(CODECS))
def test_codec_through_echo_keeps_every_frame(codec):
    block, gen = CODECS[codec]
    rng = random.Random(codec)
    frames = gen(rng, FRAMES)
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
listeners:
  - {{name: e, listen: 127.0.0.1:0, handler: echo, codec: {block}}}
""") as d:
        s = d.client("e", timeout=120)
        blob, got = roundtrip(s, frames, rng)
        assert got == blob
        m = d.metrics()
        assert m.get("switchyard_listener_frames_received_total", listener="e") == len(frames)
        assert m.get("switchyard_listener_frames_sent_total", listener="e") == len(frames)


@pytest.mark.parametrize("codec", list(CODECS))
def test_codec_through_proxy_backend_sees_what_the_client_sent(codec):
    block, gen = CODECS[codec]
    rng = random.Random("proxy" + codec)
    frames = gen(rng, FRAMES // 4)
    backend = EchoBackend()
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: b, endpoints: [{backend.address}]}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: b, codec: {block}}}
""") as d:
        s = d.client("p", timeout=120)
        blob, got = roundtrip(s, frames, rng)
        assert got == blob  # identical codecs: the bytes the backend saw are the client's
        m = d.metrics()
        assert m.get("switchyard_listener_frames_received_total", listener="p") == len(frames)
    backend.close()


class LengthFieldBackend:
    """Speaks only 4-byte big-endian length-prefixed frames; replies to each frame with the
    frame reversed, and records every payload it decoded."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.payloads = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        c, _ = self.sock.accept()
        buf = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            buf += b
            while len(buf) >= 4:
                (n,) = struct.unpack(">I", buf[:4])
                if len(buf) < 4 + n:
                    break
                p = buf[4:4 + n]
                buf = buf[4 + n:]
                self.payloads.append(p)
                c.sendall(struct.pack(">I", n) + p[::-1])
        c.close()


def test_translation_line_to_length_field_and_back():
    backend = LengthFieldBackend()
    rng = random.Random(5)
    lines = [bytes(rng.choices(b"abcdefghijklmnopqrstuvwxyz0123456789", k=rng.randint(0, 300))) for _ in range(20000)]
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - name: framed
    endpoints: [{backend.address}]
    codec: {{plugin: length-field, length_field_length: "4", initial_bytes_to_strip: "4"}}
listeners:
  - {{name: lines, listen: 127.0.0.1:0, upstream: framed, codec: {{plugin: line}}}}
""") as d:
        s = d.client("lines", timeout=60)
        blob = b"".join(l + b"\n" for l in lines)
        expected = b"".join(l[::-1] + b"\n" for l in lines)
        t = threading.Thread(target=send_in_odd_pieces, args=(s, blob, rng))
        t.start()
        assert recv_exact(s, len(expected)) == expected
        t.join()
        assert backend.payloads == lines  # the backend decoded exactly the client's lines
        m = d.metrics()
        assert m.get("switchyard_listener_frames_received_total", listener="lines") == len(lines)
        assert m.get("switchyard_listener_frames_sent_total", listener="lines") == len(lines)


BAD_INPUT = [
    ("line", "{plugin: line, max_frame: 1KiB}", b"x" * 5000, "too_large"),
    ("length-field", '{plugin: length-field, length_field_length: "4", max_frame: 1KiB}',
     struct.pack(">I", 1 << 20) + b"abc", "too_large"),
    ("length-field", '{plugin: length-field, length_field_length: "2", length_adjustment: "-10"}',
     struct.pack(">H", 3) + b"abc", "malformed"),
    ("delimiter", '{plugin: delimiter, delimiter: "\\\\0", max_frame: 64}', b"y" * 100, "too_large"),
]


@pytest.mark.parametrize("codec,block,bad,reason", BAD_INPUT)
def test_bad_frame_closes_only_its_connection(codec, block, bad, reason):
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
listeners:
  - {{name: e, listen: 127.0.0.1:0, handler: echo, codec: {block}}}
""") as d:
        good = d.client("e")
        victim = d.client("e")
        victim.sendall(bad)
        try:
            assert victim.recv(100) == b""
        except ConnectionResetError:
            pass  # closed with unread input: the kernel sends RST, which is a close too
        # The neighbour is untouched.
        frame = {"line": b"ok\n", "length-field": None, "delimiter": b"ok\0"}[codec]
        if frame is None:
            frame = struct.pack(">I" if "\"4\"" in block else ">H", 2) + b"ok"
            if "adjustment" in block:
                frame = struct.pack(">H", 12) + b"ok"
        good.sendall(frame)
        assert recv_exact(good, len(frame)) == frame
        wait_until(lambda: d.metric("switchyard_codec_errors_total", listener="e", side="client", codec=codec,
                                    reason=reason) == 1,
                   what="codec error counted")
        client_port = victim.getsockname()[1]
        assert f"listener e: client 127.0.0.1:{client_port}: codec {codec}: {reason}: " in d.log()
        # A handler listener has no upstream side to blame.
        assert not [k for k in d.metrics().samples if k[0] == "switchyard_codec_errors_total" and
                    ("side", "upstream") in k[1]]


class OneConnectionBackend:
    """Serves one connection: sends `reply` at once and holds the connection open, or with
    reply_at_end reads the connection to its end first, then replies and closes."""

    def __init__(self, reply, reply_at_end=False):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.reply = reply
        self.reply_at_end = reply_at_end
        self.received = None
        self.conns = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        c, _ = self.sock.accept()
        self.conns.append(c)
        if self.reply_at_end:
            self.received = recv_all(c)
        c.sendall(self.reply)
        if self.reply_at_end:
            c.close()

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


def line_proxy_config(backend_address, extra=""):
    """Listener p, codec line with its defaults, in front of upstream b at backend_address;
    `extra` adds listener keys ("frame_timeout: 1s")."""
    return f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: b, endpoints: [{backend_address}]}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: b, codec: {{plugin: line}}{", " + extra if extra else ""}}}
"""


def test_a_bad_frame_from_the_upstream_names_the_upstream_and_its_address():
    # 100,000 bytes with no newline against line's default max_frame (64KiB): too large, and
    # the upstream's fault. The log and the metric say so, with the upstream's address, not the
    # client's.
    backend = OneConnectionBackend(b"x" * 100000)
    with Daemon(line_proxy_config(backend.address)) as d:
        s = d.client("p")
        assert s.recv(100) == b""
        client = "127.0.0.1:%d" % s.getsockname()[1]
        wait_until(lambda: d.metric("switchyard_codec_errors_total", listener="p", side="upstream", codec="line",
                                    reason="too_large") == 1, what="codec error counted against the upstream")
        assert d.metric("switchyard_codec_errors_total", listener="p", side="client", codec="line",
                        reason="too_large") == 0
        line = next(l for l in d.log().splitlines() if "too_large" in l)
        assert f"listener p: upstream b {backend.address} for client {client}: codec line: too_large: " in line
    backend.close()


def test_a_stream_that_ends_inside_a_frame_is_counted_and_logged_both_ways():
    # "a\nb" then FIN: "b" can never become a line. It is dropped, as a framed relay must, but
    # counted and logged, from the client and from the upstream alike.
    backend = OneConnectionBackend(b"c\nd", reply_at_end=True)
    with Daemon(line_proxy_config(backend.address)) as d:
        s = d.client("p")
        s.sendall(b"a\nb")
        s.shutdown(socket.SHUT_WR)
        assert recv_all(s) == b"c\n"
        assert backend.received == b"a\n"
        m = d.metrics()
        for side in ("client", "upstream"):
            assert m.get("switchyard_codec_errors_total", listener="p", side=side, codec="line",
                         reason="truncated") == 1, side
        client = "127.0.0.1:%d" % s.getsockname()[1]
        log = d.log()
        assert (f"listener p: client {client}: codec line: truncated: the stream ended inside a frame; "
                f"its 1 byte(s) were dropped") in log
        assert f"listener p: upstream b {backend.address} for client {client}: codec line: truncated: " in log


def test_a_reset_inside_a_frame_is_counted_and_names_the_client_it_came_from():
    with Daemon("""
metrics: {listen: 127.0.0.1:0}
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo, codec: {plugin: line}}
""") as d:
        s = d.client("e")
        s.sendall(b"whole\npart")
        assert recv_exact(s, 6) == b"whole\n"
        client = "127.0.0.1:%d" % s.getsockname()[1]
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # RST
        wait_until(lambda: d.metric("switchyard_codec_errors_total", listener="e", side="client", codec="line",
                                    reason="truncated") == 1, what="truncated frame counted")
        # The socket is gone by now; the line still names the client's address.
        assert f"listener e: client {client}: codec line: truncated: " in d.log()


# memcached's binary protocol: a 24-byte request header (magic 0x80, opcode GET, key length 3)
# and the key. No byte of it is a newline, so a line codec in front of it never sees a frame end.
MEMCACHED_BINARY_GET = struct.pack(">BBHBBHIIQ", 0x80, 0x00, 3, 0, 0, 0, 3, 0, 0) + b"foo"


def test_a_frame_that_never_completes_is_closed_after_frame_timeout():
    backend = EchoBackend()
    with Daemon(line_proxy_config(backend.address, "frame_timeout: 300ms")) as d:
        steady = d.client("p")  # whole lines, each within the timeout: never closed
        stuck = d.client("p")
        start = time.monotonic()
        stuck.sendall(MEMCACHED_BINARY_GET)
        while time.monotonic() - start < 0.7 * SLOW:
            steady.sendall(b"ping\n")
            assert recv_exact(steady, 5) == b"ping\n"
            time.sleep(0.05)
        assert stuck.recv(100) == b""  # closed by the frame timeout, nothing relayed
        assert backend.connections == 2
        m = d.metrics()
        assert m.get("switchyard_codec_errors_total", listener="p", side="client", codec="line",
                     reason="frame_timeout") == 1
        steady.sendall(b"still here\n")
        assert recv_exact(steady, 11) == b"still here\n"
        client = "127.0.0.1:%d" % stuck.getsockname()[1]
        assert (f"listener p: client {client}: codec line: frame_timeout: a frame begun " in d.log())
        assert "incomplete after 27 byte(s) (frame_timeout 300 ms); closing the connection" in d.log()
    backend.close()


def test_frame_timeout_applies_to_the_upstream_side_too():
    backend = OneConnectionBackend(b"no newline ever")
    with Daemon(line_proxy_config(backend.address, "frame_timeout: 200ms")) as d:
        s = d.client("p")
        assert s.recv(100) == b""
        assert d.metric("switchyard_codec_errors_total", listener="p", side="upstream", codec="line",
                        reason="frame_timeout") == 1
        assert f"listener p: upstream b {backend.address} for client " in d.log()
    backend.close()
