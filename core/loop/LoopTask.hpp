#pragma once
// A move-only `void()` callable for the loop's task queues. Captures up to kInline bytes are
// stored in place, so deferring "pump this session later" or "drop this reference after the
// batch" allocates nothing (std::function allocates for any capture that is not trivially
// copyable, an intrusive_ptr for one). Larger captures go to the heap.
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace switchyard {

class LoopTask {
public:
    // Room for the largest capture posted per connection: an accepted socket handed to its loop
    // with its listener, loop and client address (PeerAddress).
    static constexpr std::size_t kInline = 6 * sizeof(void*);

    // cppcheck-suppress uninitMemberVar ; storage_ is raw bytes a task is built into, read only through ops_
    LoopTask() = default;

    template <class Fn, class = std::enable_if_t<!std::is_same_v<std::decay_t<Fn>, LoopTask>>>
    LoopTask(Fn&& fn) {  // NOLINT(google-explicit-constructor): tasks are built from lambdas
        using F = std::decay_t<Fn>;
        if constexpr (sizeof(F) <= kInline && alignof(F) <= alignof(std::max_align_t) &&
                      std::is_nothrow_move_constructible_v<F>) {
            new (storage_) F(std::forward<Fn>(fn));
            ops_ = &inline_ops<F>;
        } else {
            *reinterpret_cast<F**>(storage_) = new F(std::forward<Fn>(fn));
            ops_ = &heap_ops<F>;
        }
    }

    LoopTask(LoopTask&& other) noexcept : ops_(other.ops_) {
        if (ops_) ops_->move(storage_, other.storage_);
        other.ops_ = nullptr;
    }
    LoopTask& operator=(LoopTask&& other) noexcept {
        if (this != &other) {
            reset();
            ops_ = other.ops_;
            if (ops_) ops_->move(storage_, other.storage_);
            other.ops_ = nullptr;
        }
        return *this;
    }
    LoopTask(const LoopTask&) = delete;
    LoopTask& operator=(const LoopTask&) = delete;
    ~LoopTask() { reset(); }

    explicit operator bool() const { return ops_ != nullptr; }
    void operator()() { ops_->invoke(storage_); }

private:
    struct Ops {
        void (*invoke)(void*);
        void (*move)(void* dst, void* src);  // move-constructs dst from src and destroys src
        void (*destroy)(void*);
    };
    template <class F>
    static constexpr Ops inline_ops{
        [](void* p) { (*static_cast<F*>(p))(); },
        [](void* dst, void* src) {
            new (dst) F(std::move(*static_cast<F*>(src)));
            static_cast<F*>(src)->~F();
        },
        [](void* p) { static_cast<F*>(p)->~F(); },
    };
    template <class F>
    static constexpr Ops heap_ops{
        [](void* p) { (**static_cast<F**>(p))(); },
        [](void* dst, void* src) { *static_cast<F**>(dst) = *static_cast<F**>(src); },
        [](void* p) { delete *static_cast<F**>(p); },
    };

    void reset() {
        if (ops_) ops_->destroy(storage_);
        ops_ = nullptr;
    }

    alignas(std::max_align_t) unsigned char storage_[kInline];
    const Ops* ops_ = nullptr;
};

}  // namespace switchyard
