#pragma once
// What an EventLoop needs to know of a connection it hosts: an intrusive list node (no
// allocation per connection for tracking) and the two housekeeping hooks it calls.
#include <chrono>

namespace switchyard {

using SteadyTime = std::chrono::steady_clock::time_point;

class LoopSession {
public:
    virtual ~LoopSession() = default;
    // Loop thread only. Called by the idle sweep; closes the session when idle too long, or
    // when a frame it started receiving takes too long to complete.
    virtual void check_idle(SteadyTime now) = 0;
    // Loop thread only. Shutdown deadline passed: close now, whatever is in flight.
    virtual void force_close() = 0;
    // What the session belongs to (its listener's context for this configuration), so a
    // reload can close the sessions of a listener it removed. Any thread; immutable.
    virtual const void* owner() const { return nullptr; }

private:
    friend class SessionList;
    LoopSession* prev_ = nullptr;
    LoopSession* next_ = nullptr;
};

// Intrusive doubly linked list of the sessions one loop hosts. Loop thread only.
class SessionList {
public:
    void push_back(LoopSession* s) {
        s->prev_ = tail_;
        s->next_ = nullptr;
        if (tail_) tail_->next_ = s; else head_ = s;
        tail_ = s;
        ++size_;
    }
    void erase(LoopSession* s) {
        if (s->prev_) s->prev_->next_ = s->next_; else head_ = s->next_;
        if (s->next_) s->next_->prev_ = s->prev_; else tail_ = s->prev_;
        s->prev_ = s->next_ = nullptr;
        --size_;
    }
    std::size_t size() const { return size_; }
    // Calls fn on every session; fn may erase the session it is given.
    template <class Fn>
    void for_each(Fn&& fn) {
        for (LoopSession* s = head_; s;) {
            LoopSession* next = s->next_;
            fn(s);
            s = next;
        }
    }

private:
    LoopSession* head_ = nullptr;
    LoopSession* tail_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace switchyard
