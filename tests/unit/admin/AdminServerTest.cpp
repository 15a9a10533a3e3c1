// Starts the admin endpoint on 127.0.0.1:0 and talks to it over real sockets with a plain POSIX client.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <zlib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/admin/AdminServer.hpp"
#include "core/metrics/Exposition.hpp"
#include "core/metrics/ShardedMetrics.hpp"

using namespace switchyard::admin;
using namespace switchyard::metrics;
using namespace std::chrono_literals;

namespace {

// A connected client socket with a receive timeout, so a broken server fails the test instead of
// hanging it.
class Client {
public:
    explicit Client(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        timeval timeout{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    }
    ~Client() { ::close(fd_); }

    void send(const std::string& data) {
        REQUIRE(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(data.size()));
    }

    // Everything until the server closes; fails on the 5 s receive timeout.
    std::string read_to_end() {
        std::string out;
        char buffer[16384];
        for (;;) {
            ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            REQUIRE(n >= 0);  // -1: timed out waiting for the server to finish or close
            if (n == 0) return out;
            out.append(buffer, static_cast<std::size_t>(n));
        }
    }

    // One response, framed by its Content-Length, leaving the connection open.
    std::string read_response() {
        std::string out;
        char buffer[16384];
        for (;;) {
            auto header_end = out.find("\r\n\r\n");
            if (header_end != std::string::npos) {
                auto length_at = out.find("Content-Length: ");
                REQUIRE(length_at != std::string::npos);
                std::size_t length = std::stoul(out.substr(length_at + 16));
                if (out.size() >= header_end + 4 + length) return out;
            }
            ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            REQUIRE(n > 0);
            out.append(buffer, static_cast<std::size_t>(n));
        }
    }

    int fd() const { return fd_; }

private:
    int fd_ = -1;
};

std::string fetch(std::uint16_t port, const std::string& request) {
    Client client(port);
    client.send(request);
    return client.read_to_end();
}

std::string status_line(const std::string& response) {
    return response.substr(0, response.find("\r\n"));
}

std::string body_of(const std::string& response) {
    auto end = response.find("\r\n\r\n");
    return end == std::string::npos ? "" : response.substr(end + 4);
}

// The value of header `name` ("" when absent).
std::string header_of(const std::string& response, const std::string& name) {
    auto at = response.find("\r\n" + name + ": ");
    if (at == std::string::npos || at > response.find("\r\n\r\n")) return "";
    at += name.size() + 4;
    return response.substr(at, response.find("\r\n", at) - at);
}

// Inflates a gzip member with zlib (windowBits 15 + 16 takes only gzip); fails the test on error.
std::string gunzip(const std::string& data) {
    z_stream stream{};
    REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
    std::string out;
    char buffer[16384];
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    int rc = Z_OK;
    while (rc == Z_OK) {
        stream.next_out = reinterpret_cast<Bytef*>(buffer);
        stream.avail_out = sizeof buffer;
        rc = inflate(&stream, Z_NO_FLUSH);
        out.append(buffer, sizeof buffer - stream.avail_out);
    }
    inflateEnd(&stream);
    REQUIRE(rc == Z_STREAM_END);
    return out;
}

struct RunningServer {
    std::shared_ptr<ShardedMetrics> registry = std::make_shared<ShardedMetrics>(2);
    Exposition exposition;
    std::atomic<bool> healthy{true};
    AdminServer server;
    explicit RunningServer(AdminServerLimits limits = {})
        : server(exposition, [this] { return probe(); }, "127.0.0.1:0", "/metrics", limits) {
        exposition.add(registry);
        registry->counter("test_requests_total", "Requests.", {"code"}).with({"200"}).inc(1, 5);
        server.start();
    }
    HealthReport probe() const {
        return healthy.load() ? HealthReport{true, "serving: test"} : HealthReport{false, "draining: test"};
    }
};

HealthReport always_healthy() { return {true, "ok"}; }

}  // namespace

TEST_CASE("GET /metrics answers 200 with the Prometheus content type and the registry text") {
    RunningServer running;
    REQUIRE(running.server.bound_port() != 0);
    const std::string response = fetch(
        running.server.bound_port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(status_line(response) == "HTTP/1.1 200 OK");
    CHECK(response.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") !=
          std::string::npos);
    CHECK(body_of(response) == running.exposition.serialize());
    CHECK(body_of(response).find("test_requests_total{code=\"200\"} 5\n") != std::string::npos);
}

TEST_CASE("keep-alive serves several requests on one connection, each with fresh values") {
    RunningServer running;
    Client client(running.server.bound_port());
    client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string first = client.read_response();
    CHECK(status_line(first) == "HTTP/1.1 200 OK");
    CHECK(body_of(first).find("test_requests_total{code=\"200\"} 5\n") != std::string::npos);

    running.registry->counter("test_requests_total_2", "Requests.").with({}).inc(0, 2);
    client.send("GET /metrics?ignored=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string second = client.read_to_end();
    CHECK(status_line(second) == "HTTP/1.1 200 OK");
    CHECK(body_of(second).find("test_requests_total_2 2\n") != std::string::npos);
}

TEST_CASE("HEAD /metrics sends the headers with the body's length and no body") {
    RunningServer running;
    const std::string response = fetch(
        running.server.bound_port(), "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(status_line(response) == "HTTP/1.1 200 OK");
    CHECK(response.find("Content-Length: " + std::to_string(running.exposition.serialize().size()) +
                        "\r\n") != std::string::npos);
    CHECK(body_of(response).empty());
}

TEST_CASE("/ links to the metrics path; other paths are 404; other methods 405") {
    RunningServer running;
    const auto port = running.server.bound_port();

    const std::string root = fetch(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(status_line(root) == "HTTP/1.1 200 OK");
    CHECK(body_of(root).find("<a href=\"/metrics\">") != std::string::npos);

    const std::string missing =
        fetch(port, "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(status_line(missing) == "HTTP/1.1 404 Not Found");

    const std::string post = fetch(
        port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
    CHECK(status_line(post) == "HTTP/1.1 405 Method Not Allowed");
    CHECK(post.find("\r\nAllow: GET, HEAD\r\n") != std::string::npos);
}

TEST_CASE("HTTP/1.0 without keep-alive gets its answer and a closed connection") {
    RunningServer running;
    const std::string response =
        fetch(running.server.bound_port(), "GET /metrics HTTP/1.0\r\n\r\n");
    CHECK(status_line(response) == "HTTP/1.0 200 OK");
}

TEST_CASE("oversized or malformed requests are refused and the connection closed") {
    AdminServerLimits limits;
    limits.max_header_bytes = 1024;
    limits.max_body_bytes = 16;
    RunningServer running(limits);
    const auto port = running.server.bound_port();

    const std::string big_header = fetch(
        port, "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
    CHECK(status_line(big_header) == "HTTP/1.1 431 Request Header Fields Too Large");

    const std::string big_body = fetch(
        port, "POST /metrics HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b'));
    CHECK(status_line(big_body) == "HTTP/1.1 413 Payload Too Large");

    const std::string garbage = fetch(port, "NOT HTTP AT ALL\r\n\r\n");
    CHECK(status_line(garbage) == "HTTP/1.1 400 Bad Request");
}

TEST_CASE("an idle client is closed after the idle timeout") {
    AdminServerLimits limits;
    limits.idle_timeout = 200ms;
    RunningServer running(limits);
    Client idle(running.server.bound_port());
    const auto started = std::chrono::steady_clock::now();
    CHECK(idle.read_to_end().empty());  // EOF, not the 5 s receive timeout
    const auto waited = std::chrono::steady_clock::now() - started;
    CHECK(waited >= 150ms);
    CHECK(waited < 3s);

    // A client sending half a request is timed out the same way.
    Client slow(running.server.bound_port());
    slow.send("GET /metr");
    CHECK(slow.read_to_end().empty());
}

TEST_CASE("connections beyond max_connections are closed at once, the rest keep working") {
    AdminServerLimits limits;
    limits.max_connections = 2;
    RunningServer running(limits);
    const auto port = running.server.bound_port();
    Client first(port);
    Client second(port);
    // Make sure the server has taken both before the third arrives.
    first.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(status_line(first.read_response()) == "HTTP/1.1 200 OK");
    second.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(status_line(second.read_response()) == "HTTP/1.1 200 OK");
    Client third(port);
    CHECK(third.read_to_end().empty());
    first.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(status_line(first.read_to_end()) == "HTTP/1.1 200 OK");
}

TEST_CASE("a port already in use fails start with a one-line message naming the address") {
    RunningServer running;
    const std::string address = "127.0.0.1:" + std::to_string(running.server.bound_port());
    AdminServer second(running.exposition, always_healthy, address, "/metrics");
    CHECK_THROWS_WITH(second.start(), "metrics listen " + address + ": Address already in use");
}

TEST_CASE("a bad listen address or path fails start with a clear message") {
    Exposition exposition;
    AdminServer no_port(exposition, always_healthy, "127.0.0.1", "/metrics");
    CHECK_THROWS_WITH(no_port.start(), Catch::StartsWith("metrics listen 127.0.0.1: "));
    AdminServer unix_socket(exposition, always_healthy, "unix:/tmp/x.sock", "/metrics");
    CHECK_THROWS_WITH(unix_socket.start(), Catch::Contains("TCP (host:port) only"));
    AdminServer bad_path(exposition, always_healthy, "127.0.0.1:0", "metrics");
    CHECK_THROWS_WITH(bad_path.start(), Catch::Contains("must start with '/'"));
    AdminServer taken_path(exposition, always_healthy, "127.0.0.1:0", "/healthz");
    CHECK_THROWS_WITH(taken_path.start(), Catch::Contains("taken by the admin endpoint"));
}

TEST_CASE("stop closes open connections and joins; a stopped server refuses connections") {
    Exposition exposition;
    AdminServer server(exposition, always_healthy, "127.0.0.1:0", "/metrics");
    server.start();
    const auto port = server.bound_port();
    Client open_client(port);
    open_client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(status_line(open_client.read_response()) == "HTTP/1.1 200 OK");
    server.stop();
    CHECK(open_client.read_to_end().empty());  // closed by stop, not left hanging
    server.stop();                              // idempotent

    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0);
    ::close(fd);
}

namespace {
struct ThrowingCollectable final : prometheus::Collectable {
    std::vector<prometheus::MetricFamily> Collect() const override {
        throw std::runtime_error("cannot read /proc/self/stat");
    }
};
}  // namespace

TEST_CASE("a collector that throws gives the scraper a 500 with the reason") {
    RunningServer running;
    running.exposition.add(std::make_shared<ThrowingCollectable>());
    const std::string response = fetch(
        running.server.bound_port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(status_line(response) == "HTTP/1.1 500 Internal Server Error");
    CHECK(body_of(response) == "metrics collection failed: cannot read /proc/self/stat\n");
}

TEST_CASE("a scraper that accepts gzip gets the same text gzip-coded; others get it plain") {
    RunningServer running;
    // Enough families that compression has something to do.
    auto& many = running.registry->counter("test_many_total", "Many.", {"i"});
    for (int i = 0; i < 200; ++i) many.with({std::to_string(i)}).inc(0, static_cast<std::uint64_t>(i));
    const auto port = running.server.bound_port();
    const std::string plain = fetch(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(header_of(plain, "Content-Encoding").empty());

    // What Prometheus sends.
    const std::string zipped = fetch(port,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n");
    CHECK(status_line(zipped) == "HTTP/1.1 200 OK");
    CHECK(header_of(zipped, "Content-Encoding") == "gzip");
    CHECK(header_of(zipped, "Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(body_of(zipped).size() < body_of(plain).size() / 3);
    CHECK(gunzip(body_of(zipped)) == body_of(plain));

    // q=0 refuses gzip (RFC 9110 12.5.3): plain text.
    const std::string refused = fetch(port,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0, identity\r\nConnection: close\r\n\r\n");
    CHECK(header_of(refused, "Content-Encoding").empty());
    CHECK(body_of(refused) == body_of(plain));
}

TEST_CASE("/healthz answers 200 while the probe is healthy and 503 when it is not, one line each") {
    RunningServer running;
    const auto port = running.server.bound_port();
    const std::string up = fetch(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(status_line(up) == "HTTP/1.1 200 OK");
    CHECK(body_of(up) == "serving: test\n");
    running.healthy = false;
    const std::string down = fetch(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(status_line(down) == "HTTP/1.1 503 Service Unavailable");
    CHECK(body_of(down) == "draining: test\n");
    const std::string head = fetch(port, "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(status_line(head) == "HTTP/1.1 503 Service Unavailable");
    CHECK(body_of(head).empty());
    const std::string post = fetch(port,
        "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    CHECK(status_line(post) == "HTTP/1.1 405 Method Not Allowed");
}

TEST_CASE("a client stuck mid-request does not hold up another client's scrape") {
    RunningServer running;
    const auto port = running.server.bound_port();
    Client stuck(port);
    stuck.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ");  // and never finishes
    Client reader(port);
    reader.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");  // never reads its answer
    const auto started = std::chrono::steady_clock::now();
    const std::string response = fetch(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(status_line(response) == "HTTP/1.1 200 OK");
    CHECK(std::chrono::steady_clock::now() - started < 2s);  // not the 30 s idle timeout
}
