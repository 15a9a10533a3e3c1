#pragma once
// A fixed set of distinct messages laid out back to back in one buffer, built once before the
// run and only read afterwards (shared by all threads). Message number n of a connection is
// pool[(start + n) % count]: consecutive messages differ, so a lost, duplicated or reordered
// echo fails the byte comparison, and verifying costs a memcmp, never a copy or an allocation.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tests/bench/loadgen/LoadgenOptions.hpp"

namespace switchyard::loadgen {

class MessagePool {
public:
    // Thread rule: any thread (construction happens before the worker threads start).
    MessagePool(Framing framing, std::size_t message_size, std::size_t count, std::uint64_t seed);

    std::size_t message_size() const { return message_size_; }  // any thread
    std::size_t count() const { return count_; }                // any thread
    // Start of message `index` (< count); messages are contiguous. Any thread.
    const std::uint8_t* message(std::size_t index) const { return bytes_.data() + index * message_size_; }

private:
    std::size_t message_size_;
    std::size_t count_;
    std::vector<std::uint8_t> bytes_;
};

}  // namespace switchyard::loadgen
