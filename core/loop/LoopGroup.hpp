#pragma once
// N event loops, one thread each. Index i is loop i for life.
#include <cstddef>
#include <memory>
#include <vector>

#include "core/loop/EventLoop.hpp"

namespace switchyard {

class LoopGroup {
public:
    // count 0 = one loop per CPU core. Control thread only.
    explicit LoopGroup(std::size_t count);
    ~LoopGroup();

    std::size_t size() const { return loops_.size(); }             // any thread
    EventLoop& at(std::size_t i) { return *loops_[i]; }           // any thread
    const EventLoop& at(std::size_t i) const { return *loops_[i]; }

    void start();  // control thread
    void stop();   // any thread
    void join();   // control thread
    std::size_t session_count() const;  // any thread: sum over loops

private:
    std::vector<std::unique_ptr<EventLoop>> loops_;
};

}  // namespace switchyard
