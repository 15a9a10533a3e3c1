#include "daemon/Logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace switchyard {
namespace {

// %V: the message as a JSON string body (quotes, backslashes and control bytes escaped).
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        for (char c : msg.payload) {
            switch (c) {
                case '"': dest.append(std::string_view("\\\"")); break;
                case '\\': dest.append(std::string_view("\\\\")); break;
                case '\n': dest.append(std::string_view("\\n")); break;
                case '\r': dest.append(std::string_view("\\r")); break;
                case '\t': dest.append(std::string_view("\\t")); break;
                default:
                    if (static_cast<unsigned char>(c) < 0x20) {
                        char buf[8];
                        int n = std::snprintf(buf, sizeof buf, "\\u%04x", c);
                        dest.append(buf, buf + n);
                    } else {
                        dest.push_back(c);
                    }
            }
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};

}  // namespace

std::string configure_logging(const LogOptions& options) {
    auto level = spdlog::level::from_str(options.level);
    if (level == spdlog::level::off && options.level != "off")
        return "unknown log level '" + options.level + "'";
    // A reload calls this again: keep the one logger, change its format and level.
    auto logger = spdlog::get("switchyard");
    if (!logger) logger = spdlog::stderr_logger_mt("switchyard");
    spdlog::set_default_logger(logger);
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    if (options.format == LogFormat::json) {
        formatter->add_flag<JsonMessageFlag>('V').set_pattern(
            R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","thread":%t,"msg":"%V"})");
    } else {
        formatter->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [%t] %v");
    }
    spdlog::set_formatter(std::move(formatter));
    spdlog::set_level(level);
    // Warnings and errors reach the journal at once; info lines are flushed every second.
    spdlog::flush_on(spdlog::level::warn);
    spdlog::flush_every(std::chrono::seconds(1));
    return {};
}

}  // namespace switchyard
