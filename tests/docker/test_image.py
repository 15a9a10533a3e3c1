"""docker/Dockerfile built and run for real, on a Docker engine this test starts itself.

dockerd runs as root with its own data root, exec root, socket and pid file under a temporary
directory (overlay2 storage, no bridge, no iptables rules: containers use the host's network).
No registry is reachable, so the base image debian:bookworm-slim is made with debootstrap and
imported; the tarball is cached in $SWITCHYARD_CI_CACHE (default /var/cache/switchyard-ci) for a
week. Then: the image is built with the context as a developer's checkout has it (build trees
included, kept out by .dockerignore), run with --pull never --network host, given traffic
through the containerised proxy, scraped, and stopped with `docker stop` while a connection is
open: the daemon must drain it and exit 0.

Run with `cmake --workflow --preset docker` (label `docker`; root needed).
"""
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.realpath(os.path.join(HERE, "../.."))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
from harness import EchoBackend, Metrics, NotifyReader, connect, free_port, recv_exact  # noqa: E402

# Debian's docker client, the same release as its dockerd (another client may be first on PATH).
DOCKER = shutil.which("docker", path="/usr/bin") or shutil.which("docker")
DOCKERD = shutil.which("dockerd", path="/usr/sbin:/usr/bin") or shutil.which("dockerd")
CACHE = os.environ.get("SWITCHYARD_CI_CACHE", "/var/cache/switchyard-ci")
BASE_MAX_AGE = 7 * 24 * 3600
IMAGE = "switchyard:test"
TIMINGS = {}


def timed(name):
    class Timer:
        def __enter__(self):
            self.start = time.monotonic()

        def __exit__(self, *exc):
            TIMINGS[name] = time.monotonic() - self.start
            print(f"[docker test] {name}: {TIMINGS[name]:.1f} s", flush=True)
    return Timer()


class Engine:
    """A dockerd of our own, talked to through its socket."""

    def __init__(self):
        if os.geteuid() != 0:
            pytest.fail("the docker test starts dockerd, which needs root")
        assert DOCKER and DOCKERD, "docker.io is not installed (bash .ci/install-deps)"
        # Short: containerd's sockets live under the exec root, and unix paths have 108 bytes.
        self.dir = tempfile.mkdtemp(prefix="swyd-", dir="/tmp")
        self.sock = os.path.join(self.dir, "docker.sock")
        self.env = dict(os.environ, DOCKER_HOST="unix://" + self.sock, DOCKER_BUILDKIT="0")
        self.env.pop("DOCKER_CONTEXT", None)
        notify_path = os.path.join(self.dir, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(120)
        self.log_path = os.path.join(self.dir, "dockerd.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [DOCKERD, "--storage-driver", "overlay2", "--data-root", os.path.join(self.dir, "data"),
                 "--exec-root", os.path.join(self.dir, "exec"), "-H", "unix://" + self.sock,
                 "--pidfile", os.path.join(self.dir, "docker.pid"),
                 "--bridge", "none", "--iptables=false", "--ip6tables=false", "--ip-masq=false"],
                stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, NOTIFY_SOCKET=notify_path))
        try:  # dockerd sends READY=1 once its API is served
            while "READY=1" not in notify.recv(4096).decode():
                pass
        except socket.timeout:
            self.stop()
            raise AssertionError("dockerd never became ready:\n" + self.log())
        finally:
            notify.close()

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-6000:]

    def run(self, *args, check=True, timeout=600, **kw):
        r = subprocess.run([DOCKER, *args], env=self.env, capture_output=True, text=True, timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r

    def popen(self, *args, **kw):
        return subprocess.Popen([DOCKER, *args], env=self.env, **kw)

    def stop(self):
        if self.proc.poll() is None:
            for container in self.run("ps", "-aq", check=False).stdout.split():
                self.run("rm", "-f", container, check=False)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # overlay mounts left by an unclean stop would keep the data root from being removed
        with open("/proc/mounts") as f:
            mounts = [line.split()[1] for line in f if line.split()[1].startswith(self.dir)]
        for m in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", m], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def engine():
    e = Engine()
    yield e
    e.stop()
    assert e.proc.returncode == 0, "dockerd did not stop cleanly:\n" + e.log()


def base_tarball():
    """The debootstrap'd Debian 12, from the cache while it is less than a week old and was
    made by the current make-debian-base.sh (its hash is in the file name)."""
    script = os.path.join(HERE, "make-debian-base.sh")
    with open(script, "rb") as f:
        version = hashlib.sha256(f.read()).hexdigest()[:12]
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"debian-bookworm-minbase-{version}.tar")
    if os.path.exists(path) and time.time() - os.path.getmtime(path) < BASE_MAX_AGE:
        return path, "cached"
    for old in os.listdir(CACHE):
        if old.startswith("debian-bookworm-minbase-") and old.endswith(".tar"):
            os.unlink(os.path.join(CACHE, old))
    subprocess.run(["bash", script, path], check=True, timeout=1800)
    return path, "debootstrap"


@pytest.fixture(scope="module")
def image(engine):
    with timed("base image (debootstrap or cache, docker import)"):
        path, how = base_tarball()
        with open(path, "rb") as f:
            engine.run("import", "-", "debian:bookworm-slim", stdin=f)
    print(f"[docker test] base from {how}: {path}")
    with timed("image build"):
        build_image(engine, IMAGE, ["-f", "docker/Dockerfile", "."])
    return IMAGE


def build_image(engine, tag, args):
    """docker build, printing how long each Dockerfile step took (apt downloads and the compile
    vary most from run to run)."""
    proc = engine.popen("build", "--network", "host", "-t", tag, *args, cwd=ROOT, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True)
    output, steps, step, start = [], [], None, time.monotonic()
    for line in proc.stdout:
        output.append(line)
        if line.startswith("Step "):
            now = time.monotonic()
            if step:
                steps.append((now - start, step))
            step, start = line.strip()[:90], now
    assert proc.wait(timeout=3000) == 0, "".join(output[-60:])
    steps.append((time.monotonic() - start, step))
    for seconds, what in steps:
        if seconds >= 5:
            print(f"[docker test]   {seconds:6.1f} s  {what}", flush=True)


def inspect(engine, what, template="{{json .}}"):
    return json.loads(engine.run("inspect", "--format", template, what).stdout)


def test_context_keeps_build_trees_out(engine, image, tmp_path):
    """A checkout where the README's build ran has build/default/CMakeCache.txt; .dockerignore
    keeps it (and .git) out of the context, so the image's own configure starts clean."""
    probe = os.path.join(ROOT, "build", "dockerignore-probe")
    os.makedirs(probe, exist_ok=True)
    with open(os.path.join(probe, "CMakeCache.txt"), "w") as f:
        f.write("# a developer's cache: must never reach the image build\n")
    try:
        dockerfile = ("FROM debian:bookworm-slim\nCOPY . /context\n"
                      "RUN test -f /context/CMakeLists.txt && test -f /context/docker/Dockerfile"
                      " && ! test -e /context/build && ! test -e /context/.git"
                      " && ! find /context -name CMakeCache.txt | grep .\n")
        engine.run("build", "--network", "host", "-t", "switchyard-context-probe", "-f", "-", ".", cwd=ROOT,
                   input=dockerfile)
    finally:
        shutil.rmtree(probe)


def test_image_shape(engine, image):
    config = inspect(engine, image, "{{json .Config}}")
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["/usr/bin/switchyard"]  # exec form: the daemon is PID 1
    assert config["Cmd"] == ["--config", "/etc/switchyard/switchyard.yaml"]
    assert config["Healthcheck"]["Test"] == ["CMD", "/usr/local/bin/switchyard-healthcheck"]
    assert config.get("StopSignal", "SIGTERM") == "SIGTERM"
    # Runtime only: no compiler, no headers; every shared library of the daemon and plugins resolves.
    r = engine.run("run", "--rm", "--pull", "never", "--network", "none", "--entrypoint", "/bin/sh", image, "-c",
                   "for t in c++ cc cmake /usr/include/boost /usr/include/switchyard; do"
                   "  command -v $t > /dev/null || test -e $t && echo present: $t; done;"
                   " ldd /usr/bin/switchyard /usr/lib/*/switchyard/plugins/*.so; id -u", check=False)
    assert "not found" not in r.stdout, r.stdout
    assert "present:" not in r.stdout, r.stdout
    assert r.stdout.split()[-1] == "10001"
    assert "libyaml-cpp.so.0.7" in r.stdout and "libspdlog.so.1" in r.stdout
    size = int(engine.run("image", "inspect", "--format", "{{.Size}}", image).stdout)
    print(f"[docker test] image size: {size / 1e6:.0f} MB")


def test_baked_config_checks_ok(engine, image):
    r = engine.run("run", "--rm", "--pull", "never", "--network", "host", image,
                   "--check-config", "/etc/switchyard/switchyard.yaml", check=False)
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout


class Container:
    """One `docker run -d` of the image with a mounted config and systemd's notify socket, so
    its READY=1 and STOPPING=1 reach the test as they would reach systemd (or podman)."""

    def __init__(self, engine, image, config_text, tmp_path, env=()):
        self.engine = engine
        config = tmp_path / "switchyard.yaml"
        config.write_text(config_text)
        os.chmod(config, 0o644)
        os.chmod(tmp_path, 0o755)
        notify_path = str(tmp_path / "notify.sock")
        self.notify = NotifyReader(notify_path)  # read all the time, as systemd does
        os.chmod(notify_path, 0o666)  # the container's user (uid 10001) writes to it
        env_args = [a for k, v in env for a in ("-e", f"{k}={v}")]
        self.id = engine.run("run", "-d", "--pull", "never", "--network", "host", "--health-interval", "1s",
                             "-v", f"{config}:/etc/switchyard/switchyard.yaml:ro",
                             "-v", f"{notify_path}:/run/notify.sock", "-e", "NOTIFY_SOCKET=/run/notify.sock",
                             *env_args, image).stdout.strip()

    def wait_for(self, state):
        try:
            return self.notify.wait_for(state, timeout=60)
        except AssertionError as e:
            raise AssertionError(f"{e}:\n" + self.logs()) from None

    def logs(self):
        r = self.engine.run("logs", self.id, check=False)
        return r.stdout + r.stderr

    def addresses(self):
        return dict(re.findall(r"listener (\S+) \(\w+\) listening on (\S+?) ->", self.logs()))


def wait_healthy(engine, container, timeout=60):
    """Docker's health_status event for the container (its HEALTHCHECK passing)."""
    events = engine.popen("events", "--since", "0", "--filter", f"container={container}",
                          "--filter", "event=health_status", "--format", "{{.Status}}",
                          stdout=subprocess.PIPE, text=True)
    timer = threading.Timer(timeout, events.kill)
    timer.start()
    try:
        for line in events.stdout:
            if line.strip() == "health_status: healthy":
                return True
        return False
    finally:
        timer.cancel()
        events.kill()
        events.wait()


def test_proxy_in_a_container_serves_scrapes_and_drains(engine, image, tmp_path):
    backend = EchoBackend()
    admin = f"127.0.0.1:{free_port()}"
    c = Container(engine, image, f"""
log: {{level: info, format: json}}
shutdown_timeout: 20s
metrics: {{listen: {admin}}}
upstreams:
  - {{name: backend, endpoints: [{backend.address}]}}
listeners:
  - {{name: proxy, listen: 127.0.0.1:0, reuse_port: true, upstream: backend}}
  - {{name: framed, listen: 127.0.0.1:0, handler: echo, codec: {{plugin: line}}}}
""", tmp_path, env=[("SWITCHYARD_ADMIN_ADDR", admin)])
    try:
        c.wait_for("READY=1")
        addrs = c.addresses()
        assert set(addrs) == {"proxy", "framed"}, c.logs()

        clients = [connect(addrs["proxy"]) for _ in range(20)]
        for i, s in enumerate(clients):
            s.sendall(b"hello %d\n" % i)
        for i, s in enumerate(clients):
            assert recv_exact(s, len(b"hello %d\n" % i)) == b"hello %d\n" % i
            s.close()
        with connect(addrs["framed"]) as s:
            s.sendall(b"one\ntwo\nthree\n")
            assert recv_exact(s, 14) == b"one\ntwo\nthree\n"

        with urllib.request.urlopen(f"http://{admin}/metrics", timeout=10) as r:
            m = Metrics(r.read().decode())
        assert m.get("switchyard_listener_connections_total", listener="proxy") == 20
        assert m.get("switchyard_listener_frames_received_total", listener="framed") == 3
        assert m.get("switchyard_upstream_connect_attempts_total", upstream="backend",
                     endpoint=backend.address) == 20
        assert m.sum("switchyard_build_info") == 1

        assert wait_healthy(engine, c.id), "HEALTHCHECK never passed:\n" + json.dumps(
            inspect(engine, c.id, "{{json .State.Health}}"), indent=1)
        # The check fails on anything but 200: ask for a path the daemon does not serve.
        r = engine.run("exec", "-e", "SWITCHYARD_HEALTH_PATH=/no-such-path", c.id,
                       "/usr/local/bin/switchyard-healthcheck", check=False)
        assert r.returncode == 1 and "HTTP 404" in r.stderr, r.stdout + r.stderr

        # docker stop: SIGTERM reaches the daemon (PID 1); it drains the open connection.
        held = connect(addrs["proxy"])
        held.sendall(b"before\n")
        assert recv_exact(held, 7) == b"before\n"
        started = time.monotonic()
        stopper = engine.popen("stop", "-t", "60", c.id, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        c.wait_for("STOPPING=1")
        held.sendall(b"during the drain\n")
        assert recv_exact(held, 17) == b"during the drain\n"
        # Draining: the health check fails (GET /healthz answers 503), so an orchestrator stops
        # sending clients here.
        r = engine.run("exec", c.id, "/usr/local/bin/switchyard-healthcheck", check=False)
        assert r.returncode == 1 and "HTTP 503" in r.stderr, r.stdout + r.stderr
        # The listeners close right after STOPPING=1: new connections are refused from then on.
        deadline = time.monotonic() + 10
        while True:
            try:
                connect(addrs["proxy"], timeout=1).close()
            except ConnectionRefusedError:
                break
            assert time.monotonic() < deadline, "the listener still accepts after SIGTERM"
            time.sleep(0.02)
        held.close()
        assert stopper.wait(timeout=60) == 0
        drained_in = time.monotonic() - started
        state = inspect(engine, c.id, "{{json .State}}")
        logs = c.logs()
        assert state["ExitCode"] == 0, logs
        assert not state["OOMKilled"]
        assert "SIGTERM: stopping" in logs and "draining 1 open connection(s)" in logs, logs
        assert "shutdown_timeout reached" not in logs
        assert logs.strip().splitlines()[-1].endswith('"msg":"stopped"}'), logs
        assert drained_in < 20, f"the drain should end when the last client closes, took {drained_in:.1f} s"
    finally:
        c.notify.close()
        backend.close()


def test_debian_package_installs_and_runs(engine, image, tmp_path):
    """The .debs the build stage made (cmake --workflow --preset deb) install into a bare
    Debian 12, apt resolving their dependencies; the postinst makes the switchyard user; the
    packaged daemon then runs the packaged config as that user and serves /metrics."""
    build_image(engine, "switchyard-build:test", ["--target", "build", "-f", "docker/Dockerfile", "."])  # cached
    debs = tmp_path / "debs"
    debs.mkdir()
    names = engine.run("run", "--rm", "--pull", "never", "--network", "none", "switchyard-build:test",
                       "sh", "-c", "cd build/deb && ls *.deb").stdout.split()
    assert sorted(n.split("_")[0] for n in names) == ["switchyard", "switchyard-dev"], names
    builder = engine.run("create", "switchyard-build:test", "true").stdout.strip()
    try:
        for name in names:
            engine.run("cp", f"{builder}:/src/build/deb/{name}", str(debs))
    finally:
        engine.run("rm", builder)
    os.chmod(tmp_path, 0o755)

    install = engine.run(
        "run", "--name", "swy-deb-install", "--pull", "never", "--network", "host",
        "-v", f"{debs}:/debs:ro", "debian:bookworm-slim", "bash", "-ec", """
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /debs/*.deb >/dev/null
            getent passwd switchyard
            dpkg-query -W -f='${Depends}\n' switchyard
            cat /var/lib/dpkg/info/switchyard.conffiles
            switchyard --check-config /etc/switchyard/switchyard.yaml
            ls /usr/lib/systemd/system/switchyard.service /usr/include/switchyard/codec.h \
               /usr/lib/*/switchyard/plugins/switchyard_codec_line.so
        """)
    out = install.stdout
    user = next(line for line in out.splitlines() if line.startswith("switchyard:")).split(":")
    assert 0 < int(user[2]) < 1000 and user[6] == "/usr/sbin/nologin", user
    assert "libyaml-cpp0.7" in out and "libspdlog" in out and "libc6" in out, out
    assert "/etc/switchyard/switchyard.yaml" in out  # a conffile: upgrades keep local edits
    assert "configuration OK" in out
    engine.run("commit", "swy-deb-install", "switchyard-deb:test")
    engine.run("rm", "swy-deb-install")

    # Its own network namespace: the packaged config's fixed ports collide with nothing.
    notify_path = str(tmp_path / "notify.sock")
    notify = NotifyReader(notify_path)
    os.chmod(notify_path, 0o666)
    try:
        daemon = engine.run("run", "-d", "--pull", "never", "--network", "none", "-v", f"{notify_path}:/run/notify.sock",
                            "-e", "NOTIFY_SOCKET=/run/notify.sock", "switchyard-deb:test",
                            "setpriv", "--reuid=switchyard", "--regid=switchyard", "--init-groups",
                            "switchyard", "--config", "/etc/switchyard/switchyard.yaml").stdout.strip()
        notify.wait_for("READY=1", timeout=60)
        scrape = engine.run("exec", daemon, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9464 && "
                            "printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3").stdout
        head, _, body = scrape.partition("\n\n")  # text mode: CRLF arrives as \n
        assert re.match(r"HTTP/1\.[01] 200", head), scrape
        m = Metrics(body)
        assert m.get("switchyard_listener_connections_total", listener="app-in") == 0, body
        assert m.sum("switchyard_build_info") == 1
        ps = engine.run("exec", daemon, "cat", "/proc/1/status").stdout
        uid = re.search(r"^Uid:\s+(\d+)", ps, re.M).group(1)
        assert uid == user[2], "the daemon runs as the packaged user"
        engine.run("stop", daemon)
        assert inspect(engine, daemon, "{{json .State.ExitCode}}") == 0, engine.run("logs", daemon).stderr
    finally:
        notify.close()


def test_compose_and_prometheus_files(engine):
    """docker/compose.yaml is a valid Compose file, and the Prometheus config it mounts passes
    promtool."""
    r = subprocess.run(["docker-compose", "-f", "docker/compose.yaml", "config", "-q"], cwd=ROOT,
                       capture_output=True, text=True, env=engine.env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    services = subprocess.run(["docker-compose", "-f", "docker/compose.yaml", "config", "--services"], cwd=ROOT,
                              capture_output=True, text=True, env=engine.env, timeout=120).stdout.split()
    assert sorted(services) == ["prometheus", "redis", "switchyard"]
    r = subprocess.run(["promtool", "check", "config", "docker/prometheus.yml"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
