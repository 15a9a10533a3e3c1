#pragma once
// Helpers for codec tests: open a real plugin through Codec::open and drive decode the way a
// session does (append what arrives, decode until need_more, drop consumed bytes).
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/codec/Codec.hpp"

namespace switchyard::testing {

using OptionList = std::vector<std::pair<std::string, std::string>>;

// Opens built-in or fixture plugin `plugin` with `options`; plugin_dir empty = default search.
// Returns nullptr with *errors filled on failure.
std::shared_ptr<const Codec> open_codec(const std::string& plugin, const OptionList& options,
                                        std::vector<ConfigError>* errors,
                                        const std::string& plugin_dir = {});

// Like open_codec but fails the running test (with the errors) when it cannot open.
std::shared_ptr<const Codec> require_codec(const std::string& plugin, const OptionList& options);

// Full path of a test fixture plugin, e.g. fixture_path("no_entry").
std::string fixture_path(const std::string& name);

struct StreamResult {
    std::vector<std::string> payloads;       // in order
    DecodeStatus end = DecodeStatus::need_more;  // need_more if the stream ended cleanly
    std::string reason;                      // set on malformed / too_large
    std::size_t leftover = 0;                // bytes not consumed at the end
};

// Feeds `stream` in chunks of `chunk` bytes (0 = all at once), decoding like a session.
StreamResult decode_stream(const Codec& codec, std::string_view stream, std::size_t chunk = 0);

// header + payload + trailer as the codec encodes it; fails the test if encode fails.
std::string encode_frame(const Codec& codec, std::string_view payload);

// All ConfigError messages joined by newlines (for REQUIRE_THAT / diagnostics).
std::string messages(const std::vector<ConfigError>& errors);

}  // namespace switchyard::testing
