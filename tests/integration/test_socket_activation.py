"""systemd socket activation, through systemd's own systemd-socket-activate: the listeners named
by LISTEN_FDNAMES adopt the passed sockets (the connection that woke the service is served),
the others bind their own, and a passed socket nobody claims is closed with a warning."""
import os
import signal
import socket
import subprocess

from harness import BIN, PLUGIN_DIR, SLOW, connect, free_port, recv_exact, wait_until


def test_socket_activated_listeners_serve_the_connection_that_woke_them():
    base = __import__("tempfile").mkdtemp(prefix="swy-")
    port = free_port()
    stray = free_port()
    unix_path = os.path.join(base, "u.sock")
    cfg = os.path.join(base, "switchyard.yaml")
    with open(cfg, "w") as f:
        f.write(f"""
listeners:
  - {{name: web, listen: 127.0.0.1:{port}, handler: echo}}
  - {{name: local, protocol: unix, listen: {unix_path}, handler: echo}}
  - {{name: own, listen: 127.0.0.1:0, handler: echo}}
""")
    log_path = os.path.join(base, "daemon.log")
    notify_path = os.path.join(base, "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(30 * SLOW)
    env = dict(os.environ, SWITCHYARD_PLUGIN_DIR=PLUGIN_DIR, NOTIFY_SOCKET=notify_path)
    activator = subprocess.Popen(
        ["systemd-socket-activate", "-l", f"127.0.0.1:{port}", "-l", unix_path, "-l", f"127.0.0.1:{stray}",
         "--fdname=web:local:nobody", "-E", "NOTIFY_SOCKET", BIN, "--config", cfg],
        stdout=open(log_path, "w"), stderr=subprocess.STDOUT, env=env)
    log = lambda: open(log_path).read()
    try:
        wait_until(lambda: "Listening on 127.0.0.1:%d" % port in log(), what="systemd-socket-activate to listen")
        # The daemon is not running yet: this connection waits in the passed socket's queue.
        first = connect(f"127.0.0.1:{port}")
        first.sendall(b"woke you")
        assert recv_exact(first, 8) == b"woke you"
        while "READY=1" not in notify.recv(4096).decode().split("\n"):
            pass  # the start-up lines are flushed by READY=1
        text = log()
        assert "socket activation: fd 3 named web" in text
        assert "listener web: took over its socket(s) from systemd" in text
        assert "listener local: took over its socket(s) from systemd" in text
        assert "no listener is named nobody: closing the socket(s) systemd passed for it" in text
        assert "listener own: took over" not in text
        u = socket.socket(socket.AF_UNIX)
        u.settimeout(10 * SLOW)
        u.connect(unix_path)
        u.sendall(b"unix")
        assert recv_exact(u, 4) == b"unix"
        u.close()
        first.close()
        own = [l for l in text.splitlines() if "listener own (tcp) listening on" in l][0]
        own_addr = own.split("listening on ")[1].split(" ")[0]
        with connect(own_addr) as s:
            s.sendall(b"own")
            assert recv_exact(s, 3) == b"own"
    finally:
        notify.close()
        activator.send_signal(signal.SIGTERM)
        assert activator.wait(timeout=30 * SLOW) == 0, log()
    # The socket file belongs to whoever created it (systemd): the daemon leaves it in place.
    assert os.path.exists(unix_path)


def test_a_socket_activated_udp_listener_answers_the_datagram_that_woke_it():
    base = __import__("tempfile").mkdtemp(prefix="swy-")
    port = free_port()
    cfg = os.path.join(base, "switchyard.yaml")
    with open(cfg, "w") as f:
        f.write(f"""
listeners:
  - {{name: dns-in, protocol: udp, listen: 127.0.0.1:{port}, handler: echo}}
""")
    log_path = os.path.join(base, "daemon.log")
    env = dict(os.environ, SWITCHYARD_PLUGIN_DIR=PLUGIN_DIR)
    activator = subprocess.Popen(
        ["systemd-socket-activate", "--datagram", "-l", f"127.0.0.1:{port}", "--fdname=dns-in", BIN, "--config", cfg],
        stdout=open(log_path, "w"), stderr=subprocess.STDOUT, env=env)
    log = lambda: open(log_path).read()
    try:
        wait_until(lambda: "Listening on 127.0.0.1:%d" % port in log(), what="systemd-socket-activate to listen")
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.settimeout(10 * SLOW)
        c.connect(("127.0.0.1", port))
        c.send(b"woke you")  # queued in the passed socket until the daemon reads it
        assert c.recv(100) == b"woke you"
        assert "listener dns-in: took over its socket(s) from systemd" in log()
        c.close()
    finally:
        activator.send_signal(signal.SIGTERM)
        assert activator.wait(timeout=30 * SLOW) == 0, log()
