#include "plugins/builtin/OptionReader.hpp"

#include "plugins/builtin/OptionValues.hpp"
#include "switchyard/units.hpp"

namespace switchyard::builtin {

OptionReader::OptionReader(const swy::OptionList& options, const swy_codec_option_spec* specs,
                           std::size_t spec_count)
    : options_(options) {
    for (std::size_t i = 0; i < options.size(); ++i) {
        const std::string_view key = options.key(i);
        bool known = false;
        for (std::size_t s = 0; s < spec_count && !known; ++s) known = key == specs[s].name;
        if (!known) fail(key, "unknown option");
        for (std::size_t j = 0; j < i; ++j)
            if (options.key(j) == key) fail(key, "given twice");
    }
}

void OptionReader::fail(std::string_view key, const std::string& why) {
    throw swy::OptionError(key, why);
}

std::uint64_t OptionReader::size(std::string_view key, std::uint64_t fallback, std::uint64_t min,
                                 std::uint64_t max) const {
    const char* text = options_.find(key);
    if (text == nullptr) return fallback;
    std::string why;
    const std::optional<std::uint64_t> value = swy::parse_size(text, &why);
    if (!value) fail(key, why);
    if (*value < min || *value > max)
        fail(key, std::string(text) + " is out of range [" + swy::format_size(min) + ", " +
                      swy::format_size(max) + "]");
    return *value;
}

std::int64_t OptionReader::integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                                   std::int64_t max) const {
    const char* text = options_.find(key);
    if (text == nullptr) return fallback;
    std::int64_t value = 0;
    std::string why;
    if (!parse_integer(text, min, max, &value, &why)) fail(key, why);
    return value;
}

bool OptionReader::boolean(std::string_view key, bool fallback) const {
    const char* text = options_.find(key);
    if (text == nullptr) return fallback;
    bool value = false;
    std::string why;
    if (!parse_bool(text, &value, &why)) fail(key, why);
    return value;
}

std::string OptionReader::bytes(std::string_view key, bool required,
                                std::string_view fallback) const {
    const char* text = options_.find(key);
    if (text == nullptr) {
        if (required) fail(key, "required option is missing");
        return std::string(fallback);
    }
    std::string value;
    std::string why;
    if (!parse_escaped_bytes(text, &value, &why)) fail(key, why);
    return value;
}

std::string_view OptionReader::choice(std::string_view key, std::string_view fallback,
                                      std::initializer_list<std::string_view> choices) const {
    const char* text = options_.find(key);
    if (text == nullptr) return fallback;
    std::string list;
    for (std::string_view c : choices) {
        if (c == text) return c;
        list += list.empty() ? "" : ", ";
        list += c;
    }
    fail(key, "\"" + std::string(text) + "\" is not one of: " + list);
}

}  // namespace switchyard::builtin
