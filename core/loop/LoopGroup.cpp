#include "core/loop/LoopGroup.hpp"

#include <thread>

namespace switchyard {

LoopGroup::LoopGroup(std::size_t count) {
    if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
    loops_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) loops_.push_back(std::make_unique<EventLoop>(i));
}

LoopGroup::~LoopGroup() {
    stop();
    join();
}

void LoopGroup::start() {
    for (auto& l : loops_) l->start();
}

void LoopGroup::stop() {
    for (auto& l : loops_) l->stop();
}

void LoopGroup::join() {
    for (auto& l : loops_) l->join();
}

std::size_t LoopGroup::session_count() const {
    std::size_t n = 0;
    for (auto& l : loops_) n += l->session_count();
    return n;
}

}  // namespace switchyard
