"""The installed systemd files, checked by systemd's own tools: every unit passes
`systemd-analyze verify`, the service's hardening keeps its exposure score low, its system call
filter allows every call the daemon makes, and sysusers/tmpfiles make the user and /run dir.

The units name the configured prefix's paths (/usr/local/bin/switchyard); installed into a
DESTDIR, each is checked as a copy whose paths point into the DESTDIR, so that verify finds the
binary it runs and man finds switchyard(8)."""
import functools
import os
import re
import signal
import socket
import subprocess

import pytest

from harness import EchoBackend, InstalledTree, NotifyReader, connect, free_port, recv_exact, wait_until

SERVICE = "lib/systemd/system/switchyard.service"
EXAMPLE_SOCKETS = ["share/doc/switchyard/examples/systemd/switchyard.socket",
                   "share/doc/switchyard/examples/systemd/switchyard-dns.socket"]
HARDENING_THRESHOLD = "20"  # exposure 2.0 of 10: systemd-analyze security calls up to 2.9 "OK"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return InstalledTree(tmp_path_factory.mktemp("destdir"))


@pytest.fixture(scope="module")
def units(tree, tmp_path_factory):
    """The installed units, copied with their paths moved into the DESTDIR."""
    out = tmp_path_factory.mktemp("units")
    paths = []
    for relative in [SERVICE, *EXAMPLE_SOCKETS]:
        with open(tree.under_prefix(relative)) as f:
            text = f.read()
        path = out / os.path.basename(relative)
        path.write_text(relocate(tree, text))
        paths.append(str(path))
    return paths


def relocate(tree, text):
    return text.replace(tree.prefix + "/", tree.path(tree.prefix) + "/")


def verify(tree, *unit_paths):
    env = dict(os.environ, MANPATH=tree.under_prefix("share/man"), SYSTEMD_LOG_COLOR="0")
    r = subprocess.run(["systemd-analyze", "verify", *unit_paths], capture_output=True, text=True,
                       timeout=120, env=env)
    return r.returncode, (r.stdout + r.stderr).strip()


def unit_values(path, key):
    with open(path) as f:
        return [line.split("=", 1)[1].strip() for line in f if line.startswith(key + "=")]


def test_every_unit_verifies(tree, units):
    """Clean: exit 0 and not one warning (verify only warns about an unknown key)."""
    code, output = verify(tree, *units)
    assert code == 0 and output == "", output


def test_verify_catches_mistakes(tree, units, tmp_path):
    """The check above can fail: a misspelt key, a binary that is not there and a missing man
    page each make it fail."""
    with open(units[0]) as f:
        good = f.read()
    cases = {
        "typo": good.replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"),
        "binary": good.replace("bin/switchyard --config", "bin/no-such-switchyard --config"),
        "man": good.replace("man:switchyard(8)", "man:no-such-switchyard(8)"),
    }
    for name, text in cases.items():
        assert text != good, name
        d = tmp_path / name
        d.mkdir()
        (d / "switchyard.service").write_text(text)
        code, output = verify(tree, str(d / "switchyard.service"))
        assert code != 0 or output != "", f"{name}: verify passed a broken unit"


def test_service_contract(units):
    service = units[0]
    assert unit_values(service, "Type") == ["notify"]
    assert unit_values(service, "NotifyAccess") == ["all"]  # a binary upgrade's new process
    # Reload checks the file first; the signal is only sent when the check passed.
    reload_steps = unit_values(service, "ExecReload")
    assert len(reload_steps) == 2
    assert reload_steps[0].endswith("/bin/switchyard --check-config ${SWITCHYARD_CONFIG}")
    assert reload_steps[1] == "/bin/kill -HUP $MAINPID"
    assert unit_values(service, "ExecStartPre")[0].endswith("--check-config ${SWITCHYARD_CONFIG}")
    for key, value in [("User", "switchyard"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                       ("CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"),
                       ("AmbientCapabilities", "CAP_NET_BIND_SERVICE"), ("RuntimeDirectory", "switchyard")]:
        assert unit_values(service, key) == [value], key
    assert int(unit_values(service, "LimitNOFILE")[0]) >= 65536
    # The drain must end before systemd's SIGKILL.
    (env,) = unit_values(service, "Environment")  # relocated: the config inside the DESTDIR
    with open(env.split("=", 1)[1]) as f:
        shutdown = re.search(r"^shutdown_timeout:\s*(\d+)s\b", f.read(), re.M)
    assert shutdown, "the installed config sets shutdown_timeout in seconds"
    assert int(unit_values(service, "TimeoutStopSec")[0]) > int(shutdown.group(1))
    # The watchdog interval leaves the loops two ticks at least (the daemon pings at half of it).
    (watchdog,) = unit_values(service, "WatchdogSec")
    tick = re.search(r"^tick:\s*(\d+)s\b", open(env.split("=", 1)[1]).read(), re.M)
    assert watchdog.endswith("s") and int(watchdog[:-1]) >= 4 * int(tick.group(1))


def test_socket_units_name_listeners(units, tree, tmp_path):
    """The example socket units name listeners by FileDescriptorName=; the stream one is the
    installed config's listener, and systemd-socket-activate passing its socket under that name
    makes the installed daemon adopt it and serve the connection that woke it."""
    names = {}
    for path in units[1:]:
        (name,) = unit_values(path, "FileDescriptorName")
        names[name] = unit_values(path, "ListenStream") + unit_values(path, "ListenDatagram")
    assert names == {"app-in": ["127.0.0.1:8000"], "dns-in": ["127.0.0.1:5353"]}

    backend = EchoBackend()
    port = free_port()
    config = tmp_path / "switchyard.yaml"
    config.write_text(tree.config_with({"127.0.0.1:8000": f"127.0.0.1:{port}", "127.0.0.1:9464": "127.0.0.1:0",
                                        "127.0.0.1:8080": backend.address}))
    notify = NotifyReader(str(tmp_path / "notify.sock"))
    log = tmp_path / "daemon.log"
    with open(log, "wb") as out:
        activator = subprocess.Popen(
            ["systemd-socket-activate", "-l", f"127.0.0.1:{port}", "--fdname=app-in", "-E", "NOTIFY_SOCKET",
             tree.under_prefix("bin/switchyard"), "--config", str(config)],
            stdout=out, stderr=subprocess.STDOUT, env=dict(tree.env(), NOTIFY_SOCKET=str(tmp_path / "notify.sock")))
    try:
        wait_until(lambda: f"Listening on 127.0.0.1:{port}" in log.read_text(), what="systemd-socket-activate")
        with connect(f"127.0.0.1:{port}") as first:  # queued in systemd's socket; starts the daemon
            first.sendall(b"woke it")
            assert recv_exact(first, 7) == b"woke it"
        notify.wait_for("READY=1")
        assert "listener app-in: took over its socket(s) from systemd" in log.read_text()
    finally:
        activator.send_signal(signal.SIGTERM)
        assert activator.wait(timeout=60) == 0, log.read_text()
        notify.close()
        backend.close()


def test_hardening_exposure(units, tmp_path):
    def exposure_ok(path):
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", f"--threshold={HARDENING_THRESHOLD}",
                            path], capture_output=True, text=True, timeout=120)
        return r.returncode == 0, r.stdout + r.stderr

    ok, report = exposure_ok(units[0])
    assert ok, report
    # The threshold bites: the same unit without its sandboxing is over it.
    with open(units[0]) as f:
        lines = f.read().split("\n")
    stripped = [line for line in lines if not re.match(r"(Protect|Private|Restrict|SystemCall|Capability|NoNew)", line)]
    bare = tmp_path / "switchyard.service"
    bare.write_text("\n".join(stripped))
    ok, _ = exposure_ok(str(bare))
    assert not ok


@functools.lru_cache(maxsize=None)
def syscall_group(name):
    out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True,
                         check=True).stdout
    calls = set()
    for line in out.splitlines():
        word = line.strip()
        if not word or word.startswith("#") or word == name:
            continue
        calls |= syscall_group(word) if word.startswith("@") else {word}
    return frozenset(calls)


def allowed_syscalls(service):
    """SystemCallFilter= lines in order: an allow list, then ~ lines taking calls out of it."""
    allowed = set()
    for value in unit_values(service, "SystemCallFilter"):
        deny = value.startswith("~")
        calls = set()
        for word in value.lstrip("~").split():
            calls |= syscall_group(word) if word.startswith("@") else {word}
        if deny:
            allowed -= calls
        else:
            allowed |= calls
    return allowed


@pytest.mark.skipif(os.environ.get("SWITCHYARD_SANITIZED") == "1", reason="sanitizer runtimes make calls of their own")
def test_system_call_filter_allows_what_the_daemon_calls(tree, units, tmp_path):
    """The daemon run under strace through start-up, traffic, a scrape, a reload and a drain:
    every system call it made is one the unit's SystemCallFilter= lets through (a call outside
    it would fail with EPERM under systemd)."""
    allowed = allowed_syscalls(units[0])
    assert "sched_yield" in allowed and "reboot" not in allowed
    backend = EchoBackend()
    # The config in a directory of its own: watch_config watches the file's directory, and the
    # trace written beside it would wake the daemon for every line strace writes.
    (tmp_path / "etc").mkdir()
    config = tmp_path / "etc" / "switchyard.yaml"
    config_text = f"""
watch_config: true
metrics: {{listen: 127.0.0.1:0}}
upstreams: [{{name: b, endpoints: [{backend.address}]}}]
listeners:
  - {{name: p, listen: 127.0.0.1:0, upstream: b, reuse_port: true}}
  - {{name: framed, listen: 127.0.0.1:0, handler: echo, codec: {{plugin: line}}}}
  - {{name: local, protocol: unix, listen: {tmp_path}/local.sock, handler: echo}}
"""
    config.write_text(config_text)
    notify = NotifyReader(str(tmp_path / "notify.sock"))
    trace, log = tmp_path / "strace.out", tmp_path / "daemon.log"
    env = dict(tree.env(), NOTIFY_SOCKET=str(tmp_path / "notify.sock"))
    with open(log, "wb") as out:
        tracer = subprocess.Popen(["strace", "-f", "-qq", "-o", str(trace), tree.under_prefix("bin/switchyard"),
                                   "--config", str(config)], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        notify.wait_for("READY=1")
        text = log.read_text()
        addrs = dict(re.findall(r"listener (\S+) \(\w+\) listening on (\S+) ->", text))
        metrics_url = re.search(r"metrics: serving (http://\S+)", text).group(1)
        for name, message in [("p", b"raw bytes"), ("framed", b"a line\n")]:
            with connect(addrs[name]) as s:
                s.sendall(message)
                assert recv_exact(s, len(message)) == message
        subprocess.run(["curl", "-sf", "-o", "/dev/null", metrics_url], check=True, timeout=30)
        subprocess.run(["curl", "-sf", "-o", "/dev/null", metrics_url.rsplit("/", 1)[0] + "/healthz"],
                       check=True, timeout=30)
        (daemon_pid,) = [int(p) for p in open(f"/proc/{tracer.pid}/task/{tracer.pid}/children").read().split()]
        # A reload (as `systemctl reload` sends it) that adds a listener: RELOADING=1, then READY=1.
        (tmp_path / "next.yaml").write_text(config_text + "  - {name: added, listen: 127.0.0.1:0, handler: echo}\n")
        os.replace(tmp_path / "next.yaml", config)  # watch_config sees the rename too
        os.kill(daemon_pid, signal.SIGHUP)
        notify.wait_for("RELOADING=1")
        notify.wait_for("READY=1")
        os.kill(daemon_pid, signal.SIGTERM)
        assert tracer.wait(timeout=60) == 0, log.read_text()
    finally:
        if tracer.poll() is None:
            tracer.kill()
        backend.close()
        notify.close()
    used = set()
    for line in trace.read_text().splitlines():
        m = re.match(r"\d+\s+(?:<\.\.\. )?([a-z_0-9]+)[( ]", line)
        if m and m.group(1) not in ("resumed",):
            used.add(m.group(1))
    assert {"epoll_wait", "accept4", "execve"} & used, "strace recorded the daemon's calls"
    print(f"{len(used)} distinct system calls: {' '.join(sorted(used))}")
    assert used <= allowed, f"calls the unit's SystemCallFilter= would refuse: {sorted(used - allowed)}"


def test_sysusers_and_tmpfiles_make_user_and_run_dir(tree, tmp_path):
    """systemd-sysusers and systemd-tmpfiles applied to an empty root with the installed
    snippets make the service's user and its /run/switchyard."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    sysusers = tree.under_prefix("lib/sysusers.d/switchyard.conf")
    r = subprocess.run(["systemd-sysusers", f"--root={root}", sysusers], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    users = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    assert "switchyard" in users, users
    uid, shell = int(users["switchyard"][2]), users["switchyard"][6]
    assert 0 < uid < 1000 and shell.endswith("nologin")
    tmpfiles = tree.under_prefix("lib/tmpfiles.d/switchyard.conf")
    r = subprocess.run(["systemd-tmpfiles", "--create", f"--root={root}", tmpfiles], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    st = os.stat(root / "run/switchyard")
    assert st.st_uid == uid and oct(st.st_mode & 0o777) == "0o755"
