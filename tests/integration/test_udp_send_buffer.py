"""A datagram the kernel will not take now (EAGAIN / ENOBUFS on the send) is dropped and counted
(switchyard_udp_datagrams_dropped_total{reason="send_buffer_full"}), never waited for, and the
loop neither blocks nor spins on it (issue 12).

Loopback never pushes back on a UDP send: its skb leaves the socket's send-buffer charge at once.
So the test builds a path that does, out of real kernel parts: two network namespaces of its own
joined by a veth pair, with a slow token bucket (the `tbf` qdisc) on A's end. The qdisc holds
what it cannot send yet, each held skb stays charged to the socket that sent it, and once a
socket's send buffer is full its next non-blocking send fails with EAGAIN. The daemon runs in A
under `ip netns exec`; its clients, backends and metrics scrapes run in A or B from threads that
entered the namespace (setns), so the test's own thread stays where it was. Needs root (else
skipped, as without iproute2's `ip` and `tc`).

    namespace A                                             namespace B
    udp client ──lo──> to_far ──session──> vA ══tbf══> vB ──> far echo (10.x.y.2)
    tcp client ──lo──> stream_to_far (line codec) ──> vA ══tbf══> vB ──> far echo
    near echo <──lo──> from_far <─────────────── vA <── vB <── udp client (10.x.y.2)
                       from_far ──replies──> vA ══tbf══> vB ──> udp client
    udp client ──lo──> other <──lo──> other echo         (unshaped, on the same loop)

Three places send a datagram and can meet a full socket, one scenario each: "upstream" (a udp
session's socket), "stream" (a tcp connection bridged to a udp upstream) and "client" (the
listener socket that replies to clients). Each floods one client through the qdisc and checks
(a) the refused sends are counted, and every datagram is either relayed or counted;
(b) meanwhile `other`, served by the same single loop over A's unshaped loopback, keeps
answering at once, and so does /metrics; (c) once the flood stops, while the qdisc drains, the
daemon uses next to no CPU; (d) once the qdisc has drained, the flooded path carries datagrams.
"""
import concurrent.futures
import ctypes
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time

import pytest

from harness import SLOW, Daemon, UdpEchoBackend, connect, udp_client, wait_until

CLONE_NEWNET = 0x40000000
PAYLOAD = 1000


def wmem_default():
    """The send buffer every socket here gets (the daemon sets none): a global sysctl, read-only
    inside a network namespace."""
    with open("/proc/sys/net/core/wmem_default") as f:
        return int(f.read())


# The qdisc's rate: what one full send buffer holds leaves in ~2 s, so the spin check's 1 s
# window falls inside the drain. A 1000-byte datagram is charged ~2.3 KB (its skb's truesize)
# and is 1042 bytes on the wire: the default 208 KiB hold ~90 of them, ~94 KB, which leave in
# 2.2 s at 340 kbit/s. Scaled with wmem_default, the drain stays ~2 s wherever it is set.
RATE_BITS = wmem_default() * 8 // 5

_libc = ctypes.CDLL(None, use_errno=True)


def _enter_netns(name):
    """Moves the calling thread (only it) into network namespace `name`."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


def _skip_reason():
    if os.geteuid() != 0:
        return "needs root: it creates network namespaces, a veth pair and a tbf qdisc"
    for tool in ("ip", "tc"):
        if not shutil.which(tool):
            return f"needs `{tool}` (iproute2, installed by .ci/install-deps)"
    return None


class NamespacesRefused(Exception):
    pass


class ShapedPath:
    """Namespaces A and B, a veth pair between them (10.x.y.1 in A, .2 in B) with static
    neighbour entries (no ARP that could queue behind the backlog), and a tbf qdisc on A's end.
    in_a/in_b run a callable on a thread inside that namespace; sockets made there stay there."""

    def __init__(self):
        tag = secrets.token_hex(3)
        self.a, self.b = f"swy-{tag}-a", f"swy-{tag}-b"
        self.dev_a, self.dev_b = f"v{tag}a", f"v{tag}b"
        net = f"10.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
        self.ip_a, self.ip_b = f"{net}.1", f"{net}.2"
        mac_a, mac_b = "02:53:59:00:00:01", "02:53:59:00:00:02"
        self.created = []
        self.workers = []
        try:
            for ns in (self.a, self.b):
                try:
                    self._ip("netns", "add", ns)
                except AssertionError as e:
                    raise NamespacesRefused(str(e)) from None
                self.created.append(ns)
            self._ip("link", "add", self.dev_a, "address", mac_a, "netns", self.a, "type", "veth",
                     "peer", "name", self.dev_b, "address", mac_b, "netns", self.b)
            for ns, dev, ip, peer_ip, peer_mac in ((self.a, self.dev_a, self.ip_a, self.ip_b, mac_b),
                                                    (self.b, self.dev_b, self.ip_b, self.ip_a, mac_a)):
                self._ip("-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
                self._ip("-n", ns, "link", "set", "lo", "up")
                self._ip("-n", ns, "link", "set", dev, "up")
                self._ip("-n", ns, "neigh", "replace", peer_ip, "lladdr", peer_mac, "dev", dev, "nud", "permanent")
            # limit: far more than any socket's send buffer, so the qdisc holds every skb (each
            # charged to its socket) rather than dropping it where no sender hears of it.
            self._run("tc", "-n", self.a, "qdisc", "add", "dev", self.dev_a, "root", "tbf", "rate", f"{RATE_BITS}bit",
                      "burst", "1600", "limit", str(max(4 << 20, 8 * wmem_default())))
            self.in_a = self._worker(self.a)
            self.in_b = self._worker(self.b)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _run(*args):
        r = subprocess.run(args, capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise AssertionError(f"{' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def _ip(self, *args):
        return self._run("ip", *args)

    def _worker(self, ns):
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, initializer=_enter_netns, initargs=(ns,),
                                                     thread_name_prefix=ns)
        self.workers.append(pool)

        def run(fn, *args, **kw):
            return pool.submit(fn, *args, **kw).result(timeout=60)
        return run

    def backlog(self):
        """Bytes the qdisc holds now."""
        (qdisc,) = json.loads(self._run("tc", "-n", self.a, "-j", "-s", "qdisc", "show", "dev", self.dev_a))
        return qdisc["backlog"]

    def command_prefix(self):
        return ("ip", "netns", "exec", self.a)

    def close(self):
        for pool in self.workers:
            pool.shutdown(wait=True)
        for ns in self.created:  # deleting A also deletes the veth pair
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


@pytest.fixture
def shaped():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    try:
        path = ShapedPath()
    except NamespacesRefused as e:  # root without CAP_SYS_ADMIN, as in an unprivileged container
        pytest.skip(f"cannot create network namespaces here: {e}")
    try:
        yield path
    finally:
        path.close()


def cpu_seconds(pid):
    """utime + stime of a process, from /proc/PID/stat (fields 14 and 15, in clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DatagramClient:
    """A client of a udp listener: one socket, so one client address and one session."""

    def __init__(self, sock):
        self.sock = sock

    def send_nowait(self, payload):
        try:
            self.sock.send(payload, socket.MSG_DONTWAIT)
            return True
        except (BlockingIOError, ConnectionRefusedError):
            return False

    def exchange(self, marker, timeout):
        """Sends `marker` and reads until its echo comes back (flood echoes queued before it are
        skipped). Returns the seconds it took."""
        start = time.monotonic()
        self.sock.send(marker)
        deadline = start + timeout * SLOW
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                if self.sock.recv(65535) == marker:
                    return time.monotonic() - start
            except socket.timeout:
                raise AssertionError(f"no echo of {marker!r} within {timeout * SLOW:.1f} s") from None

    def close(self):
        self.sock.close()


class LineClient:
    """A client of a tcp listener with the line codec in front of a udp upstream: each line it
    sends leaves as one datagram, each datagram that comes back arrives as one line."""

    def __init__(self, sock):
        self.sock = sock
        self.received = b""

    def send_nowait(self, payload):
        self.sock.sendall(payload + b"\n")  # the daemon reads its stream whatever the datagrams do
        return True

    def exchange(self, marker, timeout):
        start = time.monotonic()
        self.sock.sendall(marker + b"\n")
        deadline = start + timeout * SLOW
        while b"\n" + marker + b"\n" not in b"\n" + self.received:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise AssertionError(f"no echo of {marker!r} within {timeout * SLOW:.1f} s") from None
            assert chunk, "connection closed"
            # Keep from the last line start on: a marker may arrive split over two reads.
            self.received = self.received[self.received.rfind(b"\n") + 1:] + chunk
        self.received = b""
        self.sock.settimeout(10 * SLOW)  # for the flood's sendall: a daemon that stops reading fails it
        return time.monotonic() - start

    def close(self):
        self.sock.close()


class Flood:
    """Sends PAYLOAD-byte datagrams (or lines) from one client as fast as bursts with a short
    pause allow, until stopped (at most 30 s)."""

    def __init__(self, client):
        self.client = client
        self.sent = 0
        self.error = None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        payload = b"f" * PAYLOAD
        deadline = time.monotonic() + 30
        try:
            while not self.stopped.is_set() and time.monotonic() < deadline:
                for _ in range(16):
                    self.sent += self.client.send_nowait(payload)
                # Pacing, not synchronisation: ~5,000 datagrams/s is over a hundred times what
                # the qdisc lets through, without taking a whole core of a shared CI machine.
                time.sleep(0.002)
        except OSError as e:  # a line client whose stream the daemon stopped reading
            self.error = e

    def stop(self):
        self.stopped.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()
        assert self.error is None, f"flood: {self.error}"


def config(path, far, near, other):
    # One loop: the flooded session and the `other` listener share it, so a loop that blocks
    # (or is kept busy) on a full socket shows as an unanswered `other`.
    return f"""
loops: 1
tick: 100ms
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: far, endpoints: ["{far}"]}}
  - {{name: far_bridged, protocol: udp, endpoints: ["{far}"]}}
  - {{name: near, endpoints: ["{near}"]}}
  - {{name: other, endpoints: ["{other}"]}}
listeners:
  - {{name: to_far, protocol: udp, listen: "127.0.0.1:0", upstream: far}}
  - {{name: stream_to_far, listen: "127.0.0.1:0", upstream: far_bridged, codec: {{plugin: line}}}}
  - {{name: from_far, protocol: udp, listen: "{path.ip_a}:0", upstream: near}}
  - {{name: other, protocol: udp, listen: "127.0.0.1:0", upstream: other}}
"""


# Which listener the flood goes through, and the counters that must add up for it:
# (series of datagrams in, labels), (series of datagrams relayed, labels).
SIDES = {
    # A udp client's session sends to the far endpoint through the qdisc.
    "upstream": ("to_far",
                 ("switchyard_udp_datagrams_received_total", {"listener": "to_far"}),
                 ("switchyard_upstream_datagrams_sent_total", {"upstream": "far", "endpoint": "FAR"})),
    # A tcp client's lines leave as datagrams to the far endpoint through the qdisc.
    "stream": ("stream_to_far",
               ("switchyard_listener_frames_received_total", {"listener": "stream_to_far"}),
               ("switchyard_upstream_datagrams_sent_total", {"upstream": "far_bridged", "endpoint": "FAR"})),
    # The near endpoint's replies go back to a client in B through the qdisc.
    "client": ("from_far",
               ("switchyard_upstream_datagrams_received_total", {"upstream": "near", "endpoint": "NEAR"}),
               ("switchyard_udp_datagrams_sent_total", {"listener": "from_far"})),
}


@pytest.mark.parametrize("side", list(SIDES))
def test_a_full_send_buffer_drops_and_counts_without_blocking_or_spinning_the_loop(shaped, side):
    far = shaped.in_b(UdpEchoBackend, shaped.ip_b)
    near = shaped.in_a(UdpEchoBackend, "127.0.0.1")
    other = shaped.in_a(UdpEchoBackend, "127.0.0.1")
    flooded, came_series, went_series = SIDES[side]
    endpoints = {"FAR": far.address, "NEAR": near.address}
    try:
        with Daemon(config(shaped, far.address, near.address, other.address),
                    command_prefix=shaped.command_prefix()) as d:
            def metrics():
                return shaped.in_a(d.metrics)

            def dropped():
                return metrics().get("switchyard_udp_datagrams_dropped_total", 0.0, listener=flooded,
                                     reason="send_buffer_full")

            if side == "upstream":
                client = DatagramClient(shaped.in_a(udp_client, d.addr("to_far")))
            elif side == "stream":
                client = LineClient(shaped.in_a(connect, d.addr("stream_to_far")))
            else:
                client = DatagramClient(shaped.in_b(udp_client, d.addr("from_far")))
            bystander = DatagramClient(shaped.in_a(udp_client, d.addr("other")))
            # Both paths work before the flood (and the sessions are open).
            client.exchange(b"hello", timeout=5)
            bystander.exchange(b"hello", timeout=5)
            assert dropped() == 0

            flood = Flood(client)
            try:
                # (a) the refused sends are counted as they happen.
                wait_until(lambda: dropped() > 0, timeout=10, what="send_buffer_full drops counted")
                # (b) not blocked: while sends keep being refused, the same loop answers another
                # listener's client at once, again and again, and the admin endpoint answers.
                before = dropped()
                latencies = []
                for i in range(10):
                    latencies.append(bystander.exchange(b"other%d" % i, timeout=1))
                    time.sleep(0.05)  # pacing: the exchanges spread over the flood
                assert dropped() > before, "sends should still be refused during the exchanges"
            finally:
                flood.stop()
            assert shaped.backlog() > 0, "the qdisc should still hold the flood's last datagrams"

            # (c) no spin: with the flood over and the qdisc still draining (the socket full,
            # then with room again), the daemon sleeps.
            cpu_before = cpu_seconds(d.proc.pid)
            window_start = time.monotonic()
            time.sleep(1.0)  # the measurement window itself
            cpu_used = cpu_seconds(d.proc.pid) - cpu_before
            window = time.monotonic() - window_start
            still_held = shaped.backlog()
            assert cpu_used < 0.2 * window, f"daemon used {cpu_used:.2f} s of CPU in {window:.2f} s, idle"

            # (d) once the qdisc has drained, the flooded path carries datagrams again.
            wait_until(lambda: shaped.backlog() == 0, timeout=15, interval=0.1, what="the qdisc drained")
            client.exchange(b"after the drain", timeout=5)

            # Every datagram is accounted for: relayed, or dropped as send_buffer_full; no
            # other drops anywhere.
            def value(m, series):
                name, labels = series
                return m.get(name, 0.0, **{k: endpoints.get(v, v) for k, v in labels.items()})

            def accounted():
                m = metrics()
                came, went = value(m, came_series), value(m, went_series)
                drops = m.get("switchyard_udp_datagrams_dropped_total", 0.0, listener=flooded,
                              reason="send_buffer_full")
                return (m, came, went, drops) if came == went + drops else None
            m, came, went, drops = wait_until(accounted, what="datagrams in == relayed + dropped")
            other_drops = {tuple(sorted(dict(ls).items())): v for (n, ls), v in m.samples.items()
                           if n == "switchyard_udp_datagrams_dropped_total" and v
                           and dict(ls) != {"listener": flooded, "reason": "send_buffer_full"}}
            assert other_drops == {}
            print(f"{side}: flood sent {flood.sent}; {came:.0f} in, {went:.0f} relayed, {drops:.0f} dropped; "
                  f"other answered within {max(latencies) * 1000:.1f} ms; daemon CPU {cpu_used:.3f} s in "
                  f"{window:.2f} s with {still_held} bytes still queued")
            client.close()
            bystander.close()
    finally:
        for backend in (far, near, other):
            backend.close()
