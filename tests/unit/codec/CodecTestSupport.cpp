#include "tests/unit/codec/CodecTestSupport.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

namespace switchyard::testing {

std::shared_ptr<const Codec> open_codec(const std::string& plugin, const OptionList& options,
                                        std::vector<ConfigError>* errors,
                                        const std::string& plugin_dir) {
    CodecOptions opts;
    opts.plugin = plugin;
    opts.options = options;
    opts.mark = SourceMark{"listeners[0].codec", 7, 5};
    int line = 8;
    for (const auto& option : options)
        opts.option_marks[option.first] =
            SourceMark{"listeners[0].codec." + option.first, line++, 7};
    return Codec::open(opts, plugin_dir, errors);
}

std::shared_ptr<const Codec> require_codec(const std::string& plugin, const OptionList& options) {
    std::vector<ConfigError> errors;
    auto codec = open_codec(plugin, options, &errors);
    INFO(messages(errors));
    REQUIRE(codec != nullptr);
    REQUIRE(errors.empty());
    return codec;
}

std::string fixture_path(const std::string& name) {
    return std::string(SWITCHYARD_TEST_FIXTURE_DIR) + "/switchyard_codec_" + name + ".so";
}

StreamResult decode_stream(const Codec& codec, std::string_view stream, std::size_t chunk) {
    StreamResult result;
    std::string buffer;
    std::uint64_t state = 0;
    char reason[256];
    std::size_t fed = 0;
    if (chunk == 0) chunk = stream.size() == 0 ? 1 : stream.size();
    while (fed < stream.size()) {
        const std::size_t n = std::min(chunk, stream.size() - fed);
        buffer.append(stream.substr(fed, n));
        fed += n;
        for (;;) {
            const DecodedFrame f =
                codec.decode(reinterpret_cast<const std::uint8_t*>(buffer.data()), buffer.size(),
                             &state, reason, sizeof reason);
            if (f.status == DecodeStatus::need_more) break;
            if (f.status != DecodeStatus::frame) {
                result.end = f.status;
                result.reason = reason;
                result.leftover = buffer.size();
                return result;
            }
            REQUIRE(state == 0);
            result.payloads.push_back(buffer.substr(f.payload_offset, f.payload_length));
            buffer.erase(0, f.consumed);
        }
    }
    result.leftover = buffer.size();
    return result;
}

std::string encode_frame(const Codec& codec, std::string_view payload) {
    std::vector<std::uint8_t> header(codec.max_header() + 1);
    std::vector<std::uint8_t> trailer(codec.max_trailer() + 1);
    std::size_t header_len = 99;
    std::size_t trailer_len = 99;
    char reason[256];
    const bool ok = codec.encode(payload.size(), header.data(), &header_len, trailer.data(),
                                 &trailer_len, reason, sizeof reason);
    INFO(reason);
    REQUIRE(ok);
    return std::string(header.begin(), header.begin() + header_len) + std::string(payload) +
           std::string(trailer.begin(), trailer.begin() + trailer_len);
}

std::string messages(const std::vector<ConfigError>& errors) {
    std::string out;
    for (const ConfigError& e : errors) out += e.format() + "\n";
    return out;
}

}  // namespace switchyard::testing
