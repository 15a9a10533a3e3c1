"""Fault injection with the real daemon on loopback. Each test asserts that nothing the proxy
accepted was lost or corrupted: what a peer receives is exactly (or, where a peer died, a
prefix of) what the other peer sent."""
import hashlib
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from harness import SANITIZED, SLOW, Daemon, EchoBackend, connect, recv_exact, wait_until

ECHO_BACKEND = os.path.join(os.path.dirname(__file__), "echo_backend.py")


def echo_process():
    """An echo server in a process of its own (so it can be killed): (process, address)."""
    proc = subprocess.Popen([sys.executable, ECHO_BACKEND], stdout=subprocess.PIPE)
    port = int(proc.stdout.readline())
    return proc, "127.0.0.1:%d" % port


def proxy_to(address, listener_options=""):
    """The daemon with one listener p in front of one endpoint, metrics on."""
    return Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: b, endpoints: [{address}]}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: b{listener_options}}}
""")


def active(d, listener="p"):
    return d.metric("switchyard_listener_connections_active", listener=listener)


class Streamer:
    """One client streaming seeded random bytes through an echo path and reading the echo back,
    each way in a thread of its own. `ended` says how the stream ended for the reader: "fin",
    "rst" or "timeout" (a hang)."""

    def __init__(self, addr, seed, total=None, chunk=16384, read_timeout=10.0):
        self.sock = connect(addr)
        self.sock.settimeout(read_timeout * SLOW)
        self.rng = random.Random(seed)
        self.sent = bytearray()
        self.received = bytearray()
        self.total = total
        self.chunk = chunk
        self.ended = None
        self.stop = False
        self.writer = threading.Thread(target=self._write, daemon=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.writer.start()
        self.reader.start()

    def _write(self):
        try:
            while not self.stop and (self.total is None or len(self.sent) < self.total):
                block = self.rng.randbytes(self.chunk)
                self.sock.sendall(block)
                self.sent += block
            if self.total is not None:
                self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _read(self):
        while True:
            try:
                b = self.sock.recv(1 << 16)
            except ConnectionResetError:
                self.ended = "rst"
                return
            except socket.timeout:
                self.ended = "timeout"
                return
            except OSError:
                self.ended = "rst"
                return
            if not b:
                self.ended = "fin"
                return
            self.received += b

    def intact(self):
        return bytes(self.received) == bytes(self.sent[:len(self.received)])

    def join(self, timeout=20.0):
        self.reader.join(timeout * SLOW)
        self.stop = True
        self.writer.join(timeout * SLOW)
        self.sock.close()


def test_backend_killed_mid_stream_closes_clients_not_hangs():
    proc, address = echo_process()
    try:
        with proxy_to(address) as d:
            clients = [Streamer(d.addr("p"), seed=i) for i in range(6)]
            wait_until(lambda: all(len(c.received) >= 256 * 1024 for c in clients), what="streams flowing")
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            for c in clients:
                c.join()
                assert c.ended in ("fin", "rst"), "a client hangs after its backend died"
                assert c.intact(), "echoed bytes differ from what was sent"
            wait_until(lambda: active(d) == 0, what="every session closed")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class SilentBackend:
    """Accepts connections and reads nothing until read_all() is called; then reads every
    connection to its end and records (length, sha256) by the 8-byte id each client sent first."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1024)
        self.address = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.conns = []
        self.results = {}
        self.go = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._drain, args=(c,), daemon=True).start()

    def _drain(self, c):
        self.go.wait()
        ident = recv_exact(c, 8)
        digest = hashlib.sha256()
        n = 0
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            digest.update(b)
            n += len(b)
        self.results[ident] = (n, digest.hexdigest())
        c.close()

    def close(self):
        self.listener.close()


def fill(sock, rng, log):
    """Sends seeded random bytes until the socket would block; adds what was sent to `log`."""
    sock.setblocking(False)
    total = 0
    try:
        while True:
            block = rng.randbytes(16384)
            n = sock.send(block)
            log.update(block[:n])  # the stream is what went out, whatever the rest would have been
            total += n
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)
    return total


def test_backend_that_never_reads_holds_daemon_memory_bounded():
    backend = SilentBackend()
    n_clients = 40
    with proxy_to(backend.address) as d:
        rss_before = d.rss_kib()
        clients = []
        for i in range(n_clients):
            s = d.client("p")
            ident = struct.pack(">Q", i)
            s.sendall(ident)
            clients.append((s, ident, random.Random(i), hashlib.sha256(), [0]))
        # Everyone writes until nobody can: the proxy holds what its buffers allow, no more.
        last = None

        def stalled():
            nonlocal last
            moved = 0
            for s, _, rng, digest, count in clients:
                n = fill(s, rng, digest)
                count[0] += n
                moved += n
            received = d.metrics().sum("switchyard_listener_bytes_received_total", listener="p")
            done = moved == 0 and received == last
            last = received
            return done

        wait_until(stalled, interval=0.1, timeout=60, what="every client blocked (backpressure)")
        rss_during = d.rss_kib()
        # Per connection the proxy holds at most one relay buffer per direction (max_buffer_size,
        # 64 KiB): 40 x 2 x 64 KiB = 5 MiB at the very most, plus allocator slack. The bytes in
        # flight beyond that wait in the kernel's socket buffers, which RSS does not count.
        growth = rss_during - rss_before
        if not SANITIZED:  # AddressSanitizer's quarantine and shadow memory are not the daemon's
            assert growth < n_clients * 2 * 64 + 4096, f"daemon RSS grew {growth} KiB under backpressure"
        # Now the backend reads: every byte arrives, in order.
        for s, *_ in clients:
            s.shutdown(socket.SHUT_WR)
        backend.go.set()
        wait_until(lambda: len(backend.results) == n_clients, timeout=60, what="every stream read")
        for s, ident, _, digest, count in clients:
            assert backend.results[ident] == (count[0], digest.hexdigest())
            assert s.recv(10) == b""
            s.close()
        wait_until(lambda: active(d) == 0, what="every session closed")
        print(f"RSS before {rss_before} KiB, under backpressure {rss_during} KiB ({growth:+d} KiB)")
    backend.close()


def test_client_reset_mid_transfer_loses_nothing_for_the_others():
    backend = EchoBackend()
    with proxy_to(backend.address) as d:
        steady = [Streamer(d.addr("p"), seed=100 + i, total=1 << 20) for i in range(6)]
        doomed = Streamer(d.addr("p"), seed=7)
        wait_until(lambda: len(doomed.received) >= 128 * 1024, what="the doomed stream flowing")
        doomed.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        doomed.stop = True
        doomed.sock.close()
        for c in steady:
            c.join(timeout=60)
            assert c.ended == "fin"
            assert bytes(c.received) == bytes(c.sent), "a stream beside the reset one lost or changed bytes"
        wait_until(lambda: active(d) == 0, what="every session closed")
        assert d.metric("switchyard_listener_resets_total", listener="p", side="client") == 1
    backend.close()


def test_clients_that_send_nothing_are_freed_by_idle_timeout():
    backend = EchoBackend()
    n = 100
    with proxy_to(backend.address, ", idle_timeout: 300ms") as d:
        silent = [d.client("p") for _ in range(n)]
        wait_until(lambda: d.metric("switchyard_listener_connections_total", listener="p") == n,
                   what="every client accepted")
        started = time.monotonic()
        for s in silent:
            assert s.recv(10) == b""  # a clean close from the proxy, not a hang
        assert time.monotonic() - started < 5 * SLOW
        wait_until(lambda: active(d) == 0, what="every session closed")
        m = d.metrics()
        assert m.get("switchyard_listener_idle_timeouts_total", listener="p") == n
        # A client that talks is not idle: it still gets its echo.
        c = d.client("p")
        c.sendall(b"still here")
        assert recv_exact(c, 10) == b"still here"
    backend.close()


class FlappingBackend:
    """An echo server on a fixed port that can go away (its listener closed: new connects are
    refused) and come back."""

    def __init__(self):
        self.port = None
        self.listener = None
        self.accepted = 0
        self.up()

    def up(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port or 0))
        s.listen(256)
        self.port = s.getsockname()[1]
        self.listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def down(self):
        self.listener.close()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def _accept(self, listener):
        while True:
            try:
                c, _ = listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._echo, args=(c,), daemon=True).start()

    @staticmethod
    def _echo(c):
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                c.sendall(b)
        except OSError:
            pass
        finally:
            c.close()


def test_flapping_backend_under_load_gets_no_connection_while_down():
    stable, flappy = EchoBackend(), FlappingBackend()
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - name: b
    connect_attempts: 3
    fail_timeout: 2s
    endpoints: [{stable.address}, {flappy.address}]
    health_check: {{interval: 50ms, timeout: 200ms, healthy_threshold: 1, unhealthy_threshold: 1}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: b}}
""") as d:
        done = threading.Event()
        # ok: the request's own bytes came back; closed: the connection ended first (the client
        # knows); corrupt: other bytes came back (never acceptable).
        outcomes = {"ok": 0, "closed": 0, "corrupt": 0}
        lock = threading.Lock()

        def load(seed):
            rng = random.Random(seed)
            while not done.is_set():
                payload = rng.randbytes(64)
                try:
                    s = connect(d.addr("p"))
                    s.sendall(payload)
                    outcome = "ok" if recv_exact(s, len(payload)) == payload else "corrupt"
                    s.close()
                except (OSError, EOFError):
                    outcome = "closed"
                with lock:
                    outcomes[outcome] += 1

        workers = [threading.Thread(target=load, args=(i,), daemon=True) for i in range(4)]
        for w in workers:
            w.start()
        attempts = lambda: d.metric("switchyard_upstream_connect_attempts_total", upstream="b",
                                    endpoint=flappy.address)
        healthy = lambda: d.metric("switchyard_upstream_endpoint_healthy", upstream="b", endpoint=flappy.address)
        try:
            for cycle in range(3):
                flappy.down()
                wait_until(lambda: healthy() == 0, what="the flapping endpoint detected down")
                seen, served = attempts(), outcomes["ok"]
                # The load goes on while it is down (a window: "nothing happens" has no event).
                wait_until(lambda: outcomes["ok"] >= served + 50, what="load served while down")
                assert attempts() == seen, "a new connection went to an endpoint detected down"
                flappy.up()
                wait_until(lambda: healthy() == 1, what="the flapping endpoint back")
                back = attempts()
                wait_until(lambda: attempts() > back, what="new connections reaching it again")
        finally:
            done.set()
            for w in workers:
                w.join(10)
        # Connects to it before its detection failed over to the stable endpoint (retries), so
        # requests were answered with their own bytes. The one way to lose a request here is the
        # backend's own: a connection waiting in its accept queue when it closes its listener is
        # reset by its kernel (a direct client would see the same): at most one per worker (each
        # has one request in flight) per outage.
        assert outcomes["corrupt"] == 0, outcomes
        assert outcomes["closed"] <= 3 * len(workers), outcomes
        assert outcomes["ok"] > 300
        # Each outage was seen, by the checks or by max_fails, whichever came first; each state
        # change was logged once at most.
        assert d.metrics().sum("switchyard_upstream_ejections_total", upstream="b", endpoint=flappy.address) >= 3
        assert d.log().count(f"endpoint {flappy.address} is down") <= 3
    stable.close()
    flappy.down()
