#include "tests/bench/loadgen/ClientConnection.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cstring>

namespace switchyard::loadgen {

namespace asio = boost::asio;

namespace {
// Large enough to drain a full pipeline in one read, small enough that 5,000 held connections
// stay cheap.
std::size_t read_buffer_size(const MessagePool& pool, unsigned pipeline) {
    return std::clamp<std::size_t>(pool.message_size() * pipeline, 64, 256 * 1024);
}
}  // namespace

ClientConnection::ClientConnection(asio::io_context& io, const Plan& plan, const MessagePool& pool,
                                   ClientStats& stats, ConnectionObserver& observer)
    : socket_(io),
      plan_(plan),
      pool_(pool),
      stats_(stats),
      observer_(observer),
      send_seq_(plan.first_message),
      recv_seq_(plan.first_message) {}

void ClientConnection::start() {
    socket_.async_connect(plan_.target, [this](const boost::system::error_code& ec) { on_connect(ec); });
}

void ClientConnection::close() {
    closed_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
}

void ClientConnection::on_connect(const boost::system::error_code& ec) {
    if (closed_) return;
    if (ec) {
        if (!observer_.stopping()) ++stats_.connect_errors;
        close();
        settle(false);
        return;
    }
    ++stats_.connected;
    if (plan_.tcp) {
        boost::system::error_code ignored;
        socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    }
    // Buffers are sized on connect, not construction: connections not yet started cost nothing.
    read_buffer_.resize(read_buffer_size(pool_, plan_.pipeline));
    send_times_.resize(plan_.pipeline);
    pending_send_ = plan_.pipeline;
    start_write();
    start_read();
}

void ClientConnection::start_write() {
    if (writing_ || closed_ || pending_send_ == 0) return;
    const std::size_t count = pool_.count();
    const std::size_t size = pool_.message_size();
    const std::size_t n = pending_send_;  // <= pipeline <= pool count: wraps at most once
    const std::size_t first = send_seq_ % count;
    const std::size_t run = std::min(n, count - first);
    const std::array<asio::const_buffer, 2> buffers{
        asio::buffer(pool_.message(first), run * size),
        asio::buffer(pool_.message(0), (n - run) * size),
    };
    const auto now = Clock::now();
    for (std::size_t i = 0; i < n; ++i) send_times_[(send_seq_ + i) % plan_.pipeline] = now;
    send_seq_ += n;
    pending_send_ = 0;
    writing_ = true;
    asio::async_write(socket_, buffers, [this](const boost::system::error_code& ec, std::size_t) {
        writing_ = false;
        if (ec) {
            fail();
            return;
        }
        start_write();
    });
}

void ClientConnection::start_read() {
    if (closed_) return;
    socket_.async_read_some(asio::buffer(read_buffer_),
                            [this](const boost::system::error_code& ec, std::size_t bytes) { on_read(ec, bytes); });
}

void ClientConnection::on_read(const boost::system::error_code& ec, std::size_t bytes) {
    if (ec) {
        fail();
        return;
    }
    if (!verify(read_buffer_.data(), bytes, Clock::now())) {
        mismatch();
        return;
    }
    start_write();
    start_read();
}

// Compares the bytes with the messages in flight, in order; completes messages as their last
// byte arrives. Returns false on the first byte that differs, or on bytes nobody sent.
bool ClientConnection::verify(const std::uint8_t* data, std::size_t bytes, Clock::time_point now) {
    const std::size_t size = pool_.message_size();
    while (bytes > 0) {
        if (recv_seq_ == send_seq_) return false;  // more bytes than were sent
        const std::uint8_t* expected = pool_.message(recv_seq_ % pool_.count()) + recv_offset_;
        const std::size_t take = std::min(size - recv_offset_, bytes);
        if (std::memcmp(expected, data, take) != 0) return false;
        data += take;
        bytes -= take;
        recv_offset_ += take;
        if (recv_offset_ < size) break;

        recv_offset_ = 0;
        if (observer_.measuring()) {
            const auto sent = send_times_[recv_seq_ % plan_.pipeline];
            stats_.latency.record(static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent).count()));
            ++stats_.messages;
        }
        ++recv_seq_;
        if (!plan_.hold) ++pending_send_;
        if (!settled_) settle(true);
    }
    return true;
}

void ClientConnection::fail() {
    if (closed_) return;  // our own close(): not an error
    if (!observer_.stopping()) ++stats_.io_errors;
    close();
    settle(false);
}

void ClientConnection::mismatch() {
    ++stats_.mismatches;
    close();
    settle(false);
}

void ClientConnection::settle(bool established) {
    if (settled_) return;
    settled_ = true;
    observer_.on_settled(established);
}

}  // namespace switchyard::loadgen
