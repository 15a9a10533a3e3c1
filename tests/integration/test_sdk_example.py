"""The plugin SDK used as a plugin author would: install it, build plugins/examples/netstring
out of tree with find_package(Switchyard), and load the result into the real daemon."""
import os
import subprocess
import tempfile

import pytest

from harness import Daemon, EchoBackend, recv_exact

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../..")
BUILD_DIR = os.environ.get("SWITCHYARD_BUILD_DIR", os.path.join(ROOT, "build/default"))


@pytest.fixture(scope="module")
def netstring_plugin():
    work = tempfile.mkdtemp(prefix="swy-sdk-")
    prefix, out = os.path.join(work, "prefix"), os.path.join(work, "example")
    r = subprocess.run(["bash", os.path.join(ROOT, "plugins/examples/build-against-installed-sdk.sh"), BUILD_DIR,
                        prefix, out], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.path.exists(os.path.join(prefix, "lib/cmake/Switchyard/SwitchyardConfig.cmake"))
    assert os.path.exists(os.path.join(prefix, "include/switchyard/codec.h"))
    # The daemon's size and duration parsers come with the SDK, for plugins' own options.
    assert os.path.exists(os.path.join(prefix, "include/switchyard/units.hpp"))
    plugin = os.path.join(out, "switchyard_codec_netstring.so")
    assert os.path.exists(plugin)
    return plugin


def netstring(payload):
    return b"%d:%s," % (len(payload), payload)


def test_out_of_tree_plugin_frames_an_echo_listener(netstring_plugin):
    with Daemon(f"""
metrics: {{listen: 127.0.0.1:0}}
listeners:
  - {{name: n, listen: 127.0.0.1:0, handler: echo, codec: {{plugin: {netstring_plugin}}}}}
""") as d:
        s = d.client("n")
        frames = b"".join(netstring(b"x" * i) for i in range(200))
        s.sendall(frames)
        assert recv_exact(s, len(frames)) == frames
        assert d.metric("switchyard_listener_frames_received_total", listener="n") == 200


def test_out_of_tree_plugin_translates_to_lines(netstring_plugin):
    backend = EchoBackend()  # echoes the line-framed bytes it gets
    with Daemon(f"""
upstreams:
  - {{name: b, endpoints: [{backend.address}], codec: {{plugin: line}}}}
listeners:
  - {{name: n, listen: 127.0.0.1:0, upstream: b, codec: {{plugin: {netstring_plugin}}}}}
""") as d:
        s = d.client("n")
        words = [b"alpha", b"", b"gamma delta", b"z" * 1000]
        s.sendall(b"".join(netstring(w) for w in words))
        expected = b"".join(netstring(w) for w in words)
        assert recv_exact(s, len(expected)) == expected
    backend.close()
