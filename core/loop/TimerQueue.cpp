#include "core/loop/TimerQueue.hpp"

#include "core/loop/LoopTimer.hpp"

namespace switchyard {

TimerQueue::Clock::time_point TimerQueue::next_deadline() const { return heap_.front()->deadline_; }

bool TimerQueue::before(std::size_t a, std::size_t b) const {
    const LoopTimer* x = heap_[a];
    const LoopTimer* y = heap_[b];
    return x->deadline_ < y->deadline_ || (x->deadline_ == y->deadline_ && x->seq_ < y->seq_);
}

void TimerQueue::place(std::size_t i, LoopTimer* t) {
    heap_[i] = t;
    t->slot_ = i;
}

void TimerQueue::sift_up(std::size_t i) {
    while (i > 0) {
        std::size_t parent = (i - 1) / 2;
        if (!before(i, parent)) break;
        LoopTimer* t = heap_[i];
        place(i, heap_[parent]);
        place(parent, t);
        i = parent;
    }
}

void TimerQueue::sift_down(std::size_t i) {
    for (;;) {
        std::size_t least = i;
        std::size_t left = 2 * i + 1;
        if (left < heap_.size() && before(left, least)) least = left;
        if (left + 1 < heap_.size() && before(left + 1, least)) least = left + 1;
        if (least == i) return;
        LoopTimer* t = heap_[i];
        place(i, heap_[least]);
        place(least, t);
        i = least;
    }
}

void TimerQueue::schedule(LoopTimer& t, Clock::time_point deadline) {
    if (t.armed()) remove_at(t.slot_);
    t.deadline_ = deadline;
    t.seq_ = next_seq_++;
    heap_.push_back(&t);
    t.slot_ = heap_.size() - 1;
    sift_up(t.slot_);
}

void TimerQueue::cancel(LoopTimer& t) { remove_at(t.slot_); }

void TimerQueue::remove_at(std::size_t i) {
    LoopTimer* gone = heap_[i];
    gone->slot_ = LoopTimer::kNotArmed;
    LoopTimer* last = heap_.back();
    heap_.pop_back();
    if (i == heap_.size()) return;  // it was the last slot
    place(i, last);
    sift_down(i);
    sift_up(last->slot_);
}

std::size_t TimerQueue::run_due(Clock::time_point now) {
    const std::uint64_t armed_before = next_seq_;
    std::size_t fired = 0;
    while (!heap_.empty()) {
        LoopTimer* t = heap_.front();
        if (t->deadline_ > now || t->seq_ >= armed_before) break;
        remove_at(0);
        ++fired;
        t->on_fire_();  // may re-arm t and arm or cancel others
    }
    return fired;
}

}  // namespace switchyard
