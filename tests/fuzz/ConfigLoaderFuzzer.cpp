// libFuzzer target: the YAML config loader. Any input must produce either options or errors
// (never both, never neither), and never crash, hang or leak.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "config/ConfigLoader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const switchyard::ConfigLoadResult result = switchyard::load_config_string(text);
    if (result.ok() == !result.errors.empty()) {
        std::fprintf(stderr, "config loader returned %s options and %zu errors\n",
                     result.ok() ? "both" : "no", result.errors.size());
        std::abort();
    }
    for (const switchyard::ConfigError& e : result.errors) {
        if (e.message.empty()) {
            std::fprintf(stderr, "config error without a message at %s\n", e.where.path.c_str());
            std::abort();
        }
    }
    return 0;
}
