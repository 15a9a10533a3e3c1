#pragma once
// One client address of a udp listener, pinned to one loop for its whole life: its own UDP
// socket connected to the endpoint the upstream's balancer picked (so the kernel filters the
// endpoint's replies to it, and ICMP port unreachable comes back as ECONNREFUSED), the address
// the client sent to (replies leave from it), and an idle deadline refreshed by datagrams in
// both directions. No buffer of its own: client datagrams are sent from the listener's receive
// batch, upstream replies are received straight into the loop's reply batch. About 150 bytes.
// Ends on idle_timeout, after `responses` replies, on ECONNREFUSED, or at shutdown.
#include <cstdint>

#include "core/loop/LoopSession.hpp"
#include "core/loop/Poller.hpp"
#include "core/proxy/datagram/DatagramMetrics.hpp"
#include "core/proxy/datagram/DatagramPeer.hpp"

namespace switchyard {

class EventLoop;
class DatagramListenerLoop;
class DatagramLoopContext;
struct ListenerContext;

class DatagramSession final : public LoopSession, public PollHandler {
public:
    // Loop thread of `owner`. Picks an endpoint of `gen`'s upstream, opens and connects the
    // session's socket. Returns nullptr (logged, counted) when no endpoint could be reached.
    // The caller has admitted the session (DatagramAdmission::admit); a failed open, as the
    // session's end, releases what that took. The session keeps `gen` (codecs, upstream) for its
    // whole life.
    static DatagramSession* open(DatagramListenerLoop& owner, DatagramLoopContext& gen, const DatagramPeer& client,
                                 const LocalAddress& local);

    const DatagramPeer& client() const { return client_; }  // loop thread only

    // Loop thread only: relays one client datagram to the endpoint.
    void from_client(const std::uint8_t* data, std::size_t len);

    void on_poll_events(std::uint32_t events) override;  // loop thread only: the endpoint's replies
    void check_idle(SteadyTime now) override;            // loop thread only
    void force_close() override;                         // loop thread only (or after the loops stopped)
    const void* owner() const override { return &ctx_; }  // its ListenerContext; any thread

    // Intrusive, non-atomic reference count, as stream sessions have: the open session holds one
    // on itself, released after close once the poll batch being dispatched is over. Loop thread only.
    friend void intrusive_ptr_add_ref(DatagramSession* s) { ++s->refs_; }
    friend void intrusive_ptr_release(DatagramSession* s) {
        if (--s->refs_ == 0) delete s;
    }

private:
    DatagramSession(DatagramListenerLoop& owner, DatagramLoopContext& gen, const DatagramPeer& client,
                    const LocalAddress& local);
    ~DatagramSession() override = default;

    bool connect_endpoint();
    void read_replies();
    void refused();
    void close();

    DatagramListenerLoop& owner_;
    EventLoop& loop_;
    DatagramLoopContext& gen_;
    ListenerContext& ctx_;
    DatagramPeer client_;
    LocalAddress local_;
    SteadyTime last_activity_;
    int fd_ = -1;
    std::int32_t endpoint_ = -1;  // index in the upstream pool
    std::uint32_t replies_ = 0;
    std::uint32_t refs_ = 0;
    bool closed_ = false;
    bool answered_ = false;  // a reply came back (reported to passive health once)
};

}  // namespace switchyard
