"""Binary upgrade (SIGUSR2, as nginx's USR2 and HAProxy's -x): the binary on disk is replaced, the
running process starts it with its listening sockets, the new one takes over and the old one
drains. Under steady load and a stream of new connections, nothing fails."""
import ctypes
import os
import shutil
import signal
import socket
import threading

from harness import BIN, Daemon, SLOW, connect, recv_exact, wait_until
from test_reload import EchoServer, echoes, load_result, start_load

PR_SET_CHILD_SUBREAPER = 36


def test_binary_upgrade_under_load_drops_no_connection():
    # The new process is the old one's child; once the old exits it is re-parented to us, so we
    # can wait for its exit status.
    assert ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    backend = EchoServer()
    base = Daemon.scratch_dir()
    binary = os.path.join(base, "switchyard")
    shutil.copy(BIN, binary)
    unix_path = os.path.join(base, "u.sock")
    d = Daemon(f"""
loops: 2
tick: 100ms
shutdown_timeout: 30s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: b, endpoints: [{backend.address}]}}
listeners:
  - {{name: raw, listen: 127.0.0.1:0, upstream: b, reuse_port: true}}
  - {{name: framed, listen: 127.0.0.1:0, upstream: b, codec: {{plugin: line}}}}
  - {{name: local, protocol: unix, listen: {unix_path}, handler: echo}}
  - {{name: dgram, protocol: udp, listen: 127.0.0.1:0, handler: echo}}
""", binary=binary)
    new_pid = None
    try:
        raw, framed = d.addr("raw"), d.addr("framed")
        seconds = 6 * SLOW
        raw_load = start_load(raw, "--connections", "20", seconds=seconds)
        framed_load = start_load(framed, "--connections", "10", "--framing", "line", "--pipeline", "4", seconds=seconds)
        churn = {"ok": 0, "failed": []}
        stop = threading.Event()

        def churner():
            while not stop.is_set():
                try:
                    assert echoes(raw, b"z" * 64)
                    churn["ok"] += 1
                except (OSError, AssertionError) as e:
                    churn["failed"].append(repr(e))
        t = threading.Thread(target=churner, daemon=True)
        t.start()
        wait_until(lambda: churn["ok"] > 50, what="churn running")

        # A package upgrade replaces the file by rename; then the operator sends SIGUSR2.
        tmp = binary + ".new"
        shutil.copy(BIN, tmp)
        os.replace(tmp, binary)
        before = len(d.notifications)
        d.signal(signal.SIGUSR2)
        msgs = d.read_notifications(lambda n: any("MAINPID=" in m for m in n[before:]))[before:]
        new_pid = int([m for m in msgs if "MAINPID=" in m][0].split("MAINPID=")[1].split()[0])
        assert new_pid != d.proc.pid
        d.read_notifications(lambda n: any("READY=1" in m for m in n[before:]))
        # "draining N open connection(s)" comes after the old process closed its copies of the
        # listening sockets (the admin port among them); until then both processes accept.
        wait_until(lambda: "binary upgrade: draining" in d.log(), what="the old process to let go")
        # The new process runs the new file; the old one the file it started from (now replaced).
        assert not os.readlink(f"/proc/{new_pid}/exe").endswith("(deleted)")
        assert os.readlink(f"/proc/{d.proc.pid}/exe").endswith("(deleted)")
        # The same sockets, now the new process's: every listener, the unix file, the admin port.
        assert echoes(raw, b"after") and echoes(framed, b"line\n")
        u = socket.socket(socket.AF_UNIX)
        u.settimeout(10)
        u.connect(unix_path)
        u.sendall(b"unix")
        assert recv_exact(u, 4) == b"unix"
        u.close()
        status, _, body = d.admin_get("/healthz")
        assert status == 200 and body.startswith(b"serving"), body
        # The udp socket was passed on too: a new client is answered (by the new process).
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(10)
        host, port = d.addr("dgram").rsplit(":", 1)
        u.connect((host, int(port)))
        u.send(b"datagram")
        assert u.recv(100) == b"datagram"
        u.close()

        raw_result, framed_result = load_result(raw_load), load_result(framed_load)
        stop.set()
        t.join(timeout=30)
        for r in (raw_result, framed_result):
            assert r["errors"] == 0 and r["mismatches"] == 0 and r["connect_errors"] == 0, r
        assert churn["failed"] == [], churn["failed"][:5]
        # The old process drained its connections (the load's) and left with 0.
        assert d.proc.wait(timeout=30 * SLOW) == 0
        assert "took over from the previous process" in d.log()
        m = d.metrics()  # served by the new process now
        assert m.get("switchyard_listener_connections_total", listener="raw") > 0
    finally:
        d.stop()
        if new_pid:
            os.kill(new_pid, signal.SIGTERM)
            _, status = os.waitpid(new_pid, 0)
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        backend.close()
