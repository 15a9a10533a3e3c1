#pragma once
// A bridge from a stream client (a tcp or unix listener with a codec) to a UDP upstream: each
// frame the listener's codec decodes from the client's bytes is sent as one datagram on the
// session's own UDP socket, connected to the endpoint the upstream's balancer picked; each
// datagram the endpoint sends back is encoded with the same codec as one frame to the client.
// DNS over TCP (2-byte length fields) to a DNS server over UDP is the case it is made for.
// Pinned to one loop; buffers are borrowed from the loop's pool only while bytes are in flight.
// While the client cannot take a reply, the UDP socket is not read (datagrams queue in the
// kernel, which drops what does not fit). Ends when the client closes, on a codec error, on
// ECONNREFUSED from the endpoint, on idle_timeout, or at shutdown.
#include "core/net/PeerAddress.hpp"
#include <cstdint>

#include "core/loop/BufferPool.hpp"
#include "core/loop/LoopSession.hpp"
#include "core/loop/Poller.hpp"
#include "core/proxy/ProxyMetrics.hpp"

namespace switchyard {

class EventLoop;
struct ListenerContext;

class StreamToDatagramSession final : public LoopSession {
public:
    // Loop thread of `loop` only: a StreamSessionStarter. Takes ownership of `fd`; the listener
    // has counted it in ctx.active and the loop's load.
    // Loop thread of `loop` only; the StreamSessionStarter of a tcp/unix listener whose upstream
    // speaks UDP (see ListenerContext::start_session).
    static void start(EventLoop& loop, ListenerContext& ctx, int fd, const PeerAddress& client);

    void check_idle(SteadyTime now) override;  // loop thread only
    void force_close() override;               // loop thread only

    friend void intrusive_ptr_add_ref(StreamToDatagramSession* s) { ++s->refs_; }
    friend void intrusive_ptr_release(StreamToDatagramSession* s) {
        if (--s->refs_ == 0) delete s;
    }

private:
    struct Side final : PollHandler {
        StreamToDatagramSession* session = nullptr;
        int fd = -1;
        bool upstream = false;
        void on_poll_events(std::uint32_t events) override { session->on_events(upstream, events); }
    };

    StreamToDatagramSession(EventLoop& loop, ListenerContext& ctx, int fd, std::uint64_t client_ip_hash);
    ~StreamToDatagramSession() override = default;

    bool open_upstream();
    void on_events(bool upstream, std::uint32_t events);
    void read_client();
    void read_upstream();
    bool flush_client();  // false: the client cannot take more now (or failed and closed)
    void codec_error(CodecErrorReason reason, const char* text);
    void count_drop(int reason);
    void refused();  // ICMP port unreachable came back: counted, reported to passive health, closed
    void close();

    EventLoop& loop_;
    ListenerContext& ctx_;
    Side client_;
    Side upstream_;
    BufferPool::Block in_;   // the client's bytes not yet framed
    BufferPool::Block out_;  // one encoded reply the client has not taken yet
    std::uint32_t in_end_ = 0;
    std::uint32_t out_begin_ = 0;
    std::uint32_t out_end_ = 0;
    std::uint64_t stream_state_ = 0;
    std::uint64_t client_ip_hash_;
    SteadyTime last_activity_;
    std::int32_t endpoint_ = -1;
    std::uint32_t refs_ = 0;
    bool closed_ = false;
    bool answered_ = false;  // a reply came back (reported to passive health once)
};

}  // namespace switchyard
