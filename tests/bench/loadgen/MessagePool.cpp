#include "tests/bench/loadgen/MessagePool.hpp"

#include <random>

namespace switchyard::loadgen {

MessagePool::MessagePool(Framing framing, std::size_t message_size, std::size_t count, std::uint64_t seed)
    : message_size_(message_size), count_(count), bytes_(message_size * count) {
    std::mt19937_64 random(seed);
    for (std::size_t m = 0; m < count; ++m) {
        std::uint8_t* msg = bytes_.data() + m * message_size;
        switch (framing) {
            case Framing::none:
                for (std::size_t i = 0; i < message_size; ++i) msg[i] = static_cast<std::uint8_t>(random());
                break;
            case Framing::line:
                // Printable ASCII '!'..'~': never the '\n' delimiter (nor '\r', which a line
                // codec may strip).
                for (std::size_t i = 0; i + 1 < message_size; ++i)
                    msg[i] = static_cast<std::uint8_t>('!' + random() % ('~' - '!' + 1));
                msg[message_size - 1] = '\n';
                break;
            case Framing::length4: {
                const auto payload = static_cast<std::uint32_t>(message_size - 4);
                msg[0] = static_cast<std::uint8_t>(payload >> 24);
                msg[1] = static_cast<std::uint8_t>(payload >> 16);
                msg[2] = static_cast<std::uint8_t>(payload >> 8);
                msg[3] = static_cast<std::uint8_t>(payload);
                for (std::size_t i = 4; i < message_size; ++i) msg[i] = static_cast<std::uint8_t>(random());
                break;
            }
        }
    }
}

}  // namespace switchyard::loadgen
