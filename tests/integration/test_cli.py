"""The command line: --version, --help, --check-config, fatal start-up errors."""
import os
import socket
import subprocess
import tempfile

from harness import BIN, Daemon


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)


def write(text):
    fd, path = tempfile.mkstemp(suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def test_version_and_help():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("switchyard ")
    r = run("--help")
    assert r.returncode == 0 and "--check-config" in r.stdout


def test_unknown_argument_is_refused():
    r = run("--frobnicate")
    assert r.returncode == 2 and "unknown argument" in r.stderr


def listening_socket():
    """A port some other process already listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s, s.getsockname()[1]


def test_check_config_ok_opens_no_socket():
    port_holder, port = listening_socket()
    # The port is taken: --check-config must still pass because it binds nothing.
    path = write(f"""
listeners:
  - {{name: e, listen: 127.0.0.1:{port}, handler: echo}}
""")
    r = run("--check-config", path)
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout
    # Spelt as nginx's `-t -c FILE` (and the other way round): the --config file is checked.
    for argv in (["-t", "-c", path], ["--config", path, "--check-config"]):
        r = run(*argv)
        assert r.returncode == 0 and "configuration OK" in r.stdout, (argv, r.stderr)
    port_holder.close()


def test_check_config_warns_of_access_rules_that_keep_nobody_out():
    path = write("""
listeners:
  - {name: a, listen: "127.0.0.1:0", handler: echo, access: [{allow: 10.0.0.0/8}]}
""")
    r = run("--check-config", path)
    assert r.returncode == 0 and "configuration OK" in r.stdout
    assert "warning: listener a: every access rule allows" in r.stderr


def test_bundled_examples_pass_check_config():
    root = os.path.join(os.path.dirname(__file__), "../../config/examples")
    for name in sorted(os.listdir(root)):
        if name.endswith(".yaml"):
            r = run("--check-config", os.path.join(root, name))
            assert r.returncode == 0, f"{name}: {r.stderr}"


def test_check_config_lists_every_error_with_line():
    path = write("""loops: -1
listeners:
  - name: a
    listen: 127.0.0.1:99999
    reuse_prot: true
    upstream: nowhere
  - name: a
    listen: 127.0.0.1:7000
""")
    r = run("--check-config", path)
    assert r.returncode == 1
    err = r.stderr
    assert f"{path}:1:" in err and "loops" in err
    assert "listeners[0].listen" in err and ":4:" in err
    assert "listeners[0].reuse_prot: unknown key (did you mean reuse_port?)" in err
    assert "nowhere" in err
    assert "listeners[1]" in err and "duplicate" in err.lower()
    assert "listeners[1]: missing 'upstream' or 'handler'" in err


def test_port_in_use_is_one_clear_line_and_nonzero_exit():
    holder, port = listening_socket()
    path = write(f"""
listeners:
  - {{name: busy, listen: 127.0.0.1:{port}, handler: echo}}
""")
    r = run("--config", path)
    holder.close()
    assert r.returncode != 0
    assert f"listener busy: bind 127.0.0.1:{port}: Address already in use" in r.stderr


def test_missing_upstream_socket_dir_is_fatal():
    path = write("""
upstreams:
  - {name: app, endpoints: ["unix:/nonexistent-dir-for-switchyard/app.sock"]}
listeners:
  - {name: in, listen: 127.0.0.1:0, upstream: app}
""")
    r = run("--config", path)
    assert r.returncode != 0
    assert "directory /nonexistent-dir-for-switchyard does not exist" in r.stderr


def test_daemon_reports_ready_and_stops_with_exit_0():
    with Daemon("""
listeners:
  - {name: e, listen: 127.0.0.1:0, handler: echo}
""") as d:
        assert d.addr("e").startswith("127.0.0.1:")
        assert d.stop() == 0
        assert any("STOPPING=1" in m.split("\n") for m in d.notifications), d.notifications


def test_check_config_loads_codec_plugins_and_reports_their_errors_with_lines():
    path = write("""
upstreams:
  - name: b
    endpoints: [127.0.0.1:9000]
    codec: {plugin: length-field, length_field_length: "4", initial_bytes_to_strip: "0"}
listeners:
  - name: a
    listen: 127.0.0.1:0
    upstream: b
    codec: {plugin: line, strip_crr: true}
  - name: c
    listen: 127.0.0.1:0
    handler: echo
    codec: {plugin: no-such-codec}
  - name: d
    listen: 127.0.0.1:0
    handler: echo
    codec: {plugin: length-field, length_field_length: "5"}
""")
    r = run("--check-config", path)
    assert r.returncode == 1
    err = r.stderr
    assert "listeners[0].codec.strip_crr: unknown option for codec line (did you mean strip_cr?)" in err
    assert ":10:38: listeners[0].codec.strip_crr" in err
    assert 'codec plugin "no-such-codec" not found' in err
    assert "listeners[2].codec.length_field_length" in err


def test_translation_to_a_codec_that_cannot_encode_is_refused():
    path = write("""
upstreams:
  - name: b
    endpoints: [127.0.0.1:9000]
    codec: {plugin: length-field, length_field_length: "4", initial_bytes_to_strip: "0"}
listeners:
  - {name: a, listen: 127.0.0.1:0, upstream: b, codec: {plugin: line}}
""")
    r = run("--check-config", path)
    assert r.returncode == 1
    assert "upstreams[0].codec: codec length-field cannot encode with these options" in r.stderr


def test_sizes_are_spelt_alike_in_daemon_keys_and_codec_options():
    # buffer_size: 1MB was accepted while max_frame: 1MB was refused; both now read one grammar.
    ok = write("""
listeners:
  - {name: a, listen: 127.0.0.1:0, handler: echo, buffer_size: 1MB, codec: {plugin: line, max_frame: 1MB}}
  - {name: b, listen: 127.0.0.1:0, handler: echo, buffer_size: 64KiB, codec: {plugin: delimiter, delimiter: ";", max_frame: 64 KiB}}
""")
    r = run("--check-config", ok)
    assert r.returncode == 0, r.stderr
    # And a bad spelling gets the same sentence from either (codec options are checked once the
    # YAML itself is valid, so one file each).
    sentence = "unknown unit 'k' in size '64k' (expected bytes or a number with B, KiB, MiB, GiB, KB, MB or GB"
    for where, block in (("listeners[0].buffer_size: ", "buffer_size: 64k"),
                         ("listeners[0].codec.max_frame: rejected by codec line: ",
                          "codec: {plugin: line, max_frame: 64k}")):
        r = run("--check-config", write(f"""
listeners:
  - {{name: a, listen: 127.0.0.1:0, handler: echo, {block}}}
"""))
        assert r.returncode == 1
        assert where + sentence in r.stderr
