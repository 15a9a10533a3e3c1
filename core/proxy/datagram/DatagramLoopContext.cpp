#include "core/proxy/datagram/DatagramLoopContext.hpp"

#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/UpstreamPool.hpp"
#include "core/proxy/datagram/DatagramFramer.hpp"
#include "core/proxy/datagram/PooledStreamConnection.hpp"

namespace switchyard {

DatagramLoopContext::DatagramLoopContext(ListenerContext& ctx, EventLoop& loop) : ctx_(ctx) {
    const bool stream_upstream = ctx.upstream && ctx.upstream->options().protocol == UpstreamProtocol::tcp;
    if (ctx.client_codec) {
        // Both sides frame alike (passthrough): datagrams are checked and passed on as they came.
        // Onto a stream every frame is encoded: its terminator or length is what delimits it there.
        const Codec* up = ctx.upstream_codec ? ctx.upstream_codec.get() : ctx.client_codec.get();
        const bool as_they_came = ctx.passthrough && !stream_upstream;
        to_upstream_ = std::make_unique<DatagramFramer>(*ctx.client_codec, as_they_came ? nullptr : up);
        to_client_ = std::make_unique<DatagramFramer>(*up, ctx.passthrough ? nullptr : ctx.client_codec.get());
    }
    if (stream_upstream) stream_ = std::make_unique<PooledStreamConnection>(loop, ctx);
    ctx_.active.fetch_add(1, std::memory_order_relaxed);
}

DatagramLoopContext::~DatagramLoopContext() {
    stream_.reset();
    to_client_.reset();
    to_upstream_.reset();
    // The last touch of the context: the runtime may free its generation from here on.
    ctx_.active.fetch_sub(1, std::memory_order_relaxed);
}

bool DatagramLoopContext::idle() const { return sessions_ == 0 && (!stream_ || stream_->idle()); }

}  // namespace switchyard
