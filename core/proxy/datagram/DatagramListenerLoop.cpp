#include "core/proxy/datagram/DatagramListenerLoop.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/loop/EventLoop.hpp"
#include "core/codec/Codec.hpp"
#include "core/metrics/Counter.hpp"
#include "core/proxy/ListenerContext.hpp"
#include "core/proxy/UpstreamPool.hpp"
#include "core/proxy/datagram/DatagramAdmission.hpp"
#include "core/proxy/datagram/DatagramListener.hpp"
#include "core/proxy/datagram/DatagramSession.hpp"

namespace switchyard {

namespace {

// recvmmsg calls per readiness of the listener socket before the loop's other work runs.
constexpr int kReadBudget = 8;
// Slots per batch: up to 32, fewer for large max_datagram (at most ~2 MiB of address space
// per batch; pages are only backed as datagrams fill them).
std::size_t batch_slots(std::size_t max_datagram) {
    return std::clamp<std::size_t>((2u << 20) / std::max<std::size_t>(max_datagram, 1), 4, 32);
}

}  // namespace

DatagramListenerLoop::DatagramListenerLoop(DatagramListener& listener, ListenerContext& ctx, EventLoop& loop)
    : listener_(listener),
      loop_(loop),
      received_(batch_slots(ctx.options.max_datagram), ctx.options.max_datagram),
      replies_(batch_slots(ctx.options.max_datagram), ctx.options.max_datagram),
      current_(std::make_unique<DatagramLoopContext>(ctx, loop)),
      sweep_(loop.timers(), [this] { sweep_retired(); }) {}

DatagramListenerLoop::~DatagramListenerLoop() {
    if (fd_ >= 0) ::close(fd_);
}

void DatagramListenerLoop::switch_context(ListenerContext& next) {
    const auto& o = next.options;
    flush_replies();  // replies gathered this turn leave before the batches may be resized
    if (o.max_datagram != ctx().options.max_datagram) {
        received_ = DatagramBatch(batch_slots(o.max_datagram), o.max_datagram);
        replies_ = DatagramBatch(batch_slots(o.max_datagram), o.max_datagram);
    }
    if (o.receive_buffer != ctx().options.receive_buffer) set_receive_buffer(o.receive_buffer);
    retired_.push_back(std::move(current_));
    current_ = std::make_unique<DatagramLoopContext>(next, loop_);
    if (fd_ >= 0 && reading_ && current_->stream()) current_->stream()->start();
    sweep_retired();
}

void DatagramListenerLoop::set_receive_buffer(std::uint64_t bytes) {
    if (fd_ < 0 || bytes == 0) return;
    int value = static_cast<int>(std::min<std::uint64_t>(bytes, INT32_MAX / 2));
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &value, sizeof value);
}

void DatagramListenerLoop::retire() {
    stop_reading();
    sweep_.cancel();
}

void DatagramListenerLoop::sweep_retired() {
    std::erase_if(retired_, [](const std::unique_ptr<DatagramLoopContext>& gen) { return gen->idle(); });
    if (!retired_.empty()) sweep_.arm_after(std::chrono::milliseconds(250));
}

std::size_t DatagramListenerLoop::index() const { return loop_.index(); }

void DatagramListenerLoop::make_inbox(std::size_t bytes) { inbox_ = std::make_unique<HandoffRing>(bytes); }

void DatagramListenerLoop::start_reading() {
    if (fd_ < 0) return;
    if (auto* stream = current_->stream()) stream->start();
    if (int err = loop_.poller().add(fd_, this, EPOLLIN | EPOLLET)) {
        spdlog::error("listener {}: cannot watch the udp socket: {}", ctx().options.name, std::strerror(err));
        return;
    }
    read_socket();  // datagrams that queued before the watch raised no edge
}

void DatagramListenerLoop::stop_reading() {
    if (fd_ < 0 || !reading_) return;
    reading_ = false;
    loop_.poller().remove(fd_);
}

void DatagramListenerLoop::on_poll_events(std::uint32_t) { read_socket(); }

void DatagramListenerLoop::count_drop(DatagramDropReason reason, std::uint64_t n) {
    if (auto* c = ctx().datagram_metrics.dropped[static_cast<int>(reason)]) c->inc(loop_.index(), n);
}

void DatagramListenerLoop::read_socket() {
    if (!reading_) return;
    const std::size_t shard = loop_.index();
    ListenerContext& context = ctx();
    const bool echoing = context.upstream == nullptr;
    DatagramFramer* to_client = current_->to_client();
    for (int budget = kReadBudget; budget > 0; --budget) {
        int n = received_.receive_from(fd_);
        if (n < 0) {
            const int e = errno;
            if (e == EAGAIN || e == EWOULDBLOCK) return;  // drained: the next datagram raises an edge
            if (e == EINTR) continue;
            // ECONNREFUSED and friends can surface here from an earlier send's ICMP error; they
            // say nothing about the datagrams queued.
            spdlog::debug("listener {}: udp receive: {}", context.options.name, std::strerror(e));
            continue;
        }
        std::uint64_t bytes = 0;
        std::uint64_t oversize = 0;
        for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
            if (received_.truncated(i)) {
                ++oversize;  // larger than max_datagram: never passed on cut short
                continue;
            }
            bytes += received_.length(i);
            const DatagramPeer peer = received_.peer(i);
            if (peer.empty()) continue;
            if (echoing) {
                // No sessions: the access rules hold for each datagram.
                if (!listener_.accepting()) {
                    count_drop(DatagramDropReason::draining);
                    continue;
                }
                if (!DatagramAdmission::source_allowed(*this, context, peer)) continue;
                if (to_client) {  // echo with a codec: only datagrams that frame come back
                    int frames = to_client->decode(received_.data(i), received_.length(i));
                    if (frames < 0) {
                        codec_error(*current_, 0, *to_client, peer);
                        continue;
                    }
                    if (auto* c = context.metrics.frames_received) c->inc(shard, static_cast<std::uint64_t>(frames));
                    if (auto* c = context.metrics.frames_sent) c->inc(shard, static_cast<std::uint64_t>(frames));
                }
                received_.keep(i, peer, received_.local(i));
            } else if (current_->stream()) {
                if (DatagramAdmission::source_allowed(*this, context, peer))  // no sessions, as echo
                    forward_to_stream(peer, received_.data(i), received_.length(i));
            } else if (listener_.routed()) {
                listener_.route(*this, peer, received_.local(i), received_.data(i), received_.length(i));
            } else {
                deliver(peer, received_.local(i), received_.data(i), received_.length(i));
            }
        }
        if (auto* c = context.datagram_metrics.datagrams_received) c->inc(shard, static_cast<std::uint64_t>(n) - oversize);
        if (auto* c = context.metrics.bytes_received) c->inc(shard, bytes);
        if (oversize) count_drop(DatagramDropReason::oversize, oversize);
        if (echoing) echo(static_cast<std::size_t>(n));
        if (listener_.routed()) listener_.wake_owners();
        // Fewer than a full batch: the queue is empty (a later datagram raises a new edge).
        if (static_cast<std::size_t>(n) < received_.capacity()) return;
    }
    // Budget spent with datagrams still queued: let the loop's sessions run first.
    loop_.defer([this] { read_socket(); });
}

void DatagramListenerLoop::echo(std::size_t) {
    if (!received_.empty()) count_sent(received_.flush(fd_));
}

void DatagramListenerLoop::count_sent(const DatagramBatch::FlushResult& r) {
    const std::size_t shard = loop_.index();
    ListenerContext& context = ctx();
    if (auto* c = context.datagram_metrics.datagrams_sent) c->inc(shard, r.sent);
    if (auto* c = context.metrics.bytes_sent) c->inc(shard, r.sent_bytes);
    if (r.would_block) count_drop(DatagramDropReason::send_buffer_full, r.would_block);
    if (r.failed) {
        count_drop(DatagramDropReason::send_error, r.failed);
        std::uint64_t suppressed = 0;
        if (context.error_log.allow(&suppressed))
            spdlog::warn("listener {}: udp send to clients: {} ({} datagram(s) dropped)", context.options.name,
                         std::strerror(r.last_error), r.failed);
    }
}

void DatagramListenerLoop::deliver(const DatagramPeer& peer, const LocalAddress& local, const std::uint8_t* data,
                                   std::size_t len) {
    DatagramSession* session;
    auto it = sessions_.find(peer);
    if (it != sessions_.end()) {
        session = it->second;
    } else {
        session = open_session(peer, local);
        if (!session) {
            if (listener_.routed()) listener_.forget_route(peer, index());
            return;
        }
    }
    session->from_client(data, len);
}

DatagramSession* DatagramListenerLoop::open_session(const DatagramPeer& peer, const LocalAddress& local) {
    if (!listener_.accepting()) {  // draining: no new sessions
        count_drop(DatagramDropReason::draining);
        return nullptr;
    }
    // Routed (reuse_port off): the receiving loop applied the access rules before the hand-over.
    if (!DatagramAdmission::admit(*this, ctx(), peer, /*access_checked=*/listener_.routed())) return nullptr;
    DatagramSession* s = DatagramSession::open(*this, *current_, peer, local);
    if (s) sessions_.emplace(peer, s);
    return s;
}

void DatagramListenerLoop::forward_to_stream(const DatagramPeer& peer, const std::uint8_t* data, std::size_t len) {
    DatagramFramer& framer = *current_->to_upstream();
    int frames = framer.decode(data, len);
    iovec iov[DatagramFramer::kMaxIov];
    int pieces = frames < 0 ? -1 : framer.encode(data, len, iov);
    if (pieces < 0) {
        codec_error(*current_, framer.error() == CodecErrorReason::encode_failed ? 1 : 0, framer, peer);
        return;
    }
    if (auto* c = ctx().metrics.frames_received) c->inc(loop_.index(), static_cast<std::uint64_t>(frames));
    if (pieces == 0) return;  // an empty datagram: nothing to write
    DatagramDropReason dropped = current_->stream()->write(iov, pieces);
    if (dropped != DatagramDropReason::count) count_drop(dropped);
}

void DatagramListenerLoop::drain_inbox() {
    inbox_->clear_wake();
    inbox_->drain([this](const std::uint8_t* record, std::size_t len) {
        DatagramHandoff h;
        std::memcpy(&h, record, sizeof h);
        deliver(h.peer, h.local, record + sizeof h, len - sizeof h);
    });
}

void DatagramListenerLoop::replies_added() {
    if (replies_.room() == 0) {
        flush_replies();
        return;
    }
    if (flush_pending_) return;
    flush_pending_ = true;
    // After the ready descriptors of this turn: the replies of every session that turned
    // readable go out together.
    loop_.defer([this] { flush_replies(); });
}

void DatagramListenerLoop::flush_replies() {
    flush_pending_ = false;
    if (!replies_.empty()) count_sent(replies_.flush(reply_fd_));
}

void DatagramListenerLoop::forget(DatagramSession& session) {
    auto it = sessions_.find(session.client());
    if (it != sessions_.end() && it->second == &session) sessions_.erase(it);
    if (listener_.routed()) listener_.forget_route(session.client(), index());
}

void DatagramListenerLoop::codec_error(const DatagramLoopContext& gen, int side, const DatagramFramer& framer,
                                       const DatagramPeer& client) {
    count_drop(DatagramDropReason::codec_error);
    ListenerContext& context = gen.ctx();
    if (auto* c = context.metrics.codec_errors[side][static_cast<int>(framer.error())]) c->inc(loop_.index());
    std::uint64_t suppressed = 0;
    if (context.error_log.allow(&suppressed)) {
        const Codec* codec = side == 0 ? context.client_codec.get() : context.upstream_codec.get();
        spdlog::warn("listener {}: codec {}: {} datagram from {} {}: {}; dropped{}", context.options.name,
                     codec ? codec->name() : std::string("?"), to_string(framer.error()),
                     side == 0 ? "client" : "upstream for client", client.to_string(), framer.reason(),
                     suppressed ? fmt::format(" ({} similar messages suppressed)", suppressed) : "");
    }
}

void DatagramListenerLoop::send_reply_now(const DatagramPeer& to, const LocalAddress& from, const iovec* iov,
                                          int iov_count) {
    msghdr h{};
    alignas(cmsghdr) unsigned char control[DatagramBatch::kControlSpace];
    h.msg_name = const_cast<sockaddr*>(to.data());
    h.msg_namelen = to.length;
    h.msg_iov = const_cast<iovec*>(iov);
    h.msg_iovlen = static_cast<std::size_t>(iov_count);
    DatagramBatch::attach_source(h, control, to.family(), from);
    DatagramBatch::FlushResult r;
    ssize_t n = ::sendmsg(reply_fd_, &h, MSG_DONTWAIT);
    if (n >= 0) {
        r.sent = 1;
        r.sent_bytes = static_cast<std::size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        r.would_block = 1;
    } else {
        r.failed = 1;
        r.last_error = errno;
    }
    count_sent(r);
}

void DatagramListenerLoop::end_sessions() {
    std::vector<DatagramSession*> open;
    open.reserve(sessions_.size());
    for (auto& [peer, s] : sessions_) open.push_back(s);
    for (DatagramSession* s : open) s->force_close();
}

}  // namespace switchyard
