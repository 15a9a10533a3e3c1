// Active health checks of UDP endpoints against real sockets on loopback: a closed port (the
// kernel answers ICMP port unreachable), a port that never answers, and responders that answer
// the expected bytes or others. The checks run on the checker's own thread; the test waits on
// the counters it publishes.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/health/EndpointHealth.hpp"
#include "core/health/HealthChecker.hpp"
#include "core/proxy/UpstreamPool.hpp"

using namespace switchyard;

namespace {

// A UDP socket on 127.0.0.1 whose thread answers every datagram with `reply` (or nothing when
// `reply` is empty) and keeps what it received.
class UdpResponder {
public:
    explicit UdpResponder(std::string reply) : reply_(std::move(reply)) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~UdpResponder() {
        ::shutdown(fd_, SHUT_RDWR);  // wakes the blocked recvfrom
        thread_.join();
        ::close(fd_);
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    std::vector<std::string> received() const {
        std::lock_guard lock(mutex_);
        return received_;
    }

private:
    void serve() {
        char buf[2048];
        for (;;) {
            sockaddr_in peer{};
            socklen_t len = sizeof peer;
            ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len);
            if (n <= 0) return;  // shut down
            {
                std::lock_guard lock(mutex_);
                received_.emplace_back(buf, static_cast<std::size_t>(n));
            }
            if (!reply_.empty())
                ::sendto(fd_, reply_.data(), reply_.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
        }
    }

    std::string reply_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<std::string> received_;
};

// A port nothing is bound to: datagrams to it draw ICMP port unreachable.
std::string closed_port() {
    UdpResponder r("");
    return r.address();
}

UpstreamOptions udp_upstream(std::vector<std::string> endpoints, std::string send, std::string expect) {
    UpstreamOptions o;
    o.name = std::string("u");  // assigning the literal trips GCC 12's false -Wrestrict (PR 105651)
    for (auto& e : endpoints) o.endpoints.push_back({e, 1});
    HealthCheckOptions check;
    check.interval = Duration{20};
    check.timeout = Duration{300};
    check.healthy_threshold = 1;
    check.unhealthy_threshold = 1;
    check.send = std::move(send);
    check.expect = std::move(expect);
    o.health_check = check;
    return o;
}

std::uint64_t checks(const EndpointHealth& h, HealthCheckResult r) {
    return h.checks[static_cast<int>(r)].load(std::memory_order_relaxed);
}

// Polls a counter the checker thread publishes (there is no event to wait on); fails after 10 s.
template <class Predicate>
bool eventually(Predicate p) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!p()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

}  // namespace

TEST_CASE("UDP check without expect: ICMP port unreachable fails it, silence passes it, a reply passes it") {
    UdpResponder silent("");
    UdpResponder answering("anything");
    const std::string closed = closed_port();
    UpstreamPool pool(udp_upstream({closed, silent.address(), answering.address()}, "", ""), 1);
    pool.datagram = true;
    HealthChecker checker;
    auto run = checker.check({&pool});
    REQUIRE(run);
    const EndpointHealth& refused = *pool.endpoint(0).health;
    const EndpointHealth& quiet = *pool.endpoint(1).health;
    const EndpointHealth& replied = *pool.endpoint(2).health;
    CHECK(eventually([&] { return checks(refused, HealthCheckResult::connect_failed) >= 2; }));
    CHECK(eventually([&] { return checks(quiet, HealthCheckResult::success) >= 2; }));
    CHECK(eventually([&] { return checks(replied, HealthCheckResult::success) >= 2; }));
    run.reset();  // stops the checks: the counters hold still from here
    CHECK(refused.check_failed.load());
    CHECK(checks(refused, HealthCheckResult::success) == 0);
    CHECK_FALSE(quiet.check_failed.load());
    CHECK(checks(quiet, HealthCheckResult::connect_failed) + checks(quiet, HealthCheckResult::timeout) == 0);
    CHECK_FALSE(replied.check_failed.load());
    CHECK(pool.usable_count() == 2);
    // Without `send`, each check is one datagram saying what it is, as nginx Plus's is.
    const auto probes = silent.received();
    REQUIRE(probes.size() >= 2);
    for (const auto& p : probes) CHECK(p == "switchyard health check");
}

TEST_CASE("UDP check with expect: the reply must contain the bytes, in time") {
    UdpResponder right("+PONG from the backend");
    UdpResponder wrong("-ERR nope");
    UdpResponder silent("");
    const std::string closed = closed_port();
    UpstreamPool pool(udp_upstream({right.address(), wrong.address(), silent.address(), closed}, "PING", "PONG"), 1);
    pool.datagram = true;
    HealthChecker checker;
    auto run = checker.check({&pool});
    REQUIRE(run);
    const HealthCheckResult expected[] = {HealthCheckResult::success, HealthCheckResult::bad_response,
                                          HealthCheckResult::timeout, HealthCheckResult::connect_failed};
    for (std::size_t i = 0; i < 4; ++i) {
        INFO("endpoint " << pool.endpoint(i).label);
        CHECK(eventually([&] { return checks(*pool.endpoint(i).health, expected[i]) >= 1; }));
    }
    run.reset();
    CHECK_FALSE(pool.endpoint(0).health->check_failed.load());
    for (std::size_t i = 1; i < 4; ++i) CHECK(pool.endpoint(i).health->check_failed.load());
    CHECK(checks(*pool.endpoint(0).health, HealthCheckResult::bad_response) == 0);
    for (const auto& p : right.received()) CHECK(p == "PING");  // `send`, as configured
}
