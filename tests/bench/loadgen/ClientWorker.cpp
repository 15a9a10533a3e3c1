#include "tests/bench/loadgen/ClientWorker.hpp"

#include <boost/asio/post.hpp>

namespace switchyard::loadgen {

ClientWorker::ClientWorker(std::vector<ClientConnection::Plan> plans, const MessagePool& pool, Schedule schedule,
                           SettledCallback on_settled_cb)
    : plans_(std::move(plans)), pool_(pool), schedule_(schedule), on_settled_cb_(std::move(on_settled_cb)) {
    connections_.reserve(plans_.size());
    for (const auto& plan : plans_)
        connections_.push_back(std::make_unique<ClientConnection>(io_, plan, pool_, stats_, *this));
}

ClientWorker::~ClientWorker() = default;

void ClientWorker::run() {
    window_open_timer_.expires_at(schedule_.start + schedule_.warmup);
    window_open_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_) return;
        measuring_ = true;
        window_begin_ = Clock::now();
    });
    window_close_timer_.expires_at(schedule_.start + schedule_.warmup + schedule_.duration);
    window_close_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) stop();
    });
    launch_connections();
    io_.run();
}

void ClientWorker::request_stop() {
    boost::asio::post(io_, [this] { stop(); });
}

double ClientWorker::measured_seconds() const {
    if (window_begin_ == Clock::time_point{}) return 0.0;
    return std::chrono::duration<double>(window_end_ - window_begin_).count();
}

void ClientWorker::on_settled(bool established) {
    --connecting_;
    if (on_settled_cb_) on_settled_cb_(established);
    launch_connections();
}

void ClientWorker::launch_connections() {
    while (!stopping_ && connecting_ < schedule_.connect_concurrency && next_to_start_ < connections_.size()) {
        ++connecting_;
        connections_[next_to_start_++]->start();
    }
}

void ClientWorker::stop() {
    if (stopping_) return;
    stopping_ = true;
    if (measuring_) {
        measuring_ = false;
        window_end_ = Clock::now();
    }
    window_open_timer_.cancel();
    window_close_timer_.cancel();
    // Closing every socket leaves no pending work: run() returns once the aborted handlers ran.
    for (auto& connection : connections_) connection->close();
}

}  // namespace switchyard::loadgen
