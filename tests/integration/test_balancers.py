"""Loop balancers: how new connections spread over the loops (observed via /metrics)."""
import os
import random

from harness import Daemon, recv_exact, wait_until


def config(balancer, reuse_port=False):
    return f"""
loops: 4
tick: 20ms
metrics: {{listen: 127.0.0.1:0}}
listeners:
  - {{name: e, listen: 127.0.0.1:0, handler: echo, balancer: {balancer}, reuse_port: {str(reuse_port).lower()}}}
"""


def loop_counts(d, expected_total):
    def read():
        series = d.metrics().series("switchyard_loop_connections_active")
        counts = [int(series.get(str(i), 0)) for i in range(4)]
        return counts if sum(counts) == expected_total else None
    return wait_until(read, what=f"{expected_total} connections on the loops")


def open_clients(d, n, source_ip=None):
    clients = []
    for i in range(n):
        s = d.client("e", source_ip=source_ip)
        s.sendall(b"?")
        assert recv_exact(s, 1) == b"?"  # the session is up on its loop
        clients.append(s)
    return clients


def test_round_robin_spreads_evenly():
    with Daemon(config("round-robin")) as d:
        open_clients(d, 100)
        assert loop_counts(d, 100) == [25, 25, 25, 25]


def test_round_robin_with_reuse_port_still_spreads_evenly():
    with Daemon(config("round-robin", reuse_port=True)) as d:
        open_clients(d, 100)
        assert loop_counts(d, 100) == [25, 25, 25, 25]


def test_source_addr_hash_keeps_a_client_ip_on_one_loop():
    with Daemon(config("source-addr-hash")) as d:
        used = set()
        total = 0
        for k in range(1, 9):
            ip = f"127.0.0.{k}"
            before = loop_counts(d, total)
            clients = open_clients(d, 6, source_ip=ip)
            after = loop_counts(d, total + 6)
            grown = [i for i in range(4) if after[i] != before[i]]
            assert len(grown) == 1 and after[grown[0]] - before[grown[0]] == 6, (ip, before, after)
            used.add(grown[0])
            for c in clients:
                c.close()
            d.clients = [c for c in d.clients if c not in clients]
            loop_counts(d, total)
        assert len(used) >= 2, "8 client IPs all hashed to one loop"


def test_least_connections_refills_the_emptiest_loops():
    with Daemon(config("least-connections")) as d:
        clients = open_clients(d, 40)
        assert loop_counts(d, 40) == [10, 10, 10, 10]
        rng = random.Random(7)
        closing = rng.sample(clients, 15)
        for c in closing:
            c.close()
        d.clients = [c for c in d.clients if c not in closing]
        uneven = loop_counts(d, 25)
        open_clients(d, 15)
        # Each new connection went to the loop with the fewest: back to an even spread,
        # whatever the closes left behind.
        assert loop_counts(d, 40) == [10, 10, 10, 10], uneven


def test_each_loop_is_a_named_thread():
    """`loops: 4` runs four threads an operator can find in `top -H`: sy-loop-0 .. sy-loop-3."""
    with Daemon(config("round-robin")) as d:
        def names():
            found = sorted(open(f"/proc/{d.proc.pid}/task/{t}/comm").read().strip()
                           for t in os.listdir(f"/proc/{d.proc.pid}/task"))
            # A loop names itself as its thread starts, which may be just after READY.
            return found if len([n for n in found if n.startswith("sy-loop-")]) >= 4 else None
        found = wait_until(names, what="four named loop threads")
        assert [n for n in found if n.startswith("sy-loop-")] == [f"sy-loop-{i}" for i in range(4)]
        assert "sy-admin" in found
