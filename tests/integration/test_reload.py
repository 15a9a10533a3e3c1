"""Reload (SIGHUP, watch_config) without dropping anything: steady load across 20 reloads, a
broken file that changes nothing, a codec plugin replaced on disk, and the systemd notifications
around it all."""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from harness import BUILD_DIR, Daemon, SLOW, connect, recv_exact, wait_until

def find_loadgen():
    """The project's load generator: this build's, else the default build's (the sanitizer
    presets do not build the benchmarks; CI builds the default preset first)."""
    candidates = [os.environ.get("SWITCHYARD_LOADGEN"), os.path.join(BUILD_DIR, "tests/bench/switchyard-loadgen"),
                  os.path.join(os.path.dirname(__file__), "../../build/default/tests/bench/switchyard-loadgen")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    raise AssertionError("switchyard-loadgen not built: build the default preset (cmake --workflow --preset default)")


LOADGEN = find_loadgen()
TEST_PLUGINS = os.environ.get("SWITCHYARD_TEST_PLUGIN_DIR") or os.path.join(BUILD_DIR, "tests/integration/plugins")


class EchoServer:
    """The project's own echo server (switchyard-loadgen --server) on a free loopback port."""

    def __init__(self):
        self.proc = subprocess.Popen([LOADGEN, "--server", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.address = json.loads(self.proc.stdout.readline())["address"]

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def start_load(target, *args, seconds):
    return subprocess.Popen([LOADGEN, "--target", target, "--duration", str(seconds), "--warmup", "0.5", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def load_result(proc):
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def config(e1, e2=None, extra=False, max_frame="1KiB"):
    endpoints = f"[{e1}, {e2}]" if e2 else f"[{e1}]"
    text = f"""
loops: 2
tick: 100ms
shutdown_timeout: 10s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: u, endpoints: {endpoints}}}
listeners:
  - {{name: raw, listen: 127.0.0.1:0, upstream: u}}
  - {{name: framed, listen: 127.0.0.1:0, upstream: u, codec: {{plugin: line, max_frame: {max_frame}}}}}
"""
    if extra:
        text += "  - {name: extra, listen: 127.0.0.1:0, upstream: u}\n"
    return text


def echoes(addr, payload):
    with connect(addr, timeout=5) as s:
        s.sendall(payload)
        return recv_exact(s, len(payload)) == payload


def refused(addr):
    try:
        connect(addr, timeout=2).close()
        return False
    except OSError:
        return True


def test_twenty_reloads_under_steady_framed_and_raw_load_drop_nothing():
    e1, e2 = EchoServer(), EchoServer()
    config_a = config(e1.address)
    config_b = config(e1.address, e2.address, extra=True, max_frame="2KiB")
    d = Daemon(config_a)
    try:
        raw_addr, framed_addr = d.addr("raw"), d.addr("framed")
        seconds = 14 * SLOW
        raw_load = start_load(raw_addr, "--connections", "20", seconds=seconds)
        framed_load = start_load(framed_addr, "--connections", "10", "--framing", "line", "--pipeline", "4",
                                 "--size", "200", seconds=seconds)

        # New connections all the while: each one must be accepted and echoed, whichever
        # configuration it lands in.
        churn = {"ok": 0, "failed": []}
        stop = threading.Event()

        def churner():
            while not stop.is_set():
                try:
                    if echoes(raw_addr, b"x" * 100):
                        churn["ok"] += 1
                    else:
                        churn["failed"].append("bad echo")
                except OSError as e:
                    churn["failed"].append(repr(e))
        t = threading.Thread(target=churner, daemon=True)
        t.start()

        line_1500 = b"y" * 1499 + b"\n"  # over A's max_frame (1KiB), under B's (2KiB)
        old_extra = None
        for i in range(20):
            if i % 2 == 0:
                d.reload(config_b)
                assert d.addr("raw") == raw_addr and d.addr("framed") == framed_addr  # kept, not rebound
                assert echoes(d.addr("extra"), b"new listener")
                assert echoes(framed_addr, line_1500)  # the new codec option, on a new connection
                old_extra = d.addr("extra")
            else:
                d.reload(config_a)
                assert "extra" not in d.addresses
                assert refused(old_extra)  # the removed listener closed its socket
                with connect(framed_addr) as s:  # A's 1KiB max_frame again: the frame is refused
                    s.sendall(line_1500)
                    assert s.recv(1) == b""
        stop.set()
        t.join(timeout=30)
        raw, framed = load_result(raw_load), load_result(framed_load)
        for r in (raw, framed):
            assert r["errors"] == 0 and r["mismatches"] == 0 and r["connect_errors"] == 0, r
            assert r["messages"] > 1000, r
        assert churn["failed"] == [], churn["failed"][:5]
        assert churn["ok"] > 100
        m = d.metrics()
        assert m.get("switchyard_config_reloads_total", result="success") == 20
        assert m.get("switchyard_config_reloads_total", result="failure") == 0
        # Under B, new connections also went to the second endpoint.
        assert m.get("switchyard_upstream_connect_attempts_total", upstream="u", endpoint=e2.address) > 0
        # Every retired generation is freed once its last connection (the load's) has closed.
        wait_until(lambda: d.metric("switchyard_config_generations_draining") == 0, timeout=15,
                   what="retired generations freed")
        assert "needs a restart" not in d.log()
    finally:
        d.stop()
        e1.close()
        e2.close()


def test_a_broken_reload_is_refused_with_every_error_and_changes_nothing():
    backend = EchoServer()
    good = config(backend.address)
    d = Daemon(good)
    try:
        raw = d.addr("raw")
        held = connect(raw)
        held.sendall(b"before")
        assert recv_exact(held, 6) == b"before"
        broken = good.replace("loops: 2", "loops: 2\nlisteners_typo: 1").replace("upstream: u}", "upstream: nope}", 1)
        text = d.reload(broken, expect="refused")
        assert "listeners_typo: unknown key" in text
        assert "listeners[0].upstream: unknown upstream 'nope'" in text
        assert "2 error(s)" in text
        # A plugin that refuses its options, found only by loading it: refused too, with its place.
        text = d.reload(good.replace("max_frame: 1KiB", "max_frame: lots"), expect="refused")
        assert "listeners[1].codec.max_frame" in text
        # A new listener whose address is taken: nothing else applied either.
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = "127.0.0.1:%d" % blocker.getsockname()[1]
        text = d.reload(good + f"  - {{name: clash, listen: {taken}, upstream: u}}\n", expect="refused")
        assert "Address already in use" in text
        blocker.close()
        # Everything as it was: same sockets, the held connection, new connections, health.
        assert echoes(raw, b"after")
        held.sendall(b"still")
        assert recv_exact(held, 5) == b"still"
        held.close()
        m = d.metrics()
        assert m.get("switchyard_config_reloads_total", result="failure") == 3
        assert m.get("switchyard_config_reloads_total", result="success") == 0
        status, _, _ = d.admin_get("/healthz")
        assert status == 200
    finally:
        d.stop()
        backend.close()


def test_systemd_hears_reloading_then_ready_around_each_reload_and_stopping_at_the_end():
    d = Daemon("""
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
""")
    try:
        assert any("READY=1" in n for n in d.notifications)
        before = len(d.notifications)
        d.reload()
        msgs = d.read_notifications(lambda n: any("READY=1" in m for m in n[before:]))[before:]
        reloading = [m for m in msgs if "RELOADING=1" in m]
        assert reloading, msgs
        fields = dict(line.split("=", 1) for line in reloading[0].splitlines())
        assert int(fields["MONOTONIC_USEC"]) == pytest.approx(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6,
                                                              abs=30e6)
        order = [("RELOADING" if "RELOADING=1" in m else "READY") for m in msgs if "RELOADING=1" in m or "READY=1" in m]
        assert order == ["RELOADING", "READY"]
        # A failed reload is announced the same way, and says so in STATUS.
        before = len(d.notifications)
        with open(d.config, "w") as f:
            f.write("listeners: 3\n")
        d.reload(expect="refused")
        msgs = d.read_notifications(lambda n: any("READY=1" in m for m in n[before:]))[before:]
        assert [m for m in msgs if "RELOADING=1" in m]
        ready = [m for m in msgs if "READY=1" in m][0]
        assert "STATUS=reload failed (1 error(s)); serving 1 listener(s), 0 connection(s)" in ready
    finally:
        d.stop()
    assert any("STOPPING=1" in m for m in d.notifications)


def plugin_mappings(pid, name):
    with open(f"/proc/{pid}/maps") as f:
        return {line.split()[-1] if not line.rstrip().endswith("(deleted)") else line.split()[-2]
                for line in f if name in line and "r-xp" in line}


def test_a_codec_plugin_replaced_on_disk_is_loaded_again_while_open_connections_keep_the_old():
    d0 = Daemon.scratch_dir()
    plugin = os.path.join(d0, "versioned.so")
    shutil.copy(os.path.join(TEST_PLUGINS, "switchyard_codec_versioned_v1.so"), plugin)
    d = Daemon(f"""
listeners:
  - {{name: e, listen: 127.0.0.1:0, handler: echo, codec: {{plugin: {plugin}}}}}
""")
    try:
        old = connect(d.addr("e"))
        old.sendall(b"a;")  # v1 frames end at a newline: nothing comes back yet
        old.sendall(b"\n")
        assert recv_exact(old, 3) == b"a;\n"
        # Replaced by rename, as install(1) does; the new build frames at ';'.
        tmp = plugin + ".tmp"
        shutil.copy(os.path.join(TEST_PLUGINS, "switchyard_codec_versioned_v2.so"), tmp)
        os.replace(tmp, plugin)
        text = d.reload()
        assert "changed on disk: new version loaded" in text
        new = connect(d.addr("e"))
        new.sendall(b"b;")
        assert recv_exact(new, 2) == b"b;"  # v2: ';' ends the frame
        old.sendall(b"c;")
        old.settimeout(0.3)
        with pytest.raises(socket.timeout):
            old.recv(1)  # still v1: ';' ends nothing
        old.settimeout(10)
        old.sendall(b"\n")
        assert recv_exact(old, 3) == b"c;\n"
        assert len(plugin_mappings(d.proc.pid, "versioned")) == 2  # both builds mapped
        old.close()
        # Once the last connection of the old configuration is gone, so is the old library.
        wait_until(lambda: len(plugin_mappings(d.proc.pid, "versioned")) == 1, timeout=10,
                   what="the old plugin build unmapped")
        new.sendall(b"d;")
        assert recv_exact(new, 2) == b"d;"
        new.close()
    finally:
        d.stop()


def test_a_loops_change_is_applied_except_loops_with_a_warning():
    d = Daemon("""
loops: 2
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
""")
    try:
        text = d.reload("""
loops: 3
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
  - {name: f, listen: 127.0.0.1:0, handler: echo}
""")
        assert "loops: 3 needs a restart; still running 2 loops" in text
        assert echoes(d.addr("f"), b"f")
    finally:
        d.stop()


def test_watch_config_reloads_on_a_file_rename_and_on_a_configmap_symlink_swap():
    base = Daemon.scratch_dir()
    # The layout kubelet gives a ConfigMap volume: file -> ..data/file, ..data -> ..<timestamp>.
    def publish(version, text):
        target = os.path.join(base, f"..v{version}")
        os.makedirs(target)
        with open(os.path.join(target, "switchyard.yaml"), "w") as f:
            f.write(text)
        tmp = os.path.join(base, "..data_tmp")
        os.symlink(f"..v{version}", tmp)
        os.replace(tmp, os.path.join(base, "..data"))
    one = """
watch_config: true
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
"""
    publish(1, one)
    path = os.path.join(base, "switchyard.yaml")
    os.symlink("..data/switchyard.yaml", path)
    d = Daemon(one, config_path=path)
    try:
        assert "watch_config: watching" in d.log()
        start = len(d.log())
        publish(2, one + "  - {name: f, listen: 127.0.0.1:0, handler: echo}\n")
        d.wait_reload(start)
        assert echoes(d.addr("f"), b"via configmap")
        # A touch without a change does not reload.
        start = len(d.log())
        os.utime(os.path.join(base, "..v2", "switchyard.yaml"))
        time.sleep(0.5)  # the watcher's quiet period is 200 ms: give it the chance to misfire
        assert "reload" not in d.log()[start:]
    finally:
        d.stop()


def test_watchdog_pings_while_loops_tick_and_stop_while_one_is_wedged():
    d = Daemon("""
tick: 50ms
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
""", env={"WATCHDOG_USEC": "400000", "SWITCHYARD_TEST_HOOKS": "1"})
    try:
        def pings(n):
            return [m for m in n if m == "WATCHDOG=1"]
        d.read_notifications(lambda n: len(pings(n)) >= 3)
        start = len(d.log())
        d.signal(signal.SIGUSR1)  # test hook: wedges loop 0 for 3 s
        wait_until(lambda: "a loop has not ticked" in d.log()[start:], what="the watchdog noticing")
        before = len(pings(d.notifications))
        assert before >= 3

        silent_from = len(d.notifications)  # pings sent before the wedge was noticed are in
        time.sleep(1.0)  # inside the 3 s wedge: a ping now would be a bug
        assert pings(d.read_notifications(lambda n: True)[silent_from:]) == [], d.notifications[silent_from:]
        # The loop comes back and so do the pings.
        d.read_notifications(lambda n: len(pings(n[silent_from:])) >= 2, timeout=10)
    finally:
        d.stop()
