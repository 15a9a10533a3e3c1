#pragma once
// A connection accepted but not yet served: it waits, on the loop that accepted it, for its
// PROXY protocol header (proxy_protocol: accept) and/or its first byte (first_byte_timeout),
// each with its deadline, before the listener admits it (see Admission). Bytes are only
// peeked at, except the header's, which are consumed: whatever the client sent after the
// header stays queued in the socket for the session. Once done it leaves this loop's poller
// and is handed, with the client's real address, to the loop the balancer picks for that
// address; until then it holds no buffer, only this small object and a timer.
#include <memory>

#include "core/loop/LoopSession.hpp"
#include "core/loop/LoopTimer.hpp"
#include "core/loop/Poller.hpp"
#include "core/net/PeerAddress.hpp"
#include "core/proxy/ProxyMetrics.hpp"

namespace switchyard {

class EventLoop;
class LoopGroup;
struct ListenerContext;

class PendingConnection final : public LoopSession, private PollHandler {
public:
    // Loop thread of `loop`. Takes `fd`, already counted in ctx.active and listener_active
    // (and, on a listener without proxy_protocol, in the per-IP counts).
    static void start(EventLoop& loop, LoopGroup& loops, ListenerContext& ctx, int fd, const PeerAddress& peer);
    // Any thread: closes a socket still held and gives back what it was counted in (the
    // object is only ever destroyed on a loop thread, or when the loops are torn down).
    ~PendingConnection() override;

    void check_idle(SteadyTime) override {}      // its own timer keeps its deadlines
    void force_close() override;                 // loop thread only
    const void* owner() const override { return &ctx_; }

private:
    enum class Phase : std::uint8_t { header, first_byte, done };

    PendingConnection(EventLoop& loop, LoopGroup& loops, ListenerContext& ctx, int fd, const PeerAddress& peer);
    void on_poll_events(std::uint32_t events) override;
    void read_header();
    void wait_first_byte();
    void on_deadline();
    void enter_first_byte_phase();
    void hand_over();
    void refuse(RejectReason reason, const std::string& detail);
    void close_quietly(const char* why);
    void finish();  // leaves the loop; deleted once the poll batch is over
    std::string who() const;  // "203.0.113.7:41000 (via 127.0.0.1:5555)"

    EventLoop& loop_;
    LoopGroup& loops_;
    ListenerContext& ctx_;
    LoopTimer deadline_;
    PeerAddress peer_;         // who connected: the balancer in front, with proxy_protocol
    PeerAddress client_;       // whom the connection is for (the header's source, or peer_)
    PeerAddress destination_;  // what the client connected to, from the header (else unset)
    int fd_;
    Phase phase_ = Phase::header;
    bool hung_up_ = false;       // the client's FIN (or an error) was reported
    bool per_ip_taken_ = false;  // client_ holds a per-IP slot
};

}  // namespace switchyard
