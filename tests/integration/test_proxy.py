"""Raw byte proxying over TCP and unix sockets, to real backends."""
import os
import re
import socket
import subprocess
import tempfile

import pytest

from harness import (Daemon, EchoBackend, RedisServer, connect, free_port, recv_all, recv_exact, redis_command,
                     wait_until)


@pytest.fixture(scope="module")
def redis():
    r = RedisServer()
    yield r
    r.close()


def test_echo_handler_tcp_and_ipv6():
    with Daemon("""
listeners:
  - {name: e4, listen: 127.0.0.1:0, handler: echo}
  - {name: e6, listen: "[::1]:0", handler: echo}
""") as d:
        for name in ("e4", "e6"):
            s = connect(d.addr(name))
            for i in range(50):
                msg = os.urandom(1 + i * 97)
                s.sendall(msg)
                assert recv_exact(s, len(msg)) == msg
            s.close()


def test_echo_handler_on_unix_listener_with_mode():
    path = os.path.join(tempfile.mkdtemp(), "echo.sock")
    with Daemon(f"""
listeners:
  - {{name: e, protocol: unix, listen: {path}, mode: "0600", handler: echo}}
""") as d:
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        s = d.client("e")
        s.sendall(b"hello unix\n")
        assert recv_exact(s, 11) == b"hello unix\n"
        s.close()
        d.stop()
    assert not os.path.exists(path), "socket file left behind after stop"


def test_unix_listener_defaults_to_owner_and_group_only_and_warns_when_world_writable():
    base = tempfile.mkdtemp()
    private, open_to_all = os.path.join(base, "private.sock"), os.path.join(base, "open.sock")
    with Daemon(f"""
listeners:
  - {{name: private, protocol: unix, listen: {private}, handler: echo}}
  - {{name: open, protocol: unix, listen: {open_to_all}, mode: "0666", handler: echo}}
""") as d:
        assert oct(os.stat(private).st_mode & 0o777) == "0o660"
        assert oct(os.stat(open_to_all).st_mode & 0o777) == "0o666"
        warnings = [l for l in d.log().splitlines() if "world-writable" in l]
        assert len(warnings) == 1
        assert " warning " in warnings[0]
        assert f"listener open: unix socket {open_to_all} is world-writable (mode 0666)" in warnings[0]
        for name in ("private", "open"):
            s = d.client(name)
            s.sendall(b"ok")
            assert recv_exact(s, 2) == b"ok"


def test_stale_unix_socket_file_is_replaced():
    path = os.path.join(tempfile.mkdtemp(), "stale.sock")
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(path)
    dead.close()  # the file stays, nobody listens: a crashed predecessor
    assert os.path.exists(path)
    with Daemon(f"""
listeners:
  - {{name: e, protocol: unix, listen: {path}, handler: echo}}
""") as d:
        with connect(d.addr("e")) as s:
            s.sendall(b"x")
            assert recv_exact(s, 1) == b"x"
        assert "removed stale socket file" in d.log()


def test_live_unix_socket_is_not_stolen():
    path = os.path.join(tempfile.mkdtemp(), "live.sock")
    live = socket.socket(socket.AF_UNIX)
    live.bind(path)
    live.listen()
    d = Daemon(f"""
listeners:
  - {{name: e, protocol: unix, listen: {path}, handler: echo}}
""", expect_ready=False)
    assert d.proc.wait(timeout=20) != 0
    assert "Address already in use" in d.log()
    live.close()


@pytest.mark.parametrize("loop_wait", ["yield", "block"])
def test_tcp_to_redis_over_tcp(redis, loop_wait):
    with Daemon(f"""
loops: 2
loop_wait: {loop_wait}
upstreams:
  - {{name: redis, endpoints: [{redis.address}]}}
listeners:
  - {{name: r, listen: 127.0.0.1:0, upstream: redis}}
""") as d:
        s = d.client("r")
        assert redis_command(s, "PING") == b"+PONG\r\n"
        value = os.urandom(100000).hex()
        assert redis_command(s, "SET", "k1", value) == b"+OK\r\n"
        reply = redis_command(s, "GET", "k1")
        assert reply == b"$%d\r\n%s\r\n" % (len(value), value.encode())
        assert f"2 loop(s), loop_wait {loop_wait}," in d.log()


def test_tcp_listener_to_unix_upstream(redis):
    with Daemon(f"""
upstreams:
  - {{name: redis, endpoints: ["unix:{redis.unix_path}"]}}
listeners:
  - {{name: r, listen: 127.0.0.1:0, upstream: redis}}
""") as d:
        s = d.client("r")
        assert redis_command(s, "SET", "k2", "via-unix") == b"+OK\r\n"
        assert redis_command(s, "GET", "k2") == b"$8\r\nvia-unix\r\n"


def test_unix_listener_to_tcp_upstream(redis):
    path = os.path.join(tempfile.mkdtemp(), "in.sock")
    with Daemon(f"""
upstreams:
  - {{name: redis, endpoints: [{redis.address}]}}
listeners:
  - {{name: r, protocol: unix, listen: {path}, upstream: redis}}
""") as d:
        s = d.client("r")
        assert redis_command(s, "PING") == b"+PONG\r\n"


def test_unix_to_unix_with_socat_backend():
    tmp = tempfile.mkdtemp()
    backend_path = os.path.join(tmp, "backend.sock")
    backend = EchoBackend(unix_path=backend_path)
    path = os.path.join(tmp, "front.sock")
    with Daemon(f"""
upstreams:
  - {{name: b, endpoints: ["unix:{backend_path}"]}}
listeners:
  - {{name: u, protocol: unix, listen: {path}, upstream: b}}
""") as d:
        s = d.client("u")
        blob = os.urandom(3 * 1024 * 1024)
        import threading
        t = threading.Thread(target=s.sendall, args=(blob,))
        t.start()
        assert recv_exact(s, len(blob)) == blob
        t.join()
    backend.close()


def test_half_close_propagates_both_ways():
    backend = EchoBackend(half_close_reply=b"got-eof:")
    with Daemon(f"""
upstreams:
  - {{name: b, endpoints: [{backend.address}]}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: b}}
""") as d:
        s = d.client("p")
        s.sendall(b"x" * 12345)
        s.shutdown(socket.SHUT_WR)  # client FIN -> backend must see EOF, reply still flows back
        data = recv_all(s)  # ends with the backend's FIN, propagated to us
        assert data == b"got-eof:12345"
    backend.close()


def test_socat_client_through_proxy_to_echo():
    import subprocess
    with Daemon("""
upstreams:
  - {name: echo, endpoints: [127.0.0.1:1]}   # replaced below
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
""") as echo:
        with Daemon(f"""
upstreams:
  - {{name: echo, endpoints: [{echo.addr("e")}]}}
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: echo}}
""") as d:
            r = subprocess.run(["socat", "-t", "5", "-", "TCP:" + d.addr("p")], input=b"line one\nline two\n",
                               capture_output=True, timeout=30)
            assert r.stdout == b"line one\nline two\n"


def test_the_bundled_default_config_does_what_its_comments_say():
    """config/examples/switchyard.yaml, as the README's first command runs it, on free ports:
    every `printf ... | socat ...` line of its header gets its text back, and the metrics show
    frames on the codec listeners and ticks on the loops."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../..")
    with open(os.path.join(root, "config/examples/switchyard.yaml")) as f:
        text = f.read()
    for port in sorted(set(re.findall(r"127\.0\.0\.1:(70\d\d)\b", text))):
        text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}")
    text = text.replace("127.0.0.1:9464", "127.0.0.1:0")
    commands = re.findall(r"^#\s+(printf '([^']*)' \| socat - TCP:\S+)", text, re.M)
    assert len(commands) == 3
    with Daemon(text) as d:
        for command, sent in commands:
            r = subprocess.run(["bash", "-c", command.replace("socat -", "socat -t 5 -")], capture_output=True,
                               timeout=30)
            assert r.returncode == 0, r.stderr
            assert r.stdout == sent.encode().decode("unicode_escape").encode(), command
        m = d.metrics()
        # "hello\nworld\n": two lines in, two length-prefixed frames to the framed echo and back.
        assert m.get("switchyard_listener_frames_received_total", listener="lines") == 2
        assert m.get("switchyard_listener_frames_received_total", listener="framed-echo") == 2
        assert m.get("switchyard_listener_frames_sent_total", listener="lines") == 2
        wait_until(lambda: d.metrics().sum("switchyard_loop_ticks_total") >= 1, what="a loop tick")
