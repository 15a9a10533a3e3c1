#pragma once
// Reads the options a built-in codec was created with, checking each against the codec's option
// specs. Every problem throws swy::OptionError("<key>", "...") which the SDK turns into create()'s
// error message, so the host can point at the offending line. Control thread (create) only.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "switchyard/codec.hpp"

namespace switchyard::builtin {

class OptionReader {
   public:
    // Throws on an option not in specs or given twice. The host rejects unknown options before
    // create() with a did-you-mean; this is the plugin's own guard for other hosts.
    OptionReader(const swy::OptionList& options, const swy_codec_option_spec* specs,
                 std::size_t spec_count);

    bool has(std::string_view key) const { return options_.find(key) != nullptr; }

    // A size as swy::parse_size reads it (64KiB, 1MB), within [min, max].
    std::uint64_t size(std::string_view key, std::uint64_t fallback, std::uint64_t min,
                       std::uint64_t max) const;
    std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                         std::int64_t max) const;
    bool boolean(std::string_view key, bool fallback) const;
    // Escaped byte sequence (see parse_escaped_bytes); throws when missing and required.
    std::string bytes(std::string_view key, bool required, std::string_view fallback) const;
    // One of `choices`, or fallback when absent.
    std::string_view choice(std::string_view key, std::string_view fallback,
                            std::initializer_list<std::string_view> choices) const;

   private:
    [[noreturn]] static void fail(std::string_view key, const std::string& why);

    swy::OptionList options_;
};

}  // namespace switchyard::builtin
