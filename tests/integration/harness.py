"""Test harness: starts the real switchyard binary on loopback and talks to it.

Readiness comes from the systemd notify protocol (the daemon sends READY=1 to $NOTIFY_SOCKET
once every listener is bound), bound addresses from its start-up summary lines.
"""
import os
import queue
import random
import re
import shutil
import signal as signals
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

BIN = os.environ.get("SWITCHYARD_BIN", os.path.join(os.path.dirname(__file__), "../../build/default/daemon/switchyard"))
PLUGIN_DIR = os.environ.get("SWITCHYARD_PLUGIN_DIR", "")
BUILD_DIR = os.environ.get("SWITCHYARD_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build/default"))
SANITIZED = os.environ.get("SWITCHYARD_SANITIZED") == "1"
# Sanitizer builds run several times slower: stretch waits, shrink loads.
SLOW = 4.0 if SANITIZED else 1.0

LISTEN_RE = re.compile(r"listener (\S+) \((tcp|unix|udp)\) listening on (\S+) ->")
METRICS_RE = re.compile(r"metrics: serving http://(\S+?)(/\S*)$")
RELOAD_LISTENER_RE = re.compile(r"reload: listener (\S+) on (\S+)$")


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Polls a condition that has no event to wait on (a metric value, a file)."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def parse_addr(text):
    if text.startswith("unix:"):
        return socket.AF_UNIX, text[5:]
    host, port = text.rsplit(":", 1)
    if host.startswith("["):
        return socket.AF_INET6, (host[1:-1], int(port))
    return socket.AF_INET, (host, int(port))


def connect(addr_text, timeout=10.0, source_ip=None, kind=socket.SOCK_STREAM):
    family, addr = parse_addr(addr_text)
    s = socket.socket(family, kind)
    s.settimeout(timeout * SLOW)
    if source_ip:
        s.bind((source_ip, 0))
    s.connect(addr)
    return s


def recv_exact(sock, n):
    chunks = []
    while n > 0:
        b = sock.recv(min(n, 1 << 20))
        if not b:
            raise EOFError(f"connection closed with {n} bytes still expected")
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def recv_all(sock):
    chunks = []
    while True:
        b = sock.recv(1 << 16)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_metrics(text):
    """Prometheus text -> {(name, frozenset(labels.items())): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$', line)
        if not m:
            continue
        labels = {}
        if m.group(3):
            for lm in re.finditer(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3)):
                labels[lm.group(1)] = lm.group(2)
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return out


class Metrics:
    def __init__(self, text):
        self.text = text
        self.samples = parse_metrics(text)

    def get(self, name, default=None, **labels):
        return self.samples.get((name, frozenset(labels.items())), default)

    def sum(self, name, **labels):
        total = 0.0
        for (n, ls), v in self.samples.items():
            if n == name and all((k, val) in ls for k, val in labels.items()):
                total += v
        return total

    def series(self, name):
        return {dict(ls).get("loop", dict(ls).get("endpoint", "")): v
                for (n, ls), v in self.samples.items() if n == name}


class Daemon:
    """One switchyard process with a config written from a YAML string."""

    def __init__(self, yaml_text, name="switchyard", extra_args=(), expect_ready=True, env=None, config_path=None,
                 binary=None, command_prefix=(), shared_with_other_users=False):
        """command_prefix: run the daemon through it (setpriv ...). shared_with_other_users: the
        config, its directory and the notify socket are readable (and writable, for the socket)
        by every user, for a daemon that drops root (`user:`) and then reloads and notifies."""
        # pytest's temporary tree is root's alone (0700 on the way down): a daemon that drops root
        # gets a directory of its own under /tmp, removed when it stops.
        self.shared_dir = shared_with_other_users
        self.dir = tempfile.mkdtemp(prefix="swy-", dir="/tmp" if shared_with_other_users else None)
        if config_path:  # the caller has laid the file out (a symlink into a ConfigMap-like tree)
            self.config = config_path
        else:
            self.config = os.path.join(self.dir, f"{name}.yaml")
            with open(self.config, "w") as f:
                f.write(yaml_text)
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.notify_path = os.path.join(self.dir, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        if shared_with_other_users:
            os.chmod(self.dir, 0o755)
            os.chmod(self.config, 0o644)
            os.chmod(self.notify_path, 0o666)
        e = dict(os.environ)
        e["NOTIFY_SOCKET"] = self.notify_path
        if PLUGIN_DIR:
            e.setdefault("SWITCHYARD_PLUGIN_DIR", PLUGIN_DIR)
        if env:
            e.update(env)
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen([*command_prefix, binary or BIN, "--config", self.config, *extra_args],
                                     stdout=self.log_file,
                                     stderr=subprocess.STDOUT, env=e)
        self.addresses = {}
        self.metrics_url = None
        # Read all the time, as systemd does: the daemon's sd_notify blocks once the socket's
        # queue is full (a STATUS line a second and a pair per reload add up).
        self.notifications = []
        self.notified = threading.Condition()
        self.notify_reader = threading.Thread(target=self._read_notify, daemon=True)
        self.notify_reader.start()
        self.clients = []
        if expect_ready:
            self.wait_ready()

    @staticmethod
    def scratch_dir():
        """A fresh directory under the test run's temporary tree."""
        return tempfile.mkdtemp(prefix="swy-")

    def _read_notify(self):
        while True:
            try:
                data = self.notify.recv(4096)
            except OSError:
                return
            if not data:
                return  # shut down by stop(), queue drained
            msg = data.decode()
            with self.notified:
                self.notifications.append(msg)
                self.notified.notify_all()

    def wait_ready(self):
        try:
            self.read_notifications(lambda n: any("READY=1" in m.split("\n") for m in n))
        except AssertionError:
            raise AssertionError("daemon never sent READY=1:\n" + self.log())
        for line in self.log().splitlines():
            m = LISTEN_RE.search(line)
            if m:
                self.addresses[m.group(1)] = m.group(3)
            m = METRICS_RE.search(line)
            if m:
                self.metrics_url = "http://" + m.group(1) + m.group(2)

    def reload(self, yaml_text=None, expect="applied", timeout=30):
        """Rewrites the config (when given), sends SIGHUP and waits for the daemon's verdict
        ("reload applied" or "reload refused"); returns the log written since. On success the
        listener addresses are re-read from the reload's lines."""
        if yaml_text is not None:
            # Written beside and renamed over, as an editor or ConfigMap update does.
            tmp = self.config + ".new"
            with open(tmp, "w") as f:
                f.write(yaml_text)
            os.replace(tmp, self.config)
        start = len(self.log())
        self.proc.send_signal(signals.SIGHUP)
        return self.wait_reload(start, expect, timeout)

    def wait_reload(self, start, expect="applied", timeout=30):
        """Waits for the next reload verdict logged after byte `start` of the log."""
        def verdict():
            text = self.log()[start:]
            return text if ("reload applied" in text or "reload refused" in text) else None
        text = wait_until(verdict, timeout=timeout, what="a reload verdict in the log")
        assert f"reload {expect}" in text, text
        if expect == "applied":
            self.addresses = {}
            for line in text.splitlines():
                m = RELOAD_LISTENER_RE.search(line)
                if m:
                    self.addresses[m.group(1)] = m.group(2)
        return text

    def read_notifications(self, until, timeout=30):
        """Waits until until(list of every notify message so far) is true; returns the list."""
        with self.notified:
            if not self.notified.wait_for(lambda: until(self.notifications), timeout=timeout * SLOW):
                raise AssertionError("notifications so far: %r" % self.notifications)
            return list(self.notifications)

    def addr(self, listener):
        return self.addresses[listener]

    def client(self, listener, **kw):
        """A connected client socket, closed before the daemon is stopped on exit."""
        s = connect(self.addr(listener), **kw)
        self.clients.append(s)
        return s

    def log(self):
        self.log_file.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def metrics(self):
        with urllib.request.urlopen(self.metrics_url, timeout=10) as r:
            return Metrics(r.read().decode())

    def admin_get(self, path, headers=None):
        """GET `path` on the admin endpoint: (status, headers, body bytes), without raising on
        4xx/5xx and without urllib's transparent handling of encodings."""
        base = self.metrics_url.split("/", 3)
        req = urllib.request.Request("/".join(base[:3]) + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def metric(self, name, **labels):
        return self.metrics().get(name, 0.0, **labels)

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signals.SIGTERM, timeout=30):
        if self.log_file.closed:
            return self.proc.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("daemon did not stop:\n" + self.log())
        # Everything the daemon sent is queued by now. After shutdown the reader still gets the
        # queued messages, then an empty read, and returns.
        self.notify.shutdown(socket.SHUT_RD)
        self.notify_reader.join(timeout=5)
        self.notify.close()
        self.log_file.close()
        if self.shared_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        for c in self.clients:
            c.close()
        code = self.stop()
        # A clean stop exits 0; a sanitizer report (leak, use-after-free) makes it non-zero.
        if exc_type is None and code != 0:
            raise AssertionError(f"daemon exited with {code}:\n" + self.log()[-4000:])


class NotifyReader:
    """$NOTIFY_SOCKET read all the time, as systemd reads it: the daemon's sd_notify blocks once
    the socket's queue is full (it sends STATUS= every second)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                self.messages.put(self.sock.recv(4096).decode().split("\n"))
            except OSError:
                return

    def wait_for(self, state, timeout=30):
        """Waits for a message that holds `state` (e.g. READY=1) and returns it."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            try:
                message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {state} on the notify socket") from None
            if state in message:
                return message

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the reader thread's recv
        self.sock.close()


class InstalledTree:
    """`cmake --install` of the build tree into a DESTDIR, with the prefix the build was
    configured for (the one compiled into the daemon and written into its units)."""

    def __init__(self, destdir, build_dir=None):
        build_dir = build_dir or os.environ.get(
            "SWITCHYARD_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build/default"))
        self.destdir = str(destdir)
        self.prefix = self.cache_value(build_dir, "CMAKE_INSTALL_PREFIX")
        self.libdir = self.cache_value(build_dir, "CMAKE_INSTALL_LIBDIR")
        r = subprocess.run(["cmake", "--install", build_dir], env=dict(os.environ, DESTDIR=self.destdir),
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        self.install_log = r.stdout

    @staticmethod
    def cache_value(build_dir, key):
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return line.split("=", 1)[1].strip()
        raise AssertionError(f"{key} not in {build_dir}/CMakeCache.txt")

    def path(self, absolute):
        """Where an absolute path of the installed system lies inside the DESTDIR."""
        return self.destdir + absolute

    def under_prefix(self, relative):
        return self.path(os.path.join(self.prefix, relative))

    def unit_setting(self, key):
        """Values of `key=` in the installed switchyard.service, in order."""
        with open(self.under_prefix("lib/systemd/system/switchyard.service")) as f:
            return [line.split("=", 1)[1].strip() for line in f if line.startswith(key + "=")]

    def config_file(self):
        """The config file the unit runs, as the unit names it (an installed path)."""
        (env,) = self.unit_setting("Environment")
        name, path = env.split("=", 1)
        assert name == "SWITCHYARD_CONFIG"
        return path

    def config_with(self, moves):
        """The installed config's text with addresses moved ({old: new}), each of which must be
        set exactly once (as a `listen:` value or an endpoint list item)."""
        with open(self.path(self.config_file())) as f:
            text = f.read()
        for old, new in moves.items():
            text, n = re.subn(rf"(?m)^(\s*(?:listen: |- )){re.escape(old)}(?=\s|$)", rf"\g<1>{new}", text)
            assert n == 1, f"expected one setting of {old} in the installed config"
        return text

    def env(self):
        """The environment for the installed daemon: its plugins from the DESTDIR (the compiled-in
        plugin directory is the real prefix's), never the build tree's."""
        e = dict(os.environ)
        e["SWITCHYARD_PLUGIN_DIR"] = self.under_prefix(self.libdir + "/switchyard/plugins")
        return e


class EchoBackend:
    """A threaded TCP or unix echo server in this process (a real socket peer)."""

    def __init__(self, unix_path=None, half_close_reply=None):
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(unix_path)
            self.address = "unix:" + unix_path
        else:
            self.sock = socket.socket()
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", 0))
            self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.sock.listen(1024)
        self.half_close_reply = half_close_reply
        self.connections = 0
        self.closed = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(c,), daemon=True).start()

    def _handle(self, c):
        try:
            received = []
            while True:
                b = c.recv(65536)
                if not b:
                    break
                if self.half_close_reply is None:
                    c.sendall(b)
                else:
                    received.append(b)
            if self.half_close_reply is not None:
                # Reply after the client's FIN: proves the FIN arrived and the way back stays open.
                c.sendall(self.half_close_reply + str(len(b"".join(received))).encode())
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def closed_by_peer(sock, timeout=10.0):
    """True once the peer has closed the connection: an orderly FIN (b"") or a reset (a peer that
    closes with unread bytes, as a refused client's, resets)."""
    sock.settimeout(timeout * SLOW)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


class HAProxy:
    """A real HAProxy (Debian's haproxy) in the foreground with the given configuration
    sections after a `defaults` block; ready once every port in `ports` accepts connections."""

    def __init__(self, sections, ports):
        self.dir = tempfile.mkdtemp(prefix="swy-haproxy-")
        self.config = os.path.join(self.dir, "haproxy.cfg")
        with open(self.config, "w") as f:
            f.write("global\n  log stdout format raw local0\n"
                    "defaults\n  log global\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n"
                    + sections)
        self.log_path = os.path.join(self.dir, "haproxy.log")
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.config], stdout=self.log_file,
                                     stderr=subprocess.STDOUT)

        def accepting(port):
            if self.proc.poll() is not None:
                raise AssertionError("haproxy exited:\n" + self.log())
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        for port in ports:
            wait_until(lambda: accepting(port), what=f"haproxy accepting on {port}")

    def log(self):
        self.log_file.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def yaml_quote(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


class RedisServer:
    """A real redis-server on loopback (TCP port and unix socket); ready when it says READY=1."""

    def __init__(self, port=None):
        """`port`: a port to reuse (a redis that comes back where it was); default a free one."""
        self.dir = tempfile.mkdtemp(prefix="swy-redis-")
        self.port = port or free_port()
        self.unix_path = os.path.join(self.dir, "redis.sock")
        notify_path = os.path.join(self.dir, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(20)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--unixsocket", self.unix_path,
             "--save", "", "--appendonly", "no", "--supervised", "systemd", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            while "READY=1" not in notify.recv(4096).decode():
                pass
        finally:
            notify.close()
        self.address = "127.0.0.1:%d" % self.port

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def redis_command(sock, *args):
    """Sends one RESP command and returns the raw reply line(s)."""
    payload = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        payload += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(payload)
    reply = b""
    while not reply.endswith(b"\r\n") or (reply.startswith(b"$") and reply.count(b"\r\n") < 2 and not reply.startswith(b"$-1")):
        b = sock.recv(65536)
        if not b:
            raise EOFError("redis connection closed")
        reply += b
    return reply


def blackhole():
    """A listener whose accept queue is full, so SYNs to it are dropped and connects to it hang
    (the kernel retries them after a second). Returns (listener, fillers): close both after."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(3):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(listener.getsockname())
        fillers.append(f)
    return listener, fillers


class UdpEchoBackend:
    """A UDP echo server thread in this process: answers each datagram with `prefix` + the
    datagram, from the address it was sent to. silent=True receives and never answers."""

    def __init__(self, host="127.0.0.1", prefix=b"", silent=False, port=0, reply=None):
        """port: where to bind (a backend that comes back where it was); reply: answer every
        datagram with these bytes instead of an echo."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((host, port))
        port = self.sock.getsockname()[1]
        self.address = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
        self.prefix = prefix
        self.silent = silent
        self.reply = reply
        self.received = 0
        self.datagrams = []  # what it received, in order
        self.peers = set()
        self.closed = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.closed:
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                return
            if peer is None:  # shut down by close()
                return
            self.received += 1
            self.datagrams.append(data)
            self.peers.add(peer)
            if not self.silent:
                try:
                    self.sock.sendto(self.reply if self.reply is not None else self.prefix + data, peer)
                except OSError:
                    pass

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def free_udp_port():
    """A UDP port nothing is bound to now (datagrams to it draw ICMP port unreachable), below the
    kernel's ephemeral range: no socket bound to port 0 (a client's, a session's, another
    process's on this shared machine) can take it while the test relies on it being closed."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        ephemeral_low = int(f.read().split()[0])
    for _ in range(100):
        port = random.randrange(10000, max(ephemeral_low, 10001))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free UDP port below the ephemeral range")


def udp_client(addr_text, timeout=5.0, source_ip=None):
    """A UDP socket connected to the listener at addr_text."""
    return connect(addr_text, timeout, source_ip, kind=socket.SOCK_DGRAM)


def nothing_waiting(sock):
    """True when no datagram is queued on the socket (a non-blocking look)."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        sock.recv(65535)
        return False
    except BlockingIOError:
        return True
    finally:
        sock.settimeout(timeout)


class Dnsmasq:
    """A real DNS server on a free loopback port."""

    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["dnsmasq", "--no-daemon", f"--port={self.port}", "--listen-address=127.0.0.1", "--bind-interfaces",
             "--no-resolv", "--no-hosts", "--address=/example.test/10.1.2.3", "--conf-file=/dev/null",
             "--user=" + os.environ.get("USER", "root"), "--pid-file="],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.address = f"127.0.0.1:{self.port}"
        wait_until(self.answers, what="dnsmasq answering")

    def answers(self):
        if self.proc.poll() is not None:
            raise AssertionError("dnsmasq exited: " + self.proc.stderr.read().decode())
        r = subprocess.run(["dig", "@127.0.0.1", "-p", str(self.port), "example.test", "+short", "+time=1", "+tries=1"],
                           capture_output=True, text=True)
        return r.stdout.strip() == "10.1.2.3"

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


needs_dns = pytest.mark.skipif(not shutil.which("dnsmasq") or not shutil.which("dig"),
                               reason="dnsmasq and dig (bind9-dnsutils) are installed by .ci/install-deps")
