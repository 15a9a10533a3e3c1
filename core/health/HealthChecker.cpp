#include "core/health/HealthChecker.hpp"

#include <exception>

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <array>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/generic/datagram_protocol.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "core/health/EndpointHealth.hpp"
#include "core/proxy/UpstreamPool.hpp"

namespace switchyard {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Protocol = asio::generic::stream_protocol;
using DatagramProtocol = asio::generic::datagram_protocol;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Room for a reply to show `expect` (at most 1 KiB, config/UpstreamReader.cpp) after a preamble.
constexpr std::size_t kReplyBytes = 4096;
// What a check of a UDP endpoint sends when `send` is not set: a datagram of some kind must go
// out to draw ICMP port unreachable from a closed port (nginx Plus sends "nginx health check").
constexpr std::string_view kDefaultDatagramProbe = "switchyard health check";

struct Outcome {
    HealthCheckResult result;
    std::string problem;  // empty on success
};

// One endpoint under check. Everything here is the checker thread's, except `health`.
struct Target {
    Target(asio::io_context& ioc) : deadline(ioc), pause(ioc) {}
    std::string upstream;
    std::string label;
    SocketAddress address;
    HealthCheckOptions options;
    std::shared_ptr<EndpointHealth> health;
    std::vector<std::shared_ptr<EndpointHealth>> siblings;  // every endpoint of the upstream
    std::uint32_t passes = 0;
    std::uint32_t failures = 0;
    bool datagram = false;  // a UDP endpoint: checked with a datagram, not a connect
    std::optional<Protocol::socket> socket;
    std::optional<DatagramProtocol::socket> datagram_socket;
    asio::steady_timer deadline;  // the whole check's timeout
    asio::steady_timer pause;     // between checks
};

std::size_t usable(const std::vector<std::shared_ptr<EndpointHealth>>& all) {
    const auto now = steady_now_ns();
    std::size_t n = 0;
    for (const auto& h : all) n += h->usable(now) ? 1 : 0;
    return n;
}

}  // namespace

struct HealthCheckRun::State {
    explicit State(asio::io_context& context) : ioc(context) {}
    asio::io_context& ioc;
    std::vector<std::unique_ptr<Target>> targets;
    // Checker thread only.
    bool stopping = false;
    std::size_t running = 0;
    std::promise<void> finished;
};

namespace {

using State = HealthCheckRun::State;

std::string millis(Duration d) { return std::to_string(d.count()) + " ms"; }

// A UDP endpoint: one datagram (`send`, or kDefaultDatagramProbe) from a socket connected to
// it, so that ICMP port unreachable from a closed port comes back to that socket as
// ECONNREFUSED (connect_failed). With `expect`, the first reply datagram decides: it must
// contain the bytes (else bad_response), and no reply within `timeout` is a timeout. Without
// it, nginx Plus's `health_check udp`: the endpoint passes unless the refusal comes within
// `timeout`, and a reply passes at once. One datagram, no retry: a lost probe or reply is a
// failed check, which is what unhealthy_threshold is for.
asio::awaitable<Outcome> check_datagram(Target& t) {
    const HealthCheckOptions& o = t.options;
    t.deadline.expires_after(o.timeout);
    boost::system::error_code ec;
    DatagramProtocol::socket& socket = t.datagram_socket.emplace(t.deadline.get_executor());
    socket.open(DatagramProtocol(t.address.family(), 0), ec);
    // A UDP connect only records the peer: it does not block, and fails at once or not at all.
    if (!ec) socket.connect(DatagramProtocol::endpoint(t.address.data(), t.address.length), ec);
    if (ec) co_return Outcome{HealthCheckResult::connect_failed, "socket: " + ec.message()};
    const std::string_view probe = o.send.empty() ? kDefaultDatagramProbe : std::string_view(o.send);
    auto sent = co_await (socket.async_send(asio::buffer(probe.data(), probe.size()), use_tuple) ||
                          t.deadline.async_wait(use_tuple));
    if (sent.index() == 1)
        co_return Outcome{HealthCheckResult::timeout, "send not accepted within " + millis(o.timeout)};
    if (auto [error, n] = std::get<0>(sent); error)
        co_return Outcome{HealthCheckResult::connect_failed, "send: " + error.message()};
    std::array<char, kReplyBytes> reply;
    auto received = co_await (socket.async_receive(asio::buffer(reply), use_tuple) || t.deadline.async_wait(use_tuple));
    if (received.index() == 1) {
        if (o.expect.empty()) co_return Outcome{HealthCheckResult::success, {}};  // no refusal came back
        co_return Outcome{HealthCheckResult::timeout, "no reply within " + millis(o.timeout)};
    }
    t.deadline.cancel();
    auto [error, n] = std::get<0>(received);
    if (error == asio::error::connection_refused)
        co_return Outcome{HealthCheckResult::connect_failed, "ICMP port unreachable (" + error.message() + ")"};
    if (error) co_return Outcome{HealthCheckResult::connect_failed, "receive: " + error.message()};
    if (!o.expect.empty() && std::string_view(reply.data(), n).find(o.expect) == std::string_view::npos)
        co_return Outcome{HealthCheckResult::bad_response,
                          "a reply of " + std::to_string(n) + " byte(s) without the expected bytes"};
    co_return Outcome{HealthCheckResult::success, {}};
}

asio::awaitable<Outcome> check_once(Target& t) {
    const HealthCheckOptions& o = t.options;
    t.deadline.expires_after(o.timeout);
    boost::system::error_code ec;
    t.socket.emplace(t.deadline.get_executor());
    t.socket->open(Protocol(t.address.family(), 0), ec);
    if (ec) co_return Outcome{HealthCheckResult::connect_failed, "socket: " + ec.message()};
    const Protocol::endpoint peer(t.address.data(), t.address.length);

    auto connected = co_await (t.socket->async_connect(peer, use_tuple) || t.deadline.async_wait(use_tuple));
    if (connected.index() == 1)
        co_return Outcome{HealthCheckResult::timeout, "no connection within " + millis(o.timeout)};
    if (auto [error] = std::get<0>(connected); error)
        co_return Outcome{HealthCheckResult::connect_failed, "connect: " + error.message()};

    if (!o.send.empty()) {
        auto sent = co_await (asio::async_write(*t.socket, asio::buffer(o.send), use_tuple) ||
                              t.deadline.async_wait(use_tuple));
        if (sent.index() == 1)
            co_return Outcome{HealthCheckResult::timeout, "send not accepted within " + millis(o.timeout)};
        if (auto [error, n] = std::get<0>(sent); error)
            co_return Outcome{HealthCheckResult::bad_response, "send: " + error.message()};
    }
    if (!o.expect.empty()) {
        std::array<char, kReplyBytes> reply;
        std::size_t got = 0;
        for (;;) {
            auto read = co_await (t.socket->async_read_some(asio::buffer(reply.data() + got, reply.size() - got),
                                                            use_tuple) ||
                                  t.deadline.async_wait(use_tuple));
            if (read.index() == 1)
                co_return Outcome{HealthCheckResult::timeout,
                                  "no reply containing the expected bytes within " + millis(o.timeout)};
            auto [error, n] = std::get<0>(read);
            got += n;
            if (std::string_view(reply.data(), got).find(o.expect) != std::string_view::npos) break;
            if (error)
                co_return Outcome{HealthCheckResult::bad_response,
                                  "reply of " + std::to_string(got) + " byte(s) without the expected bytes, then " +
                                      (error == asio::error::eof ? std::string("closed") : error.message())};
            if (got == reply.size())
                co_return Outcome{HealthCheckResult::bad_response,
                                  "the first " + std::to_string(got) + " bytes of the reply lack the expected bytes"};
        }
    }
    // A FIN, not a reset: the endpoint sees a client that said what it had to and left.
    t.socket->shutdown(Protocol::socket::shutdown_send, ec);
    t.socket->close(ec);
    t.deadline.cancel();
    co_return Outcome{HealthCheckResult::success, {}};
}

// Applies one check's outcome (checker thread). The first verdict since checks began applies at
// once (HAProxy's default init-state `up`: a new endpoint is up, and down as soon as a check
// fails); after that it takes unhealthy_threshold failures in a row to go down and
// healthy_threshold passes to come back. Each change is logged once.
void record(Target& t, const Outcome& outcome) {
    EndpointHealth& h = *t.health;
    h.count(outcome.result);
    const bool passed = outcome.result == HealthCheckResult::success;
    if (passed) {
        ++t.passes;
        t.failures = 0;
    } else {
        ++t.failures;
        t.passes = 0;
    }
    const bool first = !h.checked;
    h.checked = true;
    const bool down = h.check_failed.load(std::memory_order_relaxed);
    if (!down && !passed && (first || t.failures >= t.options.unhealthy_threshold)) {
        h.check_failed.store(true, std::memory_order_relaxed);
        h.count(EjectionCause::health_check);
        spdlog::warn("upstream {}: endpoint {} is down: {} health check(s) in a row failed, the last with {}: {}; "
                     "{} of {} endpoint(s) usable",
                     t.upstream, t.label, t.failures, to_string(outcome.result), outcome.problem,
                     usable(t.siblings), t.siblings.size());
    } else if (down && passed && (first || t.passes >= t.options.healthy_threshold)) {
        // Coming back ends a passive ejection too.
        h.consecutive_failures.store(0, std::memory_order_relaxed);
        h.ejected_until_ns.store(0, std::memory_order_relaxed);
        h.check_failed.store(false, std::memory_order_relaxed);
        spdlog::info("upstream {}: endpoint {} is up: {} health check(s) in a row passed; {} of {} endpoint(s) usable",
                     t.upstream, t.label, t.passes, usable(t.siblings), t.siblings.size());
    } else if (!down && passed && h.ejected_until_ns.load(std::memory_order_relaxed) > steady_now_ns()) {
        // Ejected by max_fails, yet a check gets through: the check wins (as Envoy's
        // successful_active_health_check_uneject_host does by default).
        h.consecutive_failures.store(0, std::memory_order_relaxed);
        h.ejected_until_ns.store(0, std::memory_order_relaxed);
        spdlog::info("upstream {}: endpoint {} back in rotation: a health check passed during its ejection", t.upstream,
                     t.label);
    }
}

// cppcheck reads neither co_await (the state can change while suspended) nor a coroutine's
// implicit return: its oppositeInnerCondition and missingReturn here are suppressed.
asio::awaitable<void> check_endpoint(std::shared_ptr<State> state, Target& t) {
    while (!state->stopping) {
        // An if, not `co_await (c ? f() : g())`: GCC 12 crashed destroying the temporary
        // awaitable of that conditional expression.
        Outcome outcome;
        if (t.datagram)
            outcome = co_await check_datagram(t);
        else
            outcome = co_await check_once(t);
        boost::system::error_code ignored;
        if (t.socket) t.socket->close(ignored);
        if (t.datagram_socket) t.datagram_socket->close(ignored);
        // cppcheck-suppress oppositeInnerCondition ; stop_checks() may set it while suspended above
        if (state->stopping) break;
        record(t, outcome);
        t.pause.expires_after(t.options.interval);
        co_await t.pause.async_wait(use_tuple);
    }
    // cppcheck-suppress missingReturn ; a coroutine returning awaitable<void> ends without one
    if (--state->running == 0) state->finished.set_value();
}

}  // namespace

HealthCheckRun::~HealthCheckRun() {
    try {
        auto done = state_->finished.get_future();
        asio::post(state_->ioc, [state = state_] {
            state->stopping = true;
            for (auto& t : state->targets) {
                boost::system::error_code ignored;
                t->deadline.cancel();
                t->pause.cancel();
                if (t->socket) t->socket->close(ignored);
                if (t->datagram_socket) t->datagram_socket->close(ignored);
            }
        });
        done.wait();
    } catch (const std::exception& e) {
        // Only out of memory gets here; the checks would go on using what is being freed.
        spdlog::critical("health checks: cannot stop them: {}", e.what());
        std::terminate();
    }
}

struct HealthChecker::Impl {
    asio::io_context ioc{1};
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(ioc);
    std::thread thread;
};

HealthChecker::HealthChecker() : impl_(std::make_unique<Impl>()) {}

HealthChecker::~HealthChecker() {
    if (!impl_->thread.joinable()) return;
    impl_->work.reset();
    impl_->ioc.stop();
    impl_->thread.join();
}

std::unique_ptr<HealthCheckRun> HealthChecker::check(const std::vector<UpstreamPool*>& pools) {
    auto state = std::make_shared<State>(impl_->ioc);
    for (UpstreamPool* pool : pools) {
        if (!pool->options().health_check) continue;
        std::vector<std::shared_ptr<EndpointHealth>> siblings;
        for (std::size_t i = 0; i < pool->size(); ++i) siblings.push_back(pool->endpoint(i).health);
        for (std::size_t i = 0; i < pool->size(); ++i) {
            const UpstreamEndpoint& ep = pool->endpoint(i);
            auto t = std::make_unique<Target>(impl_->ioc);
            t->upstream = pool->name();
            t->label = ep.label;
            t->address = ep.resolved.front();  // a host name: its first address, as connects start with
            t->options = *pool->options().health_check;
            t->health = ep.health;
            t->datagram = pool->datagram;
            t->siblings = siblings;
            state->targets.push_back(std::move(t));
        }
    }
    if (state->targets.empty()) return nullptr;
    state->running = state->targets.size();
    if (!impl_->thread.joinable()) {
        impl_->thread = std::thread([this] {
            pthread_setname_np(pthread_self(), "sy-health");
            impl_->ioc.run();
        });
    }
    asio::post(impl_->ioc, [state] {
        for (auto& t : state->targets) asio::co_spawn(state->ioc, check_endpoint(state, *t), asio::detached);
    });
    return std::make_unique<HealthCheckRun>(std::move(state));
}

}  // namespace switchyard
