#pragma once
// One proxied (or echoed) connection, pinned to one loop for its whole life together with its
// upstream socket. Two relay directions (client -> upstream, upstream -> client); each one
// waits for readability without a buffer, borrows one from the loop's pool when data arrives,
// decodes frames in place when a codec is configured, writes header+payload+trailer with
// scatter/gather, stops reading its source while its destination is full (backpressure), and
// hands the buffer back once drained. Endings are relayed as they came: EOF on one side becomes
// shutdown(SHUT_WR) on the other while the other direction keeps flowing; a reset (or any
// error that broke a connection) on one side becomes a reset of the other (SO_LINGER 0, close),
// in whatever state the session is: connecting, idle, mid-transfer, paused on a full peer or
// half-closed.
//
// Both sockets are plain non-blocking descriptors watched by the loop's edge-triggered Poller,
// registered once for their whole life. Included only by core/proxy .cpp files.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/loop/BufferPool.hpp"
#include "core/loop/LoopSession.hpp"
#include "core/loop/LoopTimer.hpp"
#include "core/loop/Poller.hpp"
#include "core/net/PeerAddress.hpp"
#include "core/proxy/ProxyMetrics.hpp"

namespace switchyard {

class EventLoop;
class Codec;
struct ListenerContext;
class UpstreamPool;

class Session final : public LoopSession {
public:
    // Loop thread of `loop` only. Takes ownership of `fd`, an accepted non-blocking socket from
    // `client` (the real client, when a PROXY header named one); the listener has already
    // counted it in ctx.active, listener_active, the per-IP counts and loop load. `destination`:
    // the address the client connected to, when a PROXY header said so (else the socket's).
    static void start(EventLoop& loop, ListenerContext& ctx, int fd, const PeerAddress& client,
                      const PeerAddress& destination = {});

    void check_idle(SteadyTime now) override;  // loop thread only
    void force_close() override;               // loop thread only
    const void* owner() const override { return &ctx_; }  // its ListenerContext; any thread

    // Intrusive, non-atomic reference count: the open session holds one on itself (released
    // after close, once the poll batch being dispatched is over) and every pending handler
    // holds one. Loop thread only.
    friend void intrusive_ptr_add_ref(Session* s) { ++s->refs_; }
    friend void intrusive_ptr_release(Session* s) {
        if (--s->refs_ == 0) delete s;
    }

private:
    struct Direction {
        BufferPool::Block block;       // borrowed only while data is in flight
        std::uint32_t data_cap = 0;    // bytes of block usable for data (rest: framing scratch)
        std::uint32_t read_end = 0;    // bytes received into the block
        std::uint32_t parse_pos = 0;   // bytes handed to the output (whole frames in framed mode)
        std::uint32_t out_begin = 0;   // pending output range (raw and passthrough framing)
        std::uint32_t out_end = 0;
        std::uint16_t iov_head = 0;    // pending scatter/gather output (translated framing)
        std::uint16_t iov_count = 0;
        std::uint64_t stream_state = 0;  // the decoder's scratch word (see plugins/README.md)
        std::uint32_t raw_cap = 0;     // raw mode: the block size this direction borrows next
        SteadyTime frame_started{};    // framed: when the partial frame held began arriving ({} = none)
        bool eof = false;              // the source said FIN
        bool done = false;             // FIN forwarded; nothing more will flow this way
    };
    enum class Step { progressed, blocked, finished, failed };
    // One of the two sockets (0 = client, 1 = upstream) and what its directions wait for.
    struct Side final : PollHandler {
        Session* session = nullptr;
        int fd = -1;
        std::uint8_t index = 0;
        bool want_read = false;   // a direction reads from here and found it empty
        bool want_write = false;  // a direction writes here and found it full
        bool hung_up = false;     // the peer's FIN (or an error) was reported: read to the end
        void on_poll_events(std::uint32_t events) override { session->on_side_events(index, events); }
    };

    Session(EventLoop& loop, ListenerContext& ctx, int fd, const PeerAddress& client);
    ~Session() override;

    bool echo() const { return upstream_pool_ == nullptr; }
    // Which side a direction reads from and writes to (echo writes back where it reads).
    int source_side(int d) const { return d; }
    int destination_side(int d) const { return d == 0 && !echo() ? 1 : 0; }
    int source(int d) const { return sides_[source_side(d)].fd; }
    int destination(int d) const { return sides_[destination_side(d)].fd; }
    const Codec* decoder(int d) const;
    const Codec* encoder(int d) const;
    bool framed(int d) const { return decoder(d) != nullptr; }
    bool translating() const;

    void on_side_events(int side, std::uint32_t events);
    void abort_if_reset(int side);       // the socket reports an error: reset_by(side)
    void reset_by(int side, int error);  // `side` aborted: abort the other side, close
    void connect_next();
    void finish_connect();
    void on_connected(int error);  // errno of the attempt, 0 = connected
    void on_connect_timeout();
    void start_relay();
    bool send_proxy_header();  // false: the connection is broken

    void pump(int d);
    Step read(int d, bool* drained);  // *drained: a short read emptied the socket
    Step produce(int d);
    Step flush(int d);
    bool ensure_block(int d);
    bool make_room(int d);
    void adapt_raw_capacity(int d, std::size_t read, std::size_t asked);
    void resize_empty_block(int d);
    void finish_direction(int d);
    void release_block_if_empty(int d);
    bool has_output(const Direction& dir) const { return dir.out_end > dir.out_begin || dir.iov_count > 0; }
    void wait_readable(int d);
    void wait_writable(int d);
    void count_read(int d, std::size_t n);
    void count_written(int d, std::size_t n);
    void codec_error(int d, CodecErrorReason reason, const char* text);
    void count_truncated_frame(int d);
    void report_codec_error(int side, const Codec* codec, CodecErrorReason reason, std::string_view what);
    bool frame_timed_out(int d, SteadyTime now);

    void close();
    // For log lines: "client 127.0.0.1:45884", or for side 1 "upstream b 127.0.0.1:9000 for
    // client 127.0.0.1:45884" (the side a line is about and that side's address, then the client
    // it serves).
    std::string side_text(int side) const;

    EventLoop& loop_;
    ListenerContext& ctx_;
    UpstreamPool* upstream_pool_;
    Side sides_[2];
    Direction dirs_[2];
    LoopTimer connect_timer_;  // armed only while connecting
    PeerAddress client_;                     // as accepted: log lines name it even after a reset
    PeerAddress destination_;                // from a PROXY header; unset (AF_UNSPEC) otherwise
    std::uint64_t tried_ = 0;                // endpoints tried (bit i%64)
    SteadyTime last_activity_;
    SteadyTime connect_started_;
    std::uint32_t refs_ = 0;
    int last_error_ = 0;                     // errno of the read or write that failed
    std::int32_t endpoint_ = -1;             // index in the upstream pool, -1 = none
    std::uint16_t attempts_ = 0;
    std::uint16_t resolved_ = 0;             // which of the endpoint's resolved addresses endpoint_ uses
    bool connecting_ = false;
    bool connect_timed_out_ = false;
    bool closed_ = false;
};

}  // namespace switchyard
