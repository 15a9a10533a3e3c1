#pragma once
// One loop's stream connection to a stream upstream (tcp or unix) of a udp listener: the frames
// of every client datagram this loop receives are written onto it (fire-and-forget: no reply
// goes back to a UDP client). Connected on first use to the endpoint the upstream's balancer
// picks; when it fails or closes, reconnected with back-off (100 ms doubling to 5 s, another
// endpoint each time when there are several). While it is down, frames are dropped and counted
// (reason="stream_down"). Bounded memory: what the socket does not take at once waits in one
// buffer of at most 1 MiB, borrowed from the loop's pool only while bytes wait; beyond that,
// frames are dropped and counted (reason="send_buffer_full"). Bytes the upstream sends back
// are read and discarded (counted in switchyard_upstream_bytes_received_total).
// Loop thread only.
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "core/loop/BufferPool.hpp"
#include "core/loop/LoopTimer.hpp"
#include "core/loop/Poller.hpp"
#include "core/proxy/datagram/DatagramMetrics.hpp"

namespace switchyard {

class EventLoop;
struct ListenerContext;

class PooledStreamConnection final : public PollHandler {
public:
    static constexpr std::size_t kMaxPending = 1024 * 1024;

    PooledStreamConnection(EventLoop& loop, ListenerContext& ctx);
    ~PooledStreamConnection();  // closes the connection (loop thread, or after the loops stopped)
    PooledStreamConnection(const PooledStreamConnection&) = delete;
    PooledStreamConnection& operator=(const PooledStreamConnection&) = delete;

    // Connects now (the listener starts reading). Loop thread.
    void start() {
        if (state_ == State::down && !retry_.armed()) connect();
    }

    // Writes the pieces of one datagram's frames (all or nothing). Returns what to count when
    // they were dropped, or DatagramDropReason::count when they were taken.
    DatagramDropReason write(const iovec* iov, int count);
    // Nothing taken is still waiting to be written (a reload's retired one may go).
    bool idle() const { return pending_end_ == pending_begin_; }

    void on_poll_events(std::uint32_t events) override;

private:
    enum class State { down, connecting, up };
    void connect();
    void connected();
    void failed(int error);
    std::chrono::milliseconds next_backoff();  // the wait before the next connect; counts a failure
    void flush();
    void drain_input();

    EventLoop& loop_;
    ListenerContext& ctx_;
    LoopTimer retry_;
    State state_ = State::down;
    int fd_ = -1;
    std::int32_t endpoint_ = -1;
    std::uint32_t failures_ = 0;
    std::uint64_t tried_ = 0;
    BufferPool::Block pending_;  // bytes the socket has not taken yet
    std::size_t pending_begin_ = 0;
    std::size_t pending_end_ = 0;
};

}  // namespace switchyard
