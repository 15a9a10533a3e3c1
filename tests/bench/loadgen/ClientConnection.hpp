#pragma once
// One client connection: connects, keeps `pipeline` messages in flight, and checks every echoed
// byte against what it sent. Pingpong is pipeline 1. In hold mode it sends one message, checks
// the echo, then stays idle (still reading, so a close by the peer is noticed and counted).
//
// Memory is fixed after connect: the read buffer and the send-time ring are sized once; sending
// writes straight from the shared MessagePool (scatter/gather, no copy).
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <vector>

#include "tests/bench/loadgen/ClientStats.hpp"
#include "tests/bench/loadgen/ConnectionObserver.hpp"
#include "tests/bench/loadgen/MessagePool.hpp"

namespace switchyard::loadgen {

class ClientConnection {
public:
    struct Plan {
        boost::asio::generic::stream_protocol::endpoint target;
        bool tcp = true;                 // set TCP_NODELAY
        unsigned pipeline = 1;           // messages in flight (<= pool count)
        bool hold = false;               // one round trip, then idle
        std::uint64_t first_message = 0; // where in the pool this connection starts
    };

    // Thread rule: loop thread only (the io_context's thread), like every method below.
    ClientConnection(boost::asio::io_context& io, const Plan& plan, const MessagePool& pool,
                     ClientStats& stats, ConnectionObserver& observer);

    ClientConnection(const ClientConnection&) = delete;
    ClientConnection& operator=(const ClientConnection&) = delete;

    void start();  // loop thread only: connect, then run until close()
    void close();  // loop thread only: pending handlers complete with operation_aborted

private:
    using Clock = std::chrono::steady_clock;

    void on_connect(const boost::system::error_code& ec);
    void start_write();
    void start_read();
    void on_read(const boost::system::error_code& ec, std::size_t bytes);
    bool verify(const std::uint8_t* data, std::size_t bytes, Clock::time_point now);
    void fail();  // reset, EOF or write error: counted unless the run is ending
    void mismatch();
    void settle(bool established);

    boost::asio::generic::stream_protocol::socket socket_;
    const Plan& plan_;
    const MessagePool& pool_;
    ClientStats& stats_;
    ConnectionObserver& observer_;

    std::vector<std::uint8_t> read_buffer_;
    std::vector<Clock::time_point> send_times_;  // ring indexed by sequence % pipeline
    std::uint64_t send_seq_;                      // next message to send (absolute)
    std::uint64_t recv_seq_;                      // message being received (absolute)
    std::size_t recv_offset_ = 0;                 // bytes of it received so far
    unsigned pending_send_ = 0;                   // messages owed to the pipeline
    bool writing_ = false;
    bool closed_ = false;
    bool settled_ = false;
};

}  // namespace switchyard::loadgen
