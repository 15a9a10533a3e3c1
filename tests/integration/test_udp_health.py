"""Upstream health for UDP endpoints: active checks that send a datagram (ICMP port unreachable,
a reply, the expected bytes), passive ejection by refusals and recovery by replies, for udp
listeners and for stream clients bridged to UDP upstreams, when_all_down, and reloads that leave
a udp listener on the configuration it started with."""
import socket

from harness import Daemon, UdpEchoBackend, connect, free_port, udp_client, wait_until


def metric(d, name, **labels):
    return d.metrics().get(name, 0.0, **labels)


def test_when_all_down_reject_drops_a_udp_clients_datagram_without_a_session():
    dead = f"127.0.0.1:{free_port()}"
    with Daemon(f"""
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: gone, when_all_down: reject, max_fails: 1, fail_timeout: 1m, endpoints: ["{dead}"]}}
listeners:
  - {{name: u, protocol: udp, listen: "127.0.0.1:0", upstream: gone}}
""") as d:
        first = udp_client(d.addr("u"))
        first.send(b"anyone?")  # refused: max_fails 1 ejects the only endpoint
        wait_until(lambda: metric(d, "switchyard_upstream_ejections_total", upstream="gone", endpoint=dead,
                                  cause="max_fails") == 1, what="the endpoint ejected")
        second = udp_client(d.addr("u"))  # a new client address: a new session would be opened
        second.send(b"and now?")
        wait_until(lambda: metric(d, "switchyard_listener_connections_rejected_total", listener="u",
                                  reason="no_healthy_endpoint") == 1, what="the datagram rejected")
        m = d.metrics()
        assert m.get("switchyard_upstream_all_down_total", upstream="gone", when_all_down="reject") == 1
        assert m.get("switchyard_upstream_connect_attempts_total", upstream="gone", endpoint=dead) == 1
        assert m.get("switchyard_udp_sessions_total", listener="u") == 2  # the second opened none
        assert "no healthy endpoint in upstream gone (when_all_down: reject)" in d.log()
        first.close()
        second.close()


def test_when_all_down_reject_closes_a_stream_client_bridged_to_udp():
    dead = f"127.0.0.1:{free_port()}"
    with Daemon(f"""
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: gone, protocol: udp, when_all_down: reject, max_fails: 1, fail_timeout: 1m, endpoints: ["{dead}"]}}
listeners:
  - {{name: t, listen: "127.0.0.1:0", upstream: gone, codec: {{plugin: line}}}}
""") as d:
        s = d.client("t")
        s.sendall(b"anyone?\n")
        assert s.recv(100) == b""  # refused: closed, and the endpoint ejected
        assert metric(d, "switchyard_upstream_ejections_total", upstream="gone", endpoint=dead, cause="max_fails") == 1
        s = d.client("t")
        assert s.recv(100) == b""  # nothing healthy: closed at once
        wait_until(lambda: metric(d, "switchyard_listener_connections_rejected_total", listener="t",
                                  reason="no_healthy_endpoint") == 1, what="the connection rejected")
        assert metric(d, "switchyard_upstream_all_down_total", upstream="gone", when_all_down="reject") == 1


def test_when_all_down_reject_keeps_a_udp_to_stream_bridge_down_and_retrying():
    dead = f"127.0.0.1:{free_port()}"
    with Daemon(f"""
shutdown_timeout: 1s
metrics: {{listen: 127.0.0.1:0}}
upstreams:
  - {{name: gone, protocol: tcp, when_all_down: reject, max_fails: 1, fail_timeout: 1m, endpoints: ["{dead}"]}}
listeners:
  - {{name: u, protocol: udp, listen: "127.0.0.1:0", upstream: gone, codec: {{plugin: line}}}}
""") as d:
        # The pooled stream connection's first connect is refused and ejects the endpoint; its
        # retries then find nothing healthy, and back off.
        wait_until(lambda: metric(d, "switchyard_upstream_all_down_total", upstream="gone",
                                  when_all_down="reject") >= 2, what="retries finding no healthy endpoint")
        c = udp_client(d.addr("u"))
        c.send(b"dropped\n")
        wait_until(lambda: metric(d, "switchyard_udp_datagrams_dropped_total", listener="u",
                                  reason="stream_down") == 1, what="the datagram dropped")
        assert metric(d, "switchyard_upstream_connect_attempts_total", upstream="gone", endpoint=dead) == 1
        assert d.proc.poll() is None
        c.close()
