#include "tests/fuzz/CodecFuzzDriver.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "core/codec/Codec.hpp"

namespace switchyard::fuzz {
namespace {

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "codec fuzz invariant violated: %s\n", what);
    std::abort();
}

#define FUZZ_CHECK(condition) \
    do {                      \
        if (!(condition)) violated(#condition); \
    } while (0)

std::shared_ptr<const Codec> open(const char* plugin, const OptionSet& options) {
    CodecOptions opts;
    opts.plugin = plugin;
    opts.options = options;
    std::vector<ConfigError> errors;
    auto codec = Codec::open(opts, {}, &errors);
    FUZZ_CHECK(codec != nullptr || !errors.empty());  // a refusal always says why
    return codec;
}

// The presets, opened once; they also keep the library loaded between inputs.
const std::vector<std::shared_ptr<const Codec>>& presets(const CodecFuzzTarget& target) {
    static std::vector<std::shared_ptr<const Codec>> codecs = [&] {
        std::vector<std::shared_ptr<const Codec>> opened;
        for (const OptionSet& options : target.presets) {
            opened.push_back(open(target.plugin, options));
            if (!opened.back()) {
                std::fprintf(stderr, "preset of %s does not open (plugin dir?)\n", target.plugin);
                std::abort();
            }
        }
        return opened;
    }();
    return codecs;
}

// Reads bytes from the front of the input.
struct Input {
    const std::uint8_t* data;
    std::size_t size;
    std::uint8_t byte() {
        if (size == 0) return 0;
        --size;
        return *data++;
    }
};

OptionSet random_options(const CodecFuzzTarget& target, Input& in) {
    OptionSet options;
    const int count = in.byte() % 4;
    for (int i = 0; i < count; ++i) {
        const std::string& key = target.keys[in.byte() % target.keys.size()];
        const std::uint8_t how = in.byte();
        if (how < 128 && !target.values.empty()) {
            options.emplace_back(key, target.values[how % target.values.size()]);
        } else {
            std::string value;
            for (int n = how % 12; n > 0 && in.size > 0; --n) {
                const char c = static_cast<char>(in.byte());
                if (c != '\0') value.push_back(c);  // option values are C strings
            }
            options.emplace_back(key, value);
        }
    }
    return options;
}

// Re-encodes a decoded payload and decodes the result: the same payload must come back.
void check_round_trip(const Codec& codec, const std::uint8_t* payload, std::size_t length,
                      bool must_encode) {
    if (!codec.can_encode()) return;
    std::vector<std::uint8_t> header(codec.max_header()), trailer(codec.max_trailer());
    std::size_t header_len = 0, trailer_len = 0;
    char reason[256];
    if (!codec.encode(length, header.data(), &header_len, trailer.data(), &trailer_len, reason,
                      sizeof reason)) {
        FUZZ_CHECK(!must_encode);
        FUZZ_CHECK(reason[0] != '\0');
        return;
    }
    std::vector<std::uint8_t> frame(header.begin(), header.begin() + header_len);
    frame.insert(frame.end(), payload, payload + length);
    frame.insert(frame.end(), trailer.begin(), trailer.begin() + trailer_len);
    std::uint64_t state = 0;
    const DecodedFrame f = codec.decode(frame.data(), frame.size(), &state, reason, sizeof reason);
    FUZZ_CHECK(f.status == DecodeStatus::frame);
    FUZZ_CHECK(f.consumed == frame.size());
    FUZZ_CHECK(f.payload_length == length);
    FUZZ_CHECK(length == 0 || std::equal(payload, payload + length, frame.begin() + f.payload_offset));
}

struct StreamOutcome {
    // (stream offset of the frame, payload offset, payload length) for every frame, in order.
    std::vector<std::array<std::size_t, 3>> frames;
    DecodeStatus end = DecodeStatus::need_more;
};

// Streams data like a session: append a chunk, decode until need_more, drop consumed bytes.
StreamOutcome decode_stream(const Codec& codec, const std::uint8_t* data, std::size_t size,
                            std::size_t chunk, bool must_encode) {
    StreamOutcome outcome;
    std::vector<std::uint8_t> buffer;
    std::size_t buffer_start = 0;  // stream offset of buffer[0]
    std::uint64_t state = 0;
    char reason[256];
    std::size_t fed = 0;
    while (fed < size) {
        const std::size_t n = std::min(chunk, size - fed);
        buffer.insert(buffer.end(), data + fed, data + fed + n);
        fed += n;
        for (;;) {
            const DecodedFrame f =
                codec.decode(buffer.data(), buffer.size(), &state, reason, sizeof reason);
            if (f.status == DecodeStatus::need_more) break;
            if (f.status != DecodeStatus::frame) {
                FUZZ_CHECK(reason[0] != '\0');  // every rejection explains itself
                outcome.end = f.status;
                return outcome;
            }
            FUZZ_CHECK(f.consumed > 0 && f.consumed <= buffer.size());
            FUZZ_CHECK(f.payload_offset + f.payload_length <= f.consumed);
            FUZZ_CHECK(state == 0);
            check_round_trip(codec, buffer.data() + f.payload_offset, f.payload_length,
                             must_encode);
            outcome.frames.push_back({buffer_start, f.payload_offset, f.payload_length});
            buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(f.consumed));
            buffer_start += f.consumed;
        }
    }
    return outcome;
}

}  // namespace

void prepare_codec(const CodecFuzzTarget& target) { presets(target); }

int fuzz_codec(const CodecFuzzTarget& target, const std::uint8_t* data, std::size_t size) {
    Input in{data, size};
    const auto& preset_codecs = presets(target);
    const std::uint8_t selector = in.byte();
    std::shared_ptr<const Codec> codec;
    if (selector & 0x80) {
        codec = open(target.plugin, random_options(target, in));
        if (!codec) return 0;
    } else {
        codec = preset_codecs[selector % preset_codecs.size()];
    }
    const std::uint8_t chunk_byte = in.byte();
    const std::size_t chunk = chunk_byte == 0 ? in.size + 1 : 1 + chunk_byte % 64;

    // Differential check: how the bytes are split must not change the frames found, the final
    // status (this is what catches a scan resuming at the wrong place).
    const StreamOutcome chunked = decode_stream(*codec, in.data, in.size, chunk,
                                                target.encode_always_succeeds);
    const StreamOutcome whole = decode_stream(*codec, in.data, in.size, in.size + 1,
                                              target.encode_always_succeeds);
    FUZZ_CHECK(chunked.frames == whole.frames);
    FUZZ_CHECK(chunked.end == whole.end);
    return 0;
}

}  // namespace switchyard::fuzz
