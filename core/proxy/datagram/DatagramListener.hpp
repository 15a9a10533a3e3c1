#pragma once
// A udp listener (IPv4 or IPv6): its socket(s), and which loop serves each client address.
// reuse_port: true  — every loop owns an SO_REUSEPORT socket on the address; the kernel's
//   4-tuple hash keeps a client on one loop, which owns the client's session.
// reuse_port: false — one socket, read by loop 0; the listener's `balancer` picks the loop that
//   owns a new client's session, and that client's later datagrams are handed to it through a
//   lock-free ring (HandoffRing). Replies leave from the one socket whatever loop sends them.
// Replies leave from the address the client sent to (IP_PKTINFO / IPV6_RECVPKTINFO), so a
// listener on 0.0.0.0 or [::] answers from the right address on a multi-homed host.
// Life cycle as the stream Listener's: open(), start_accepting(), stop_accepting(); a reload
// that keeps its address switches it to the new configuration (switch_context): new sessions
// follow the new configuration, open ones finish on the one they started with.
// Per-loop work (sessions, batches) lives in DatagramListenerLoop.
#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/loop/LoopBalancer.hpp"
#include "core/options/Options.hpp"
#include "core/proxy/datagram/DatagramPeer.hpp"

namespace switchyard {

class LoopGroup;
class DatagramListenerLoop;
struct ListenerContext;

class DatagramListener {
public:
    DatagramListener(ListenerContext& ctx, LoopGroup& loops);
    // Control thread, once the loops have stopped (or never ran): closes the sockets and ends
    // the sessions still open.
    ~DatagramListener();
    DatagramListener(const DatagramListener&) = delete;
    DatagramListener& operator=(const DatagramListener&) = delete;

    // Control thread, before the loops run. Binds; throws std::runtime_error with one line
    // naming the listener, address and cause.
    void open();
    // Control thread, before the loops run, instead of open(): takes over `fds`, bound UDP
    // sockets systemd passed (socket activation; the listener owns them from here). One socket
    // serves as open()'s single socket; with reuse_port, socket i goes to loop i and loops
    // beyond the passed sockets read nothing. Throws std::runtime_error naming the listener when
    // one is not a UDP socket.
    void adopt(std::vector<int> fds);
    // Control thread: the socket-owning loops start reading.
    void start_accepting();
    // Any thread: no new sessions from now on (datagrams from unknown clients are dropped);
    // open sessions go on until idle, `responses` reached or shutdown, so the sockets stay open
    // for their traffic until the listener is destroyed. Returns at once.
    void stop_accepting();
    // Control thread: a listener a reload removed (its sockets still open for its sessions'
    // replies) is named again by a later reload: new sessions are opened again.
    void resume_accepting() { accepting_.store(true, std::memory_order_relaxed); }

    // Control thread, binary upgrade, while the loops run: the new process reads the sockets
    // from now on; open sessions here only send their replies. Blocks until every loop stopped.
    void stop_reading();
    // Control thread: the sockets this listener reads (still owned here), for a binary upgrade
    // to pass on.
    std::vector<int> listening_fds() const;
    // Any thread after open(): the address actually bound ("127.0.0.1:41234", "[::1]:53").
    const std::string& bound_address() const { return bound_address_; }
    const std::string& name() const;
    // Any thread: false once stop_accepting() was called.
    bool accepting() const { return accepting_.load(std::memory_order_relaxed); }

    // Control thread: whether a reload to `next` can keep this listener's sockets (same
    // address as written, same reuse_port; the port may not be 0 unless matched by name).
    bool can_keep_sockets(const ListenerOptions& next) const;
    // Control thread, while the loops are parked (Runtime::with_loops_paused): new sessions
    // use `next` from now on; open sessions keep the context they started with.
    void switch_context(ListenerContext& next);
    ListenerContext& context() const { return *ctx_; }
    // Control thread: sessions still open on this listener, whatever their generation.
    std::int64_t open_sessions() const;
    // Control thread, while the loops are parked: a listener a reload removed, with no session
    // left, stops reading before it is destroyed (after every loop has run its posted work).
    void retire();

    // ---- for DatagramListenerLoop -------------------------------------------------------
    // Loop thread of the receiving loop (reuse_port off, several loops): finds or picks the
    // loop owning `peer` and delivers the datagram there (at once when it is this loop).
    void route(DatagramListenerLoop& receiver, const DatagramPeer& peer, const LocalAddress& local,
               const std::uint8_t* data, std::size_t len);
    // Loop thread of the receiving loop: wakes the loops that were handed datagrams this batch.
    void wake_owners();
    // Any loop thread: `owner` holds no session for `peer` any more (reuse_port off).
    void forget_route(const DatagramPeer& peer, std::size_t owner);
    bool routed() const { return routed_; }

private:
    void make_inboxes();
    bool needs_routing() const;  // one socket, several loops, sessions: datagrams go to their owner

    ListenerContext* ctx_;
    LoopGroup& loops_;
    std::unique_ptr<LoopBalancer> balancer_;
    std::vector<std::unique_ptr<DatagramListenerLoop>> per_loop_;  // index = loop
    std::string bound_address_;
    void finish_open();
    bool routed_ = false;  // one socket, several loops: datagrams are routed to their owner
    std::atomic<bool> accepting_{true};
    // Receiving loop only: which loop owns each client's session.
    std::unordered_map<DatagramPeer, std::uint32_t, DatagramPeerHash> routes_;
    std::vector<std::uint8_t> wake_needed_;  // receiving loop only, per loop
};

}  // namespace switchyard
