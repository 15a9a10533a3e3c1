"""`cmake --install` into a DESTDIR, then the installed daemon run as it is installed: the
binary, its config (/etc/switchyard/switchyard.yaml under the prefix), its codec plugins and its
man page. test_systemd_units.py checks the installed units."""
import os
import re
import stat
import subprocess

import pytest

from harness import Daemon, EchoBackend, InstalledTree, recv_exact

BUILD_DIR = os.environ.get("SWITCHYARD_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build/default"))
CODECS = ["line", "delimiter", "length-field", "fixed-length"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return InstalledTree(tmp_path_factory.mktemp("destdir"))


def test_layout(tree):
    p, lib = tree.under_prefix, tree.libdir
    binary = p("bin/switchyard")
    assert os.stat(binary).st_mode & stat.S_IXUSR
    plugins = sorted(os.listdir(p(f"{lib}/switchyard/plugins")))
    assert plugins == sorted("switchyard_codec_" + c.replace("-", "_") + ".so" for c in CODECS)
    for relative in ["include/switchyard/codec.h", "include/switchyard/codec.hpp",
                     f"{lib}/cmake/Switchyard/SwitchyardConfig.cmake",
                     f"{lib}/cmake/Switchyard/SwitchyardConfigVersion.cmake",
                     f"{lib}/cmake/Switchyard/SwitchyardTargets.cmake",
                     f"{lib}/cmake/Switchyard/SwitchyardPlugin.cmake",
                     "lib/systemd/system/switchyard.service",
                     "lib/sysusers.d/switchyard.conf", "lib/tmpfiles.d/switchyard.conf",
                     "share/man/man8/switchyard.8",
                     "share/doc/switchyard/copyright",
                     "share/doc/switchyard/examples/reference.yaml",
                     "share/doc/switchyard/examples/codecs.yaml",
                     "share/doc/switchyard/examples/systemd/switchyard.socket",
                     "share/doc/switchyard/examples/systemd/switchyard-dns.socket"]:
        assert os.path.isfile(p(relative)), relative
    # The unit runs the installed binary with the installed config.
    assert tree.unit_setting("ExecStart") == [tree.prefix + "/bin/switchyard --config ${SWITCHYARD_CONFIG}"]
    config = tree.config_file()
    assert config.endswith("/etc/switchyard/switchyard.yaml")
    assert os.path.isfile(tree.path(config)), config
    with open(tree.path(config)) as f, open(os.path.join(os.path.dirname(__file__),
                                                         "../../config/examples/production.yaml")) as g:
        assert f.read() == g.read(), "the installed config is the production default"


def test_nothing_installed_points_into_the_build_tree(tree):
    build = os.path.realpath(BUILD_DIR)
    for root, _, files in os.walk(tree.destdir):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                data = f.read()
            if path.endswith(".so") or name == "switchyard":
                continue  # binaries: RPATH is checked below
            assert build.encode() not in data, f"{path} names the build tree {build}"
    r = subprocess.run(["readelf", "-d", tree.under_prefix("bin/switchyard")], capture_output=True, text=True)
    assert "RUNPATH" not in r.stdout and "RPATH" not in r.stdout, r.stdout


def test_installed_config_checks_ok(tree):
    config = tree.path(tree.config_file())
    r = subprocess.run([tree.under_prefix("bin/switchyard"), "--check-config", config], env=tree.env(),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout


def test_installed_daemon_proxies_with_the_installed_config(tree):
    """The production default as installed, with only its three addresses moved: the listener
    and metrics to free ports, the upstream to a live backend."""
    backend = EchoBackend()
    text = tree.config_with({"127.0.0.1:8000": "127.0.0.1:0", "127.0.0.1:9464": "127.0.0.1:0",
                             "127.0.0.1:8080": backend.address})
    try:
        with Daemon(text, binary=tree.under_prefix("bin/switchyard"), env=tree.env()) as d:
            s = d.client("app-in")
            message = b"through the installed proxy\n"
            s.sendall(message)
            assert recv_exact(s, len(message)) == message
            s.close()
            m = d.metrics()
            assert m.get("switchyard_listener_connections_total", listener="app-in") == 1
            assert m.get("switchyard_listener_bytes_received_total", listener="app-in") == len(message)
            assert m.get("switchyard_upstream_connect_attempts_total", upstream="app",
                         endpoint=backend.address) == 1
            assert os.readlink(f"/proc/{d.proc.pid}/exe") == tree.under_prefix("bin/switchyard")
    finally:
        backend.close()


def test_installed_plugins_frame_traffic(tree):
    """All four built-in codecs load from the installed plugin directory, and frame traffic."""
    listeners = {
        "line": "{plugin: line}",
        "delimiter": '{plugin: delimiter, delimiter: ";"}',
        "length-field": "{plugin: length-field}",
        "fixed-length": '{plugin: fixed-length, frame_length: "4"}',
    }
    yaml = "metrics: {listen: 127.0.0.1:0}\nlisteners:\n" + "".join(
        f"  - {{name: {name}, listen: 127.0.0.1:0, handler: echo, codec: {codec}}}\n"
        for name, codec in listeners.items())
    frames = {"line": b"ab\ncd\n", "delimiter": b"ab;cd;",
              "length-field": b"\0\0\0\2ab\0\0\0\2cd", "fixed-length": b"abcdefgh"}
    with Daemon(yaml, binary=tree.under_prefix("bin/switchyard"), env=tree.env()) as d:
        for name, data in frames.items():
            s = d.client(name)
            s.sendall(data)
            assert recv_exact(s, len(data)) == data, name
        for name in frames:
            assert d.metric("switchyard_listener_frames_received_total", listener=name) == 2, name
        with open(f"/proc/{d.proc.pid}/maps") as f:
            mapped = {line.split()[-1] for line in f if ".so" in line}
        plugin_dir = tree.under_prefix(tree.libdir + "/switchyard/plugins")
        for codec in CODECS:
            so = os.path.join(plugin_dir, "switchyard_codec_" + codec.replace("-", "_") + ".so")
            assert so in mapped, f"{codec} not loaded from the installed plugins: {sorted(mapped)}"


def test_man_page(tree):
    page = tree.under_prefix("share/man/man8/switchyard.8")
    r = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="0", PAGER="cat"))
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr  # groff warnings
    text = re.sub(r".\x08", "", r.stdout)
    assert text.startswith("SWITCHYARD(8)")
    for heading in ["NAME", "SYNOPSIS", "DESCRIPTION", "ENVIRONMENT", "FILES", "EXIT STATUS", "SEE ALSO"]:
        assert re.search(rf"^{heading}$", text, re.M), heading
    # The options come from the binary's --help, one source for both.
    help_text = subprocess.run([tree.under_prefix("bin/switchyard"), "--help"], capture_output=True,
                               text=True).stdout
    for option in re.findall(r"^\s+(?:-\w, )?(--[\w-]+)", help_text, re.M):
        assert option in text, option
    for form in ["switchyard --config FILE [--log-level LEVEL]", "switchyard --check-config FILE"]:
        assert form in text
    assert tree.config_file() in text
