// Reads the top level of the document: global settings, `log`, `metrics`, and the two lists.
#include <array>
#include <limits>

#include "config/MappingReader.hpp"
#include "config/SectionReaders.hpp"
#include "config/SystemAccounts.hpp"
#include "core/net/Address.hpp"

namespace switchyard {
namespace {

constexpr std::array<std::string_view, 14> kTopKeys = {
    "loops",     "loop_wait", "tick",      "log_every", "shutdown_timeout", "plugin_dir",            "log",
    "metrics",   "watch_config", "upstreams", "listeners", "user",          "group", "allow_writable_plugins"};
constexpr std::array<std::string_view, 2> kLoopWaits = {"yield", "block"};
constexpr std::array<std::string_view, 2> kLogKeys = {"level", "format"};
constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
constexpr std::array<std::string_view, 2> kLogFormats = {"text", "json"};
constexpr std::array<std::string_view, 2> kMetricsKeys = {"listen", "path"};

constexpr std::uint64_t kMaxLoops = 1024;

void read_log(YamlReader& reader, const YamlField& field, LogOptions& log) {
    if (!reader.expect_mapping(field)) return;
    MappingReader map(reader, field.value, field.path, kLogKeys);
    if (auto f = map.field("level"))
        if (auto i = reader.choice(*f, kLogLevels)) log.level = std::string(kLogLevels[*i]);
    if (auto f = map.field("format"))
        if (auto i = reader.choice(*f, kLogFormats)) log.format = *i == 0 ? LogFormat::text : LogFormat::json;
}

void read_metrics(YamlReader& reader, const YamlField& field, MetricsOptions& metrics, ConfigSources& sources) {
    if (!reader.expect_mapping(field)) return;
    MappingReader map(reader, field.value, field.path, kMetricsKeys);
    if (auto f = map.field("listen")) {
        if (auto text = reader.string(*f); text && !text->empty()) {
            std::string problem;
            auto address = parse_address(*text, &problem, /*allow_port_zero=*/true);
            if (address && address->is_unix()) {
                address.reset();
                problem = "the metrics exporter listens on tcp host:port only";
            }
            if (!address) {
                reader.error(YamlReader::value_mark(*f), "invalid listen address: " + problem);
            } else {
                metrics.listen = *text;
                sources.metrics_listen = YamlReader::value_mark(*f);
                sources.metrics_address = std::move(address);
            }
        } else if (text) {
            metrics.listen.clear();  // explicitly disabled
        }
    }
    if (auto f = map.field("path")) {
        if (auto path = reader.string(*f)) {
            if (path->empty() || path->front() != '/' || path->find_first_of(" ?#") != std::string::npos)
                reader.error(YamlReader::value_mark(*f),
                             "path must start with '/' and contain no spaces, '?' or '#', got '" + *path + "'");
            else if (*path == "/" || *path == "/healthz")
                reader.error(YamlReader::value_mark(*f),
                             "path '" + *path + "' is taken by the admin endpoint (/ and /healthz); use e.g. /metrics");
            else
                metrics.path = *path;
        }
    }
}

// `user` and `group`: whom to run as once the sockets are bound (see Daemon).
void read_identity(YamlReader& reader, const MappingReader& map, Options& options) {
    const auto user = map.field("user");
    const auto group = map.field("group");
    std::optional<std::uint32_t> primary_gid;
    if (user) {
        if (auto account = read_user(reader, *user, &options.user)) {
            options.user_uid = account->uid;
            primary_gid = account->gid;
        }
    }
    if (group) {
        if (!user)
            reader.error(YamlReader::key_mark(*group), "group needs 'user' (the user to switch to once the sockets are "
                                                       "bound)");
        else
            options.user_gid = read_group(reader, *group, &options.group);
    } else if (options.user_uid) {
        if (primary_gid)
            options.user_gid = primary_gid;
        else
            reader.error(YamlReader::value_mark(*user), "user " + options.user +
                                                            " has no entry in the account database, so no group: set "
                                                            "'group' too");
    }
}

template <typename ReadElement>
void read_list(YamlReader& reader, const YamlField& field, ReadElement read_element) {
    if (!reader.expect_list(field)) return;
    std::size_t i = 0;
    for (auto it = field.value.begin(); it != field.value.end(); ++it, ++i)
        read_element(YamlField{YAML::Node(), *it, field.path + "[" + std::to_string(i) + "]"});
}

}  // namespace

void read_options(YamlReader& reader, const YAML::Node& root, Options& options, ConfigSources& sources) {
    MappingReader map(reader, root, "", kTopKeys);
    if (auto f = map.field("loops"))
        if (auto n = reader.unsigned_integer(*f, 0, kMaxLoops)) options.loops = static_cast<std::uint32_t>(*n);
    if (auto f = map.field("loop_wait"))
        if (auto i = reader.choice(*f, kLoopWaits)) options.loop_wait = *i == 0 ? LoopWait::yield : LoopWait::block;
    if (auto f = map.field("tick"))
        if (auto d = reader.duration(*f, Duration{1}, Duration::max())) options.tick = *d;
    if (auto f = map.field("log_every"))
        if (auto n = reader.unsigned_integer(*f, 1, std::numeric_limits<std::uint32_t>::max()))
            options.log_every = static_cast<std::uint32_t>(*n);
    if (auto f = map.field("shutdown_timeout"))
        if (auto d = reader.duration(*f, Duration{0}, Duration::max())) options.shutdown_timeout = *d;
    if (auto f = map.field("plugin_dir"))
        if (auto dir = reader.string(*f)) options.plugin_dir = *dir;
    if (auto f = map.field("watch_config"))
        if (auto b = reader.boolean(*f)) options.watch_config = *b;
    if (auto f = map.field("allow_writable_plugins"))
        if (auto b = reader.boolean(*f)) options.allow_writable_plugins = *b;
    read_identity(reader, map, options);
    if (auto f = map.field("log")) read_log(reader, *f, options.log);
    if (auto f = map.field("metrics")) read_metrics(reader, *f, options.metrics, sources);
    if (auto f = map.field("upstreams"))
        read_list(reader, *f, [&](const YamlField& e) { read_upstream(reader, e, options, sources); });
    if (auto f = map.required("listeners")) {
        if (f->value.IsSequence() && f->value.size() == 0)
            reader.error(YamlReader::value_mark(*f), "at least one listener is required");
        read_list(reader, *f, [&](const YamlField& e) { read_listener(reader, e, options, sources); });
    }
}

}  // namespace switchyard
