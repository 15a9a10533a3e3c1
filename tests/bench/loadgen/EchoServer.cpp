#include "tests/bench/loadgen/EchoServer.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <thread>
#include <vector>

#include "tests/bench/loadgen/LoopbackAddress.hpp"
#include "tests/bench/loadgen/SocketEndpoint.hpp"

namespace switchyard::loadgen {

namespace asio = boost::asio;
using Protocol = asio::generic::stream_protocol;

namespace {

// One accepted connection: read what arrives, write it all back, repeat. Owned by the handlers
// in flight (shared_ptr), so it dies when the peer closes.
class EchoSession : public std::enable_shared_from_this<EchoSession> {
public:
    explicit EchoSession(Protocol::socket socket) : socket_(std::move(socket)) {}

    // Thread rule: the socket's loop thread only.
    void start() { read(); }

private:
    void read() {
        socket_.async_read_some(asio::buffer(buffer_),
                                [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                    if (!ec) self->write(n);
                                });
    }
    void write(std::size_t n) {
        asio::async_write(socket_, asio::buffer(buffer_.data(), n),
                          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                              if (!ec) self->read();
                          });
    }

    Protocol::socket socket_;
    std::array<std::uint8_t, 16 * 1024> buffer_;
};

}  // namespace

class EchoServer::Impl {
public:
    explicit Impl(const LoadgenOptions& options) : options_(options), loops_(make_loops(options.threads)) {}

    int run() {
        std::string error;
        const auto address = parse_loopback_address(options_.listen, true, &error);  // checked by the parser
        if (!bind(*address)) return 1;

        std::printf("{\"event\":\"listening\",\"address\":\"%s\",\"threads\":%u}\n", bound_.c_str(),
                    options_.threads);
        std::fflush(stdout);

        accept();
        std::vector<std::thread> threads;
        std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
        for (auto& loop : loops_) guards.push_back(asio::make_work_guard(*loop));
        for (auto& loop : loops_) threads.emplace_back([&loop] { loop->run(); });

        // The main thread waits for a signal or the end of --duration, then stops every loop.
        asio::io_context main_io(1);
        asio::signal_set signals(main_io, SIGINT, SIGTERM);
        asio::steady_timer deadline(main_io);
        auto stop_all = [&] {
            signals.cancel();
            deadline.cancel();
            for (auto& loop : loops_) loop->stop();
        };
        signals.async_wait([&](const boost::system::error_code& ec, int) {
            if (!ec) stop_all();
        });
        if (options_.duration_s > 0) {
            deadline.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                std::chrono::duration<double>(options_.duration_s)));
            deadline.async_wait([&](const boost::system::error_code& ec) {
                if (!ec) stop_all();
            });
        }
        main_io.run();
        for (auto& t : threads) t.join();
        if (address->is_unix) ::unlink(address->path.c_str());
        std::printf("{\"event\":\"stopped\",\"accepted\":%" PRIu64 "}\n", accepted_);
        return 0;
    }

private:
    // Built in the initializer list: the acceptor and timer below need loop 0 to exist.
    static std::vector<std::unique_ptr<asio::io_context>> make_loops(unsigned count) {
        std::vector<std::unique_ptr<asio::io_context>> loops;
        for (unsigned i = 0; i < count; ++i) loops.push_back(std::make_unique<asio::io_context>(1));
        return loops;
    }

    bool bind(const LoopbackAddress& address) {
        boost::system::error_code ec;
        const Protocol::endpoint endpoint = to_endpoint(address);
        if (address.is_unix) {
            // A stale socket file from a killed run would make bind fail; remove only sockets.
            struct stat st {};
            if (::lstat(address.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(address.path.c_str());
        }
        acceptor_.open(endpoint.protocol(), ec);
        if (!ec && !address.is_unix) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) acceptor_.bind(endpoint, ec);
        if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            std::fprintf(stderr, "switchyard-loadgen: cannot listen on %s: %s\n", address.to_string().c_str(),
                         ec.message().c_str());
            return false;
        }
        LoopbackAddress bound = address;
        if (!address.is_unix) bound.port = endpoint_port(acceptor_.local_endpoint());
        bound_ = bound.to_string();
        return true;
    }

    // Runs on loop 0; each accepted socket is created on the next loop and started there.
    void accept() {
        asio::io_context& target = *loops_[next_loop_];
        next_loop_ = (next_loop_ + 1) % loops_.size();
        acceptor_.async_accept(target, [this, &target](const boost::system::error_code& ec, Protocol::socket socket) {
            if (ec == asio::error::operation_aborted) return;
            if (ec) {
                // Out of descriptors, most likely: say so once in a while and retry shortly
                // instead of spinning.
                std::fprintf(stderr, "switchyard-loadgen: accept: %s\n", ec.message().c_str());
                retry_timer_.expires_after(std::chrono::milliseconds(50));
                retry_timer_.async_wait([this](const boost::system::error_code& e) {
                    if (!e) accept();
                });
                return;
            }
            ++accepted_;
            if (socket.local_endpoint().protocol().family() != AF_UNIX) {
                boost::system::error_code ignored;
                socket.set_option(asio::ip::tcp::no_delay(true), ignored);
            }
            asio::post(target, [session = std::make_shared<EchoSession>(std::move(socket))] { session->start(); });
            accept();
        });
    }

    const LoadgenOptions& options_;
    std::vector<std::unique_ptr<asio::io_context>> loops_;
    asio::basic_socket_acceptor<Protocol> acceptor_{*loops_.front()};
    asio::steady_timer retry_timer_{*loops_.front()};
    std::size_t next_loop_ = 0;
    std::uint64_t accepted_ = 0;  // loop 0 only; read after the threads are joined
    std::string bound_;
};

EchoServer::EchoServer(const LoadgenOptions& options) : impl_(std::make_unique<Impl>(options)) {}
EchoServer::~EchoServer() = default;
int EchoServer::run() { return impl_->run(); }

}  // namespace switchyard::loadgen
