"""Privileges: `user:` drops root once every socket is bound, plugins others may write are
refused, and an admin endpoint reachable beyond the host is warned about. The tests run as
root, so the drop is real: /proc says who the daemon is afterwards."""
import os
import re
import shutil
import socket
import subprocess

from harness import BIN, BUILD_DIR, Daemon, connect, recv_exact, wait_until


def free_privileged_port():
    for port in range(1000, 600, -1):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise AssertionError("no free port below 1024")


def status_ids(pid, tid=None):
    path = f"/proc/{pid}/task/{tid}/status" if tid else f"/proc/{pid}/status"
    fields = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return fields


def failed_start(yaml_text, **kw):
    """Starts a daemon expected to refuse to start: returns its exit code and everything it
    logged."""
    d = Daemon(yaml_text, expect_ready=False, **kw)
    code = d.proc.wait(timeout=30)
    log = d.log()
    notified = list(d.notifications)
    d.stop()
    return code, log, notified


def echoes(sock, payload=b"ping"):
    sock.sendall(payload)
    return recv_exact(sock, len(payload)) == payload


def test_user_drops_root_after_binding_a_privileged_port_and_reloads_keep_working():
    low, other_low = free_privileged_port(), None
    config = """
user: nobody
metrics: {{listen: 127.0.0.1:0}}
listeners:
  - {{name: low, listen: "127.0.0.1:{low}", handler: echo, idle_timeout: {idle}}}
{extra}"""
    with Daemon(config.format(low=low, idle="1h", extra=""), shared_with_other_users=True) as d:
        ids = status_ids(d.proc.pid)
        assert ids["Uid"] == ["65534"] * 4, ids["Uid"]
        assert ids["Gid"] == ["65534"] * 4, ids["Gid"]
        assert ids["Groups"] in ([], ["65534"]), ids["Groups"]
        assert ids["CapEff"] == ["0000000000000000"]
        # Every thread (loops, admin, logger) changed with the process.
        for tid in os.listdir(f"/proc/{d.proc.pid}/task"):
            assert status_ids(d.proc.pid, tid)["Uid"] == ["65534"] * 4
        assert "user: now running as nobody (uid 65534, gid 65534)" in d.log()
        # The port below 1024 was bound before the drop and serves.
        assert d.addr("low") == f"127.0.0.1:{low}"
        assert echoes(d.client("low"))

        # A reload runs as nobody: it reads the file and applies what needs no privilege.
        d.reload(config.format(low=low, idle="2h", extra=""))
        assert echoes(d.client("low"))
        # A new listener on a port below 1024 cannot be bound any more: the reload is refused,
        # clearly, and the running configuration stays.
        other_low = free_privileged_port()
        text = d.reload(config.format(low=low, idle="2h", extra=f"""  - {{name: low2, listen: "127.0.0.1:{other_low}",
      handler: echo}}
"""), expect="refused")
        assert re.search(rf"reload: .*listener low2: bind 127\.0\.0\.1:{other_low}: Permission denied", text), text
        assert d.metric("switchyard_config_reloads_total", result="failure") == 1
        assert echoes(d.client("low"))
        # One on an unprivileged port is fine.
        d.reload(config.format(low=low, idle="2h", extra="""  - {name: high, listen: "127.0.0.1:0", handler: echo}
"""))
        assert echoes(d.client("high"))
        assert echoes(d.client("low"))


def test_a_failed_drop_exits_rather_than_run_on_as_root():
    # Without CAP_SETUID/CAP_SETGID (taken from the bounding set), root cannot switch users.
    code, log, notified = failed_start("""
user: nobody
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
""", command_prefix=["setpriv", "--bounding-set", "-setuid,-setgid"])
    assert code == 1
    assert re.search(r"user: (initgroups\(nobody\)|setgroups|setgid\(65534\)): Operation not permitted; refusing "
                     r"to run on with the privileges it was started with", log), log
    assert "ready" not in log
    assert not any("READY=1" in m for m in notified)


def test_user_is_ignored_when_not_started_as_root():
    with Daemon("""
user: nobody
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
""", shared_with_other_users=True,
                command_prefix=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]) as d:
        assert "user: already running as nobody (uid 65534, gid 65534)" in d.log()
        assert echoes(d.client("e"))
    with Daemon("""
user: root
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
""", shared_with_other_users=True,
                command_prefix=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]) as d:
        assert "user: root ignored: not started as root (running as uid 65534)" in d.log()


def plugin_config(plugin_dir, allow=False):
    return f"""
plugin_dir: "{plugin_dir}"
allow_writable_plugins: {"true" if allow else "false"}
listeners:
  - name: lines
    listen: 127.0.0.1:0
    handler: echo
    codec: {{plugin: line}}
"""


def copy_line_plugin(mode_dir, mode_file=0o755, owner=None):
    plugin_dir = Daemon.scratch_dir()
    target = os.path.join(plugin_dir, "switchyard_codec_line.so")
    shutil.copy(os.path.join(BUILD_DIR, "plugins", "switchyard_codec_line.so"), target)
    os.chmod(target, mode_file)
    if owner is not None:
        os.chown(target, owner, -1)
    os.chmod(plugin_dir, mode_dir)
    return plugin_dir, target


def test_plugins_others_may_write_are_refused_unless_allowed():
    plugin_dir, target = copy_line_plugin(0o777)
    code, log, _ = failed_start(plugin_config(plugin_dir))
    assert code == 1
    assert re.search(r":8:12: listeners\[0\]\.codec\.plugin: refusing codec plugin .*switchyard_codec_line\.so: "
                     rf"{re.escape(plugin_dir)} is writable by every user \(mode 0777\); whoever can write it "
                     r"can run code inside this daemon", log), log
    # --check-config says the same before it reaches production.
    config = os.path.join(Daemon.scratch_dir(), "plugins.yaml")
    with open(config, "w") as f:
        f.write(plugin_config(plugin_dir))
    checked = subprocess.run([BIN, "--check-config", config], capture_output=True, text=True)
    assert checked.returncode == 1
    assert "refusing codec plugin" in checked.stderr
    # The operator's explicit override: loaded, with a warning naming the file and the problem.
    with Daemon(plugin_config(plugin_dir, allow=True)) as d:
        assert re.search(r"warning .*codec plugin .*switchyard_codec_line\.so: .* is writable by every user "
                         r"\(mode 0777\); loading it anyway \(allow_writable_plugins: true\)", d.log()), d.log()
        c = d.client("lines")
        c.sendall(b"one\n")
        assert recv_exact(c, 4) == b"one\n"
    # The file itself, writable by everyone, or owned by another user.
    plugin_dir, target = copy_line_plugin(0o755, mode_file=0o666)
    code, log, _ = failed_start(plugin_config(plugin_dir))
    assert code == 1
    assert f"{target} is writable by every user (mode 0666)" in log
    plugin_dir, target = copy_line_plugin(0o755, owner=65534)
    code, log, _ = failed_start(plugin_config(plugin_dir))
    assert code == 1
    assert f"{target} is owned by uid 65534, neither root nor the daemon's user" in log
    # Root's own plugin in a directory only root writes: loaded without a word.
    plugin_dir, target = copy_line_plugin(0o755)
    with Daemon(plugin_config(plugin_dir)) as d:
        assert "codec plugin" not in d.log()


def test_an_admin_endpoint_beyond_loopback_is_warned_about():
    with Daemon("""
metrics: {listen: "0.0.0.0:0"}
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
""") as d:
        assert re.search(r"warning .*metrics: the admin endpoint listens on 0\.0\.0\.0:0, beyond this host", d.log())
        status, _, _ = d.admin_get("/healthz")
        assert status == 200
    for loopback in ("127.0.0.1:0", "\"[::1]:0\"", "localhost:0"):
        with Daemon(f"""
metrics: {{listen: {loopback}}}
listeners:
  - {{name: e, listen: 127.0.0.1:0, handler: echo}}
""") as d:
            assert "beyond this host" not in d.log()
            wait_until(lambda: d.admin_get("/healthz")[0] == 200, what="healthz")
