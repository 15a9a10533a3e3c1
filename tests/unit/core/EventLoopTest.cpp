#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "core/loop/EventLoop.hpp"

using namespace switchyard;
using namespace std::chrono_literals;

namespace {

// Waits for a future the loop fulfils; a loop that never runs the task fails the test, not hangs it.
template <class T>
T await(std::future<T>& f) {
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    return f.get();
}

}  // namespace

TEST_CASE("tasks posted from other threads run on the loop thread, each thread's in order") {
    EventLoop loop(0);
    std::promise<bool> early;
    auto early_done = early.get_future();
    loop.post([&] { early.set_value(loop.in_loop_thread()); });  // before start: kept until the loop runs
    loop.start();
    CHECK(await(early_done));

    constexpr int kThreads = 4, kEach = 2000;
    std::vector<int> last(kThreads, -1);
    std::atomic<int> out_of_order{0}, ran{0};
    std::promise<void> all;
    auto all_done = all.get_future();
    std::vector<std::thread> posters;
    for (int t = 0; t < kThreads; ++t)
        posters.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i)
                loop.post([&, t, i] {
                    if (last[t] != i - 1) ++out_of_order;
                    last[t] = i;
                    if (++ran == kThreads * kEach) all.set_value();
                });
        });
    for (auto& p : posters) p.join();
    await(all_done);
    CHECK(out_of_order == 0);
    loop.stop();
    loop.join();
}

TEST_CASE("deferred tasks run after the task that deferred them, in order") {
    EventLoop loop(0);
    loop.start();
    std::vector<int> order;
    std::promise<void> done;
    auto f = done.get_future();
    loop.post([&] {
        loop.defer([&] {
            order.push_back(2);
            loop.defer([&] {
                order.push_back(4);
                done.set_value();
            });
        });
        loop.defer([&] { order.push_back(3); });
        order.push_back(1);
    });
    await(f);
    CHECK(order == std::vector<int>{1, 2, 3, 4});
    loop.stop();
    loop.join();
}

TEST_CASE("a loop timer fires on the loop thread, not before its deadline") {
    EventLoop loop(0);
    loop.start();
    std::promise<std::chrono::steady_clock::duration> fired;
    auto f = fired.get_future();
    std::unique_ptr<LoopTimer> timer;
    auto armed_at = std::chrono::steady_clock::now();
    loop.post([&] {
        timer = std::make_unique<LoopTimer>(loop.timers(), [&] {
            fired.set_value(std::chrono::steady_clock::now() - armed_at);
        });
        armed_at = std::chrono::steady_clock::now();
        timer->arm_after(30ms);
    });
    CHECK(await(f) >= 30ms);
    loop.stop();
    loop.join();
}

TEST_CASE("the tick handler runs every period with its lag") {
    EventLoop loop(0);
    std::atomic<int> ticks{0};
    std::atomic<bool> off_thread{false}, early{false};  // checked here: Catch2 asserts on one thread
    std::promise<void> third;
    auto f = third.get_future();
    loop.set_tick(10ms, [&](EventLoop& l, EventLoop::Clock::duration lag) {
        if (!l.in_loop_thread()) off_thread = true;
        if (lag < 0ms) early = true;
        if (++ticks == 3) third.set_value();
    });
    auto started = std::chrono::steady_clock::now();
    loop.start();
    await(f);
    CHECK(std::chrono::steady_clock::now() - started >= 30ms);
    loop.stop();
    loop.join();
    CHECK_FALSE(off_thread);
    CHECK_FALSE(early);
}

TEST_CASE("the poller reports a registered socket's readiness on the loop thread") {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    struct Reader final : PollHandler {
        std::promise<std::uint32_t> got;
        bool reported = false;
        void on_poll_events(std::uint32_t events) override {
            if (!reported && (events & EPOLLIN)) {
                reported = true;
                got.set_value(events);
            }
        }
    } reader;
    auto f = reader.got.get_future();
    EventLoop loop(0);
    loop.start();
    std::promise<int> added;
    auto added_f = added.get_future();
    loop.post([&] { added.set_value(loop.poller().add(fds[0], &reader)); });
    REQUIRE(await(added_f) == 0);
    REQUIRE(::write(fds[1], "x", 1) == 1);
    CHECK((await(f) & EPOLLIN) != 0);
    loop.stop();
    loop.join();
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("stop returns a loop that has nothing to do") {
    EventLoop loop(0);
    loop.start();
    std::promise<void> running;
    auto f = running.get_future();
    loop.post([&] { running.set_value(); });
    await(f);
    loop.stop();
    loop.join();  // would hang if the sleeping loop were not woken
    SUCCEED();
}
