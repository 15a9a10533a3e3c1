#pragma once
// What one loop holds of one configuration generation of a udp listener: the listener's context
// for that generation, the framers built from its codecs, and (a bridge to a stream upstream) the
// loop's pooled connection. A reload gives each loop a new one for the sessions it opens from
// then on; sessions opened before keep theirs (their codec, their upstream pool), and the loop
// frees it once the last of them has ended and its pooled connection has written what it took.
// While it exists it counts as one session of its context (ListenerContext::active), so the
// runtime keeps that generation until it is gone.
// Construction and destruction: the loop's thread, or the control thread while the loops are
// parked or stopped. Everything else: loop thread only.
#include <cstdint>
#include <memory>

namespace switchyard {

class EventLoop;
class DatagramFramer;
class PooledStreamConnection;
struct ListenerContext;

class DatagramLoopContext {
public:
    DatagramLoopContext(ListenerContext& ctx, EventLoop& loop);
    ~DatagramLoopContext();
    DatagramLoopContext(const DatagramLoopContext&) = delete;
    DatagramLoopContext& operator=(const DatagramLoopContext&) = delete;

    ListenerContext& ctx() const { return ctx_; }
    // With a codec (null without one): to_upstream decodes client datagrams and encodes them
    // for the upstream's codec; to_client decodes the endpoint's replies and encodes them for
    // the client's codec. One per loop and direction: loop thread only.
    DatagramFramer* to_upstream() const { return to_upstream_.get(); }
    DatagramFramer* to_client() const { return to_client_.get(); }
    // A stream upstream (protocol: tcp on a udp listener): the loop's pooled connection, which
    // every client datagram's frames are written onto. Null otherwise.
    PooledStreamConnection* stream() const { return stream_.get(); }

    // Sessions open with this generation on this loop (DatagramSession open and close).
    void add_session() { ++sessions_; }
    void remove_session() { --sessions_; }
    // No session left and nothing waiting to be written: a retired one may be freed.
    bool idle() const;

private:
    ListenerContext& ctx_;
    std::unique_ptr<DatagramFramer> to_upstream_;
    std::unique_ptr<DatagramFramer> to_client_;
    std::unique_ptr<PooledStreamConnection> stream_;
    std::uint32_t sessions_ = 0;
};

}  // namespace switchyard
