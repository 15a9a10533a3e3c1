#include "core/admin/AdminServer.hpp"

#include <pthread.h>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "core/admin/Gzip.hpp"
#include "core/metrics/Exposition.hpp"
#include "core/net/Address.hpp"

namespace switchyard::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using Request = http::request<http::string_body>;

std::string html_escaped(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

constexpr std::string_view plain_text = "text/plain; charset=utf-8";

// A response with `body`; for HEAD the same headers (Content-Length included) and no body.
// `content_encoding` is set when the body is already coded ("gzip").
http::message_generator make_response(const Request& request, http::status status,
                                      std::string_view content_type, std::string body,
                                      std::string_view content_encoding = {}) {
    auto fill = [&](auto& response) {
        response.set(http::field::server, "switchyard");
        response.set(http::field::content_type, content_type);
        if (!content_encoding.empty()) response.set(http::field::content_encoding, content_encoding);
        response.keep_alive(request.keep_alive());
        if (status == http::status::method_not_allowed) response.set(http::field::allow, "GET, HEAD");
    };
    if (request.method() == http::verb::head) {
        http::response<http::empty_body> response{status, request.version()};
        fill(response);
        response.content_length(body.size());
        return response;
    }
    http::response<http::string_body> response{status, request.version()};
    fill(response);
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

// The status a malformed or oversized request gets before the connection closes; nullopt when
// the peer left or timed out and there is nobody to answer.
std::optional<http::status> status_for_read_error(const beast::error_code& ec) {
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
        return http::status::request_header_fields_too_large;
    }
    if (ec == http::error::body_limit) return http::status::payload_too_large;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
    if (ec.category() == http::make_error_code(http::error::bad_target).category()) {
        return http::status::bad_request;
    }
    return std::nullopt;
}

}  // namespace

class AdminServer::Impl {
public:
    Impl(const metrics::Exposition& exposition, HealthProbe health, std::string listen_address,
         std::string path, const AdminServerLimits& limits)
        : exposition_(exposition), health_(std::move(health)),
          listen_address_(std::move(listen_address)), path_(std::move(path)), limits_(limits) {}

    ~Impl() { stop(); }

    void start(int inherited_fd) {
        if (ioc_) throw std::logic_error("AdminServer::start called twice");
        try {
            bind(inherited_fd);
        } catch (...) {
            // A failed start leaves nothing half-open behind.
            acceptor_.reset();
            ioc_.reset();
            throw;
        }
        asio::co_spawn(*ioc_, accept_loop(), asio::detached);
        thread_ = std::thread([this] {
            pthread_setname_np(pthread_self(), "sy-admin");
            ioc_->run();
        });
    }

    void stop() {
        if (!thread_.joinable()) return;
        ioc_->stop();
        thread_.join();
        acceptor_.reset();
        ioc_.reset();  // destroys the suspended connection coroutines, closing their sockets
    }

    std::uint16_t bound_port() const { return port_.load(); }

    int listening_fd() { return acceptor_ ? acceptor_->native_handle() : -1; }

private:
    // Parses, resolves, binds and listens; throws std::runtime_error naming the address.
    void bind(int inherited_fd) {
        if (path_.empty() || path_.front() != '/') fail("path '" + path_ + "' must start with '/'");
        if (path_ == health_path || path_ == "/") fail("path '" + path_ + "' is taken by the admin endpoint");
        std::string error;
        auto address = parse_address(listen_address_, &error, /*allow_port_zero=*/true);
        if (!address) fail(error);
        if (address->is_unix()) fail("the metrics exporter listens on TCP (host:port) only");

        ioc_ = std::make_unique<asio::io_context>(1);
        beast::error_code ec;
        tcp::resolver resolver(*ioc_);
        auto results = resolver.resolve(address->host, std::to_string(address->port),
                                        tcp::resolver::passive | tcp::resolver::numeric_service,
                                        ec);
        if (ec) fail(ec.message());
        if (results.empty()) fail("no address found for '" + address->host + "'");
        const tcp::endpoint endpoint = results.begin()->endpoint();

        acceptor_.emplace(*ioc_);
        if (inherited_fd >= 0) {
            // Passed by the process this one replaces: already bound and listening.
            if (acceptor_->assign(endpoint.protocol(), inherited_fd, ec); ec) fail(ec.message());
            port_.store(acceptor_->local_endpoint().port());
            return;
        }
        if (acceptor_->open(endpoint.protocol(), ec); ec) fail(ec.message());
        if (acceptor_->set_option(asio::socket_base::reuse_address(true), ec); ec) {
            fail(ec.message());
        }
        if (acceptor_->bind(endpoint, ec); ec) fail(ec.message());
        if (acceptor_->listen(asio::socket_base::max_listen_connections, ec); ec) {
            fail(ec.message());
        }
        port_.store(acceptor_->local_endpoint().port());
    }

    [[noreturn]] void fail(const std::string& reason) const {
        throw std::runtime_error("metrics listen " + listen_address_ + ": " + reason);
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_->async_accept(use_tuple);
            if (ec == asio::error::operation_aborted) co_return;
            if (ec) {
                // Out of descriptors, or a client gone before accept: pause instead of spinning.
                asio::steady_timer pause(co_await asio::this_coro::executor,
                                         std::chrono::milliseconds(50));
                co_await pause.async_wait(use_tuple);
                continue;
            }
            if (open_connections_ >= limits_.max_connections) continue;  // socket closes here
            asio::co_spawn(acceptor_->get_executor(), serve(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> serve(tcp::socket socket) {
        ++open_connections_;
        struct Leave {
            std::size_t& count;
            ~Leave() { --count; }
        } leave{open_connections_};

        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer(limits_.max_header_bytes + limits_.max_body_bytes);
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
            parser.body_limit(limits_.max_body_bytes);
            // One deadline for the whole request: a client trickling bytes cannot extend it.
            stream.expires_after(limits_.idle_timeout);
            auto [read_ec, read_bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
            if (read_ec) {
                if (auto status = status_for_read_error(read_ec)) {
                    Request bad{http::verb::get, "/", 11};
                    bad.keep_alive(false);
                    stream.expires_after(limits_.idle_timeout);
                    co_await beast::async_write(
                        stream,
                        make_response(bad, *status, plain_text,
                                      std::string(http::obsolete_reason(*status)) + "\n"),
                        use_tuple);
                }
                break;
            }
            http::message_generator response = respond(parser.get());
            const bool keep_alive = response.keep_alive();
            stream.expires_after(limits_.idle_timeout);
            auto [write_ec, written] = co_await beast::async_write(stream, std::move(response), use_tuple);
            if (write_ec || !keep_alive) break;
        }
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    http::message_generator respond(const Request& request) {
        std::string_view target = request.target();
        target = target.substr(0, target.find('?'));
        const bool readable =
            request.method() == http::verb::get || request.method() == http::verb::head;
        const bool known = target == path_ || target == health_path || target == "/";
        if (!known) {
            return make_response(request, http::status::not_found, plain_text,
                                 "Not found. Metrics are at " + path_ + ", health at " +
                                     health_path + "\n");
        }
        if (!readable) {
            return make_response(request, http::status::method_not_allowed, plain_text,
                                 "Only GET and HEAD are allowed.\n");
        }
        if (target == path_) return metrics(request);
        if (target == health_path) {
            HealthReport report = health_();
            return make_response(request,
                                 report.healthy ? http::status::ok
                                                : http::status::service_unavailable,
                                 plain_text, report.detail + "\n");
        }
        const std::string link = html_escaped(path_);
        return make_response(request, http::status::ok, "text/html; charset=utf-8",
                             "<html><head><title>Switchyard</title></head><body>"
                             "<h1>Switchyard</h1><p><a href=\"" + link + "\">" + link +
                             "</a></p><p><a href=\"" + std::string(health_path) + "\">" +
                             health_path + "</a></p></body></html>\n");
    }

    http::message_generator metrics(const Request& request) {
        std::string text;
        try {
            text = exposition_.serialize();
        } catch (const std::exception& e) {
            // A collector failed: say so to the scraper (the target shows as down) instead
            // of dropping the connection without an answer.
            return make_response(request, http::status::internal_server_error, plain_text,
                                 std::string("metrics collection failed: ") + e.what() + "\n");
        }
        auto accept = request.find(http::field::accept_encoding);
        if (accept != request.end() && accepts_gzip(accept->value())) {
            return make_response(request, http::status::ok, metrics_content_type,
                                 gzip_compress(text), "gzip");
        }
        return make_response(request, http::status::ok, metrics_content_type, std::move(text));
    }

    const metrics::Exposition& exposition_;
    const HealthProbe health_;
    const std::string listen_address_;
    const std::string path_;
    const AdminServerLimits limits_;
    std::atomic<std::uint16_t> port_{0};
    std::size_t open_connections_ = 0;  // server thread only
    std::unique_ptr<asio::io_context> ioc_;
    std::optional<tcp::acceptor> acceptor_;
    std::thread thread_;
};

AdminServer::AdminServer(const metrics::Exposition& exposition, HealthProbe health,
                         std::string listen_address, std::string metrics_path,
                         const AdminServerLimits& limits)
    : impl_(std::make_unique<Impl>(exposition, std::move(health), std::move(listen_address),
                                   std::move(metrics_path), limits)) {}

AdminServer::~AdminServer() = default;

void AdminServer::start(int inherited_fd) { impl_->start(inherited_fd); }

int AdminServer::listening_fd() const { return impl_->listening_fd(); }

void AdminServer::stop() { impl_->stop(); }

std::uint16_t AdminServer::bound_port() const { return impl_->bound_port(); }

}  // namespace switchyard::admin
