#!/usr/bin/env python3
"""Metrics cost in instructions, not seconds: runs switchyard under callgrind with the metrics
exporter off (`metrics: {listen: ""}`: no counting at all) and on, relays the same kind of
traffic (loadgen ping-pong on one connection, raw and line-framed), and prints the daemon's
user-space instructions per relayed message
and the on/off ratio. Instruction counts are repeatable where throughput on a shared 2-core
machine swings by 10-20 % between runs, so this is how the "metrics cost within 3 %" claim is
checked. Loopback only; every step bounded in time.

    tests/bench/metrics-cost-instructions.py [--switchyard PATH] [--loadgen PATH] [--seconds N]
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"port {port} never accepted")


def callgrind_total(pid, work):
    """Dumps the running callgrind's counters (which zeroes them) and returns the instructions
    counted since the previous dump."""
    subprocess.run(["callgrind_control", "-d", str(pid)], capture_output=True, timeout=60)
    dumps = sorted(glob.glob(os.path.join(work, "callgrind.out.*")), key=os.path.getmtime)
    total = 0
    for line in open(dumps[-1]):
        m = re.match(r"^(summary|totals):\s+(\d+)", line)
        if m:
            total = int(m.group(2))
    for d in dumps:
        os.unlink(d)
    return total


def measure(args, metrics_listen, framing, work):
    echo_port, port = free_port(), free_port()
    codec = ", codec: {plugin: line}" if framing == "line" else ""
    cfg = os.path.join(work, "switchyard.yaml")
    with open(cfg, "w") as f:
        f.write(f"""loops: 1
log: {{level: warn}}
metrics: {{listen: "{metrics_listen}"}}
upstreams:
  - {{name: echo, endpoints: [127.0.0.1:{echo_port}]}}
listeners:
  - {{name: p, listen: 127.0.0.1:{port}, upstream: echo{codec}}}
""")
    echo = subprocess.Popen([args.loadgen, "--server", "--listen", f"127.0.0.1:{echo_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    daemon = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={work}/callgrind.out.%p.%n",
                               args.switchyard, "--config", cfg], cwd=work,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_port(echo_port)
        wait_port(port)
        # One connection, one message in flight: every message is exactly one read and one write
        # per direction, so instructions per message do not depend on how traffic batches.
        lg = [args.loadgen, "--target", f"127.0.0.1:{port}", "--connections", "1", "--mode", "pingpong",
              "--size", "64", "--framing", framing, "--warmup", "0"]
        subprocess.run(lg + ["--duration", "2"], capture_output=True, timeout=120)  # warm up
        callgrind_total(daemon.pid, work)  # a dump zeroes the counters: count from here
        r = subprocess.run(lg + ["--duration", str(args.seconds)], capture_output=True, text=True, timeout=300)
        measured = callgrind_total(daemon.pid, work)
        summary = json.loads(r.stdout.strip().splitlines()[-1])
        if summary["errors"]:
            raise RuntimeError(f"loadgen errors: {summary}")
        return measured / max(1, summary["messages"]), summary["messages"]
    finally:
        for p in (daemon, echo):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--switchyard", default=os.environ.get("SWITCHYARD_BIN", f"{ROOT}/build/default/daemon/switchyard"))
    p.add_argument("--loadgen", default=os.environ.get("LOADGEN_BIN", f"{ROOT}/build/default/tests/bench/switchyard-loadgen"))
    p.add_argument("--seconds", type=int, default=5)
    args = p.parse_args()
    for tool in ("valgrind", "callgrind_control"):
        if not shutil.which(tool):
            sys.exit(f"{tool} missing: apt-get install valgrind")
    print("| Row | instructions/msg, metrics off | metrics on | on/off |")
    print("|---|---:|---:|---:|")
    for framing in ("none", "line"):
        work = tempfile.mkdtemp(prefix="swy-callgrind-")
        off, n_off = measure(args, "", framing, work)
        on, n_on = measure(args, f"127.0.0.1:{free_port()}", framing, work)
        shutil.rmtree(work, ignore_errors=True)
        name = "raw ping-pong" if framing == "none" else "line ping-pong"
        print(f"| {name} | {off:,.0f} ({n_off:,} msgs) | {on:,.0f} ({n_on:,} msgs) | {on / off:.3f} |", flush=True)


if __name__ == "__main__":
    main()
