#!/usr/bin/env python3
"""UDP rows of the benchmark: switchyard vs nginx stream UDP vs pen -U vs direct, every target in
the same run, on loopback, bounded in time (nginx and pen rows when they are installed).

Rows: request/response (each client keeps one datagram in flight to an echo backend: DNS-like),
64 and 1,200 bytes, many clients; one-way to a counting sink, 64 and 1,200 bytes, unpaced (the
saturation rate: delivered datagrams/s and loss, compared as ratios) and paced at a fixed rate
below every target's saturation (a loss check: nothing may be lost there, so no ratio); and the
RSS per idle session with 8,000 sessions held.
Load and backends: tests/bench/udpgen (switchyard-udpgen); the echo backend is a one-loop
switchyard `handler: echo` udp listener, the same for every target.

    python3 tests/bench/run-udp-bench.py [--duration 5] [--clients 200] [--rate 100000] [--json FILE]
"""
import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def children(pid):
    out = [pid]
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                for c in f.read().split():
                    out += children(int(c))
    except FileNotFoundError:
        pass
    return out


class Proc:
    def __init__(self, argv, work, name, open_files=None):
        self.log = open(work / f"{name}.log", "wb")
        # pen keeps the soft limit it is given (1,024 here): the RSS row holds 8,000 sessions.
        limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))) if open_files else None
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=limit)
        self.name = name

    def cpu_seconds(self):
        """User + system CPU time of the process and its children (nginx's workers), seconds."""
        ticks = 0
        for pid in children(self.proc.pid):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
            except (FileNotFoundError, ProcessLookupError):
                pass
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def wait_udp_echo(port, timeout=10):
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.monotonic() < deadline:
            s.sendto(b"ping-check-0000000", ("127.0.0.1", port))
            try:
                if s.recv(100):
                    return
            except socket.timeout:
                pass
    raise RuntimeError(f"nothing answers on udp port {port}")


def switchyard(binary, work, name, listen_port, body):
    cfg = work / f"{name}.yaml"
    cfg.write_text(f"log: {{level: warn}}\nshutdown_timeout: 1s\n{body}".replace("PORT", str(listen_port)))
    return Proc([binary, "--config", str(cfg)], work, name)


def nginx(work, listen_port, backend_port, responses):
    conf = work / "nginx.conf"
    (work / "nginx").mkdir(exist_ok=True)
    module = "/usr/lib/nginx/modules/ngx_stream_module.so"
    load = f"load_module {module};" if os.path.exists(module) else ""
    resp = f"proxy_responses {responses};" if responses is not None else ""
    conf.write_text(f"""{load}
worker_processes 2;
daemon off;
pid {work}/nginx/nginx.pid;
error_log {work}/nginx/error.log error;
worker_rlimit_nofile 20000;
events {{ worker_connections 20000; }}
stream {{
  server {{
    listen 127.0.0.1:{listen_port} udp reuseport;
    proxy_pass 127.0.0.1:{backend_port};
    {resp}
    proxy_timeout 60s;
  }}
}}
""")
    return Proc(["nginx", "-c", str(conf), "-p", str(work / "nginx")], work, "nginx")


def pen(work, listen_port, backend_port, sessions):
    """pen's UDP mode (Debian's pen): one process, a client table of `sessions` entries."""
    return Proc(["pen", "-U", "-f", "-r", "-x", str(sessions + 1000), "-c", str(sessions + 1000),
                 f"127.0.0.1:{listen_port}", f"127.0.0.1:{backend_port}"], work, "pen",
                open_files=min(20000, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


def udpgen(gen, args, timeout):
    r = subprocess.run([gen, *args], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"udpgen {args}: {r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def hold_sessions(port, count, deadline_s=60):
    """count clients, each with one answered exchange (a session held by the proxy), opened in
    waves of 200. Returns the sockets and how many got their answer."""
    import selectors
    sel = selectors.DefaultSelector()
    socks = []
    answered = 0
    deadline = time.monotonic() + deadline_s
    for wave in range(0, count, 200):
        pending = {}
        for i in range(wave, min(count, wave + 200)):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            socks.append(s)
            s.send(b"hold%06d" % i)
            pending[s] = i
            sel.register(s, selectors.EVENT_READ)
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.5):
                try:
                    key.fileobj.recv(100)
                except OSError:
                    continue
                sel.unregister(key.fileobj)
                pending.pop(key.fileobj, None)
                answered += 1
        for s in pending:
            sel.unregister(s)
    return socks, answered


def med(values):
    v = sorted(values)
    return v[len(v) // 2]


def paired(results, key, field, num, den):
    """Median of the per-round ratios num/den with their range (targets take turns each round)."""
    rounds = [x[field] / y[field] for x, y in zip(results[key][num], results[key][den]) if y[field]]
    if not rounds:
        return "—"
    text = f"{med(rounds):.2f}"
    return text + (f" ({min(rounds):.2f}–{max(rounds):.2f})" if len(rounds) > 1 else "")


def render(results, targets, a):
    """The Markdown table: medians over the rounds, ratios as medians of per-round ratios."""
    others = [t for t in targets if t not in ("direct", "switchyard")]
    names = {"nginx": "nginx stream", "pen": "pen -U"}
    out = ["| Row | unit | direct | " + " | ".join(names[t] for t in others) + " | switchyard | " +
           " | ".join(f"switchyard/{t}" for t in others) + " | switchyard/direct |",
           "|---|---|" + "---:|" * (2 * len(others) + 3)]
    rows = [("rr64", f"request/response 64 B, {a.clients} clients", "replies/s (p50/p99 µs, lost)"),
            ("rr1200", f"request/response 1,200 B, {a.clients} clients", "replies/s (p50/p99 µs, lost)"),
            ("ow64", f"one-way 64 B, {a.rate:,}/s offered, 50 clients", "delivered/s (loss)"),
            ("ow1200", f"one-way 1,200 B, {a.rate:,}/s offered, 50 clients", "delivered/s (loss)"),
            ("sat64", "one-way 64 B, unpaced (saturation), 50 clients", "delivered/s (loss)"),
            ("sat1200", "one-way 1,200 B, unpaced (saturation), 50 clients", "delivered/s (loss)")]
    for key, title, unit in rows:
        if key not in results:
            continue
        rr = key.startswith("rr")
        field = "datagrams_per_s" if rr else "delivered_per_s"
        row = f"| {title} | {unit} |"
        for t in ["direct", *others, "switchyard"]:
            runs = results[key][t]
            if rr:
                row += (f" {med([r[field] for r in runs]):,.0f} ({med([r['p50_us'] for r in runs])}/"
                        f"{med([r['p99_us'] for r in runs])}, {sum(r['lost'] for r in runs)}) |")
            else:
                row += f" {med([r[field] for r in runs]):,.0f} ({med([r['loss'] for r in runs]) * 100:.2f} %) |"
        if key.startswith("ow"):
            # Paced below every target's saturation: each delivers what was offered, so the row
            # checks loss (none may be lost below saturation); a ratio would say 1.00 by design.
            row += " loss check |" * (len(others) + 1)
        else:
            for t in [*others, "direct"]:
                row += f" {paired(results, key, field, 'switchyard', t)} |"
        out.append(row)
    # What each proxy process spent per exchange (user + system, its workers included): on
    # loopback the kernel's UDP path, charged to whoever sends, is most of it.
    for key, size in (("rr64", 64), ("rr1200", 1200)):
        if key not in results:
            continue
        row = f"| proxy CPU per exchange, request/response {size:,} B | µs (user + system) | — |"
        for t in [*others, "switchyard"]:
            row += f" {med([r['proxy_cpu_us'] for r in results[key][t]]):.2f} |"
        for t in others:
            row += f" {paired(results, key, 'proxy_cpu_us', 'switchyard', t)} |"
        out.append(row + " |")
    rss = results.get("rss", {})
    row = f"| RSS per idle session ({a.sessions:,} held) | KiB/session | — |"
    for t in [*others, "switchyard"]:
        if t not in rss:
            row += " — |"
            continue
        held = rss[t]["sessions"]
        row += f" {rss[t]['kib_per_session']:.2f}{'' if held == a.sessions else f' ({held:,} held)'} |"
    out.append(row + " |" * (len(others) + 1))
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--rate", type=int, default=30000, help="offered datagrams/s in the paced one-way rows")
    p.add_argument("--saturation-rate", type=int, default=1000000,
                   help="offered datagrams/s in the saturating one-way row (more than any target takes)")
    p.add_argument("--sessions", type=int, default=8000, help="sessions held for the RSS row")
    p.add_argument("--repeat", type=int, default=1, help="rounds; the median of each cell is reported")
    p.add_argument("--switchyard", default=str(ROOT / "build/default/daemon/switchyard"))
    p.add_argument("--udpgen", default=str(ROOT / "build/default/tests/bench/switchyard-udpgen"))
    p.add_argument("--json", help="also write the figures to this file")
    a = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="swy-udp-bench-"))
    targets = ["direct"] + [t for t in ("nginx", "pen") if shutil.which(t)] + ["switchyard"]
    results = {}
    procs = []
    try:
        echo_port = free_port()
        echo = switchyard(a.switchyard, work, "echo-backend", echo_port,
                          "loops: 1\nlisteners:\n  - {name: e, protocol: udp, listen: \"127.0.0.1:PORT\", handler: echo}\n")
        procs.append(echo)
        wait_udp_echo(echo_port)
        sink_proc = subprocess.Popen([a.udpgen, "--sink", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
        sink_port = int(sink_proc.stdout.readline().split()[1])

        def proxies(backend_port, responses, only=None):
            """Starts the proxies (all, or `only` that one) towards backend_port; returns
            ({target: port}, {target: Proc})."""
            ports = {"direct": backend_port}
            started = {}
            if "nginx" in targets and only in (None, "nginx"):
                ports["nginx"] = free_port()
                started["nginx"] = nginx(work, ports["nginx"], backend_port, responses)
            if "pen" in targets and only in (None, "pen"):
                ports["pen"] = free_port()
                started["pen"] = pen(work, ports["pen"], backend_port, max(a.sessions, a.clients))
            if only not in (None, "switchyard"):
                time.sleep(0.5)
                return ports, started
            ports["switchyard"] = free_port()
            resp = f", responses: {responses}" if responses is not None else ""
            started["switchyard"] = (switchyard(a.switchyard, work, "switchyard", ports["switchyard"],
                                      f"loops: 2\nupstreams:\n  - {{name: b, endpoints: [\"127.0.0.1:{backend_port}\"]}}\n"
                                      f"listeners:\n  - {{name: u, protocol: udp, listen: \"127.0.0.1:PORT\", upstream: b, "
                                      f"reuse_port: true{resp}}}\n"))
            time.sleep(0.5)  # bind; the first measured exchange proves it (warm-up)
            return ports, started

        # Request/response rows. No `responses` limit: sessions live across the whole run, as
        # one client port keeps sending (DNS resolvers reuse ports too).
        ports, started = proxies(echo_port, None)
        for target in targets:
            if target != "direct":
                wait_udp_echo(ports[target])
        for size in (64, 1200):
            key = f"rr{size}"
            for rnd in range(a.repeat):
                order = targets if rnd % 2 == 0 else targets[::-1]  # drift weighs on all alike
                for target in order:  # every target in the same round, in turn
                    cpu_before = started[target].cpu_seconds() if target in started else 0
                    r = udpgen(a.udpgen, ["--target", f"127.0.0.1:{ports[target]}", "--mode", "pingpong",
                                          "--clients", str(a.clients), "--size", str(size),
                                          "--duration", str(a.duration)], timeout=a.duration + 30)
                    if target in started:  # what the proxy spent per exchange, kernel included
                        exchanges = max(1, r["datagrams_per_s"] * a.duration)
                        r["proxy_cpu_us"] = (started[target].cpu_seconds() - cpu_before) / exchanges * 1e6
                    results.setdefault(key, {}).setdefault(target, []).append(r)
                    print(key, target, r, flush=True)
        for s in started.values():
            s.stop()

        # One-way rows, to the counting sink.
        ports, started = proxies(sink_port, None)
        time.sleep(0.5)
        for size, rate, key in ((64, a.rate, "ow64"), (1200, a.rate, "ow1200"), (64, a.saturation_rate, "sat64"),
                                (1200, a.saturation_rate, "sat1200")):
            for rnd in range(a.repeat):
                for target in targets:
                    # The sink's count is read as a difference: query it by restarting is costly,
                    # so each measurement has its own sink.
                    sink_proc.send_signal(signal.SIGTERM)
                    base = sink_proc.communicate(timeout=10)[0]
                    sink_proc = subprocess.Popen([a.udpgen, "--sink", "--listen", f"127.0.0.1:{sink_port}"],
                                                 stdout=subprocess.PIPE, text=True)
                    sink_proc.stdout.readline()
                    r = udpgen(a.udpgen, ["--target", f"127.0.0.1:{ports[target]}", "--mode", "oneway",
                                          "--clients", "50", "--size", str(size), "--rate", str(rate),
                                          "--warmup", "0", "--duration", str(a.duration)], timeout=a.duration + 30)
                    time.sleep(0.3)  # datagrams still in flight reach the sink
                    sink_proc.send_signal(signal.SIGTERM)
                    out = sink_proc.communicate(timeout=10)[0]
                    received = json.loads(out.strip().splitlines()[-1])["received"]
                    r["received"] = received
                    r["delivered_per_s"] = received / a.duration
                    r["loss"] = max(0, r["sent"] - received) / max(1, r["sent"])
                    results.setdefault(key, {}).setdefault(target, []).append(r)
                    print(key, target, r, flush=True)
                    sink_proc = subprocess.Popen([a.udpgen, "--sink", "--listen", f"127.0.0.1:{sink_port}"],
                                                 stdout=subprocess.PIPE, text=True)
                    sink_proc.stdout.readline()
        for s in started.values():
            s.stop()

        # RSS per idle session.
        rss = {}
        for target in [t for t in targets if t != "direct"]:
            ports, started = proxies(echo_port, None, only=target)
            proc = started[target]
            wait_udp_echo(ports[target])
            time.sleep(0.5)
            pids = children(proc.proc.pid)
            before = rss_kib(pids)
            socks, held = hold_sessions(ports[target], a.sessions)
            time.sleep(1)
            after = rss_kib(children(proc.proc.pid))
            rss[target] = {"sessions": held, "asked": a.sessions, "before_kib": before, "after_kib": after,
                           "kib_per_session": (after - before) / max(1, held)}
            print("rss", target, rss[target], flush=True)
            for s in socks:
                s.close()
            for s in started.values():
                s.stop()
        results["rss"] = rss
        sink_proc.send_signal(signal.SIGTERM)
        sink_proc.communicate(timeout=10)
    finally:
        for pr in procs:
            pr.stop()

    print()
    print(render(results, targets, a))
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
