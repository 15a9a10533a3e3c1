#pragma once
// What one loop holds of a udp listener: the listener socket it reads (reuse_port on, or loop 0),
// the sessions it owns (a table keyed by client address: found by hash, no lock, as every
// access is on this loop), a receive batch (recvmmsg) and a reply batch (upstream replies and
// echoes gathered during a turn and sent with one sendmmsg at its end), the inbox other
// loops hand datagrams through when reuse_port is off, and the configuration generations its
// sessions use (DatagramLoopContext: the current one opens new sessions; a reload's retired ones
// serve the sessions opened before it until they end). Loop thread only, unless noted.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/loop/LoopTimer.hpp"
#include "core/loop/Poller.hpp"
#include "core/proxy/ProxyMetrics.hpp"
#include "core/proxy/datagram/DatagramBatch.hpp"
#include "core/proxy/datagram/DatagramFramer.hpp"
#include "core/proxy/datagram/DatagramLoopContext.hpp"
#include "core/proxy/datagram/DatagramMetrics.hpp"
#include "core/proxy/datagram/HandoffRing.hpp"
#include "core/proxy/datagram/PooledStreamConnection.hpp"
#include "core/proxy/datagram/DatagramPeer.hpp"

namespace switchyard {

class EventLoop;
class DatagramListener;
class DatagramSession;
struct ListenerContext;

// What the receiving loop writes ahead of a datagram it hands to the owning loop's inbox.
struct DatagramHandoff {
    DatagramPeer peer;
    LocalAddress local;
};

class DatagramListenerLoop final : public PollHandler {
public:
    // Control thread.
    DatagramListenerLoop(DatagramListener& listener, ListenerContext& ctx, EventLoop& loop);
    ~DatagramListenerLoop();  // closes its socket; sessions must be gone (end_sessions)
    DatagramListenerLoop(const DatagramListenerLoop&) = delete;
    DatagramListenerLoop& operator=(const DatagramListenerLoop&) = delete;

    // Control thread, before the loops run: the socket this loop reads (owned), and the one
    // its replies leave from (its own, or the receiving loop's when reuse_port is off).
    void set_socket(int fd) {
        fd_ = fd;
        reply_fd_ = fd;
    }
    void set_reply_socket(int fd) { reply_fd_ = fd; }
    // Control thread (or while the loops are parked): SO_RCVBUF of the socket this loop reads,
    // in bytes (receive_buffer; 0 keeps the kernel's default). A deeper queue absorbs bursts
    // while the loop is busy elsewhere: a datagram that finds it full is lost before anyone can
    // count it (the kernel's RcvbufErrors).
    void set_receive_buffer(std::uint64_t bytes);
    int socket() const { return fd_; }
    // True when the upstream is a stream (a bridge): frames go onto a pooled connection.
    bool bridged() const { return current_->stream() != nullptr; }
    // Control thread, while the loops are parked (a reload): new sessions use `next` from now
    // on; the sessions already open keep the generation they started with. Resizes the batches
    // when max_datagram changed.
    void switch_context(ListenerContext& next);
    // Control thread, while the loops are parked: stops reading and sweeping, before the
    // listener of a removed configuration is destroyed.
    void retire();
    // Control thread: this loop can be handed datagrams (reuse_port off, several loops).
    void make_inbox(std::size_t bytes);
    HandoffRing* inbox() { return inbox_.get(); }

    EventLoop& loop() { return loop_; }
    std::size_t index() const;

    // Loop thread: start reading the socket (and whatever queued before the watch).
    void start_reading();
    // Loop thread, binary upgrade: the socket is read by the new process from now on; this loop
    // only sends its open sessions' replies on it.
    void stop_reading();
    void on_poll_events(std::uint32_t events) override;

    // A client datagram for a session this loop owns (or will open). Loop thread only.
    void deliver(const DatagramPeer& peer, const LocalAddress& local, const std::uint8_t* data, std::size_t len);
    // Runs the datagrams other loops handed over. Loop thread only.
    void drain_inbox();

    // ---- for DatagramSession ------------------------------------------------------------
    // The reply batch, for a session to receive its upstream's replies straight into.
    DatagramBatch& replies() { return replies_; }
    // Sends the reply batch now when full, else at the end of this turn.
    void replies_added();
    void flush_replies();
    // The session ended: drop it from the table.
    void forget(DatagramSession& session);
    void count_drop(DatagramDropReason reason, std::uint64_t n = 1);
    // A datagram that did not frame: dropped, counted, logged (rate-limited). side 0 = the
    // client's codec, 1 = the upstream's, of the generation `gen`.
    void codec_error(const DatagramLoopContext& gen, int side, const DatagramFramer& framer,
                     const DatagramPeer& client);
    // Sends one re-encoded reply now, from `from` (translated replies are not batched).
    void send_reply_now(const DatagramPeer& to, const LocalAddress& from, const iovec* iov, int iov_count);

    // Control thread after the loops stopped: ends every session still open.
    void end_sessions();

private:
    void read_socket();
    void echo(std::size_t received);
    void count_sent(const DatagramBatch::FlushResult& r);
    DatagramSession* open_session(const DatagramPeer& peer, const LocalAddress& local);
    void forward_to_stream(const DatagramPeer& peer, const std::uint8_t* data, std::size_t len);
    void sweep_retired();
    ListenerContext& ctx() const { return current_->ctx(); }

    DatagramListener& listener_;
    EventLoop& loop_;
    int fd_ = -1;
    int reply_fd_ = -1;
    bool reading_ = true;  // loop thread only
    DatagramBatch received_;
    DatagramBatch replies_;
    bool flush_pending_ = false;
    std::unique_ptr<HandoffRing> inbox_;
    std::unique_ptr<DatagramLoopContext> current_;
    std::vector<std::unique_ptr<DatagramLoopContext>> retired_;  // until their sessions end
    LoopTimer sweep_;  // frees idle retired generations, while there are any
    std::unordered_map<DatagramPeer, DatagramSession*, DatagramPeerHash> sessions_;
};

}  // namespace switchyard
