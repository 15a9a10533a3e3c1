// Reads one element of `upstreams:`.
#include <array>

#include "config/CodecReader.hpp"
#include "config/MappingReader.hpp"
#include "config/SectionReaders.hpp"
#include "config/YamlPitfalls.hpp"
#include "core/net/Address.hpp"

namespace switchyard {
namespace {

constexpr std::array<std::string_view, 12> kUpstreamKeys = {
    "name",         "protocol",  "balancer",        "connect_timeout", "connect_attempts", "endpoints",
    "codec",        "health_check", "max_fails",    "fail_timeout",    "when_all_down",    "send_proxy"};
constexpr std::array<std::string_view, 3> kSendProxy = {"off", "v1", "v2"};
constexpr std::array<std::string_view, 6> kHealthCheckKeys = {"interval",  "timeout", "healthy_threshold",
                                                              "unhealthy_threshold", "send", "expect"};
constexpr std::array<std::string_view, 2> kWhenAllDown = {"fail-open", "reject"};
constexpr std::array<std::string_view, 2> kProtocols = {"tcp", "udp"};
constexpr std::array<std::string_view, 2> kEndpointKeys = {"address", "weight"};
constexpr std::array<std::string_view, 3> kBalancers = {"round-robin", "source-addr-hash", "least-connections"};

constexpr std::uint64_t kMaxWeight = 1000;
constexpr std::uint64_t kMaxConnectAttempts = 100;
constexpr std::uint64_t kMaxThreshold = 100;
constexpr std::uint64_t kMaxFails = 1000;
// A check's reply is read into a buffer of this size: `expect` must fit, with room to spare.
constexpr std::size_t kMaxCheckBytes = 1024;
constexpr Duration kHour{3600 * 1000};

std::optional<std::string> read_endpoint_address(YamlReader& reader, const YamlField& field) {
    auto text = reader.string(field);
    if (!text) return std::nullopt;
    std::string problem;
    if (!parse_address(*text, &problem, /*allow_port_zero=*/false)) {
        reader.error(YamlReader::value_mark(field), "invalid endpoint address: " + problem);
        return std::nullopt;
    }
    return text;
}

// `- 127.0.0.1:8080` or `- {address: 127.0.0.1:8080, weight: 2}`.
std::optional<EndpointOptions> read_endpoint(YamlReader& reader, const YamlField& field) {
    EndpointOptions endpoint;
    if (field.value.IsScalar()) {
        auto address = read_endpoint_address(reader, field);
        if (!address) return std::nullopt;
        endpoint.address = *address;
        return endpoint;
    }
    // [[::1]:8080] makes the element a mapping of the list ["::1"] to 8080.
    const std::optional<std::string> ipv6 = unquoted_ipv6_in_node(field.value);
    if (!field.value.IsMap() || ipv6) {
        reader.error(YamlReader::value_mark(field),
                     "expected an address or a mapping with address and weight, got " +
                         YamlReader::describe(field.value) + (ipv6 ? " (" + quote_ipv6_hint(*ipv6) + ")" : ""));
        return std::nullopt;
    }
    const std::size_t errors_before = reader.error_count();
    MappingReader map(reader, field.value, field.path, kEndpointKeys);
    if (auto f = map.required("address"))
        if (auto address = read_endpoint_address(reader, *f)) endpoint.address = *address;
    if (auto f = map.field("weight"))
        if (auto weight = reader.unsigned_integer(*f, 1, kMaxWeight))
            endpoint.weight = static_cast<std::uint32_t>(*weight);
    if (reader.error_count() != errors_before) return std::nullopt;
    return endpoint;
}

std::optional<std::string> read_check_bytes(YamlReader& reader, const YamlField& field) {
    auto text = reader.string(field);
    if (!text) return std::nullopt;
    if (text->size() > kMaxCheckBytes) {
        reader.error(YamlReader::value_mark(field), "at most " + std::to_string(kMaxCheckBytes) + " bytes, got " +
                                                         std::to_string(text->size()));
        return std::nullopt;
    }
    return text;
}

// `health_check: {interval: 5s, timeout: 1s, healthy_threshold: 2, unhealthy_threshold: 3,
//                 send: "PING\r\n", expect: "+PONG"}`; `health_check: {}` checks with the defaults.
std::optional<HealthCheckOptions> read_health_check(YamlReader& reader, const YamlField& field) {
    if (!reader.expect_mapping(field)) return std::nullopt;
    const std::size_t errors_before = reader.error_count();
    MappingReader map(reader, field.value, field.path, kHealthCheckKeys);
    HealthCheckOptions check;
    if (auto f = map.field("interval"))
        if (auto d = reader.duration(*f, Duration{10}, kHour)) check.interval = *d;
    if (auto f = map.field("timeout"))
        if (auto d = reader.duration(*f, Duration{1}, kHour)) check.timeout = *d;
    if (auto f = map.field("healthy_threshold"))
        if (auto n = reader.unsigned_integer(*f, 1, kMaxThreshold)) check.healthy_threshold = static_cast<std::uint32_t>(*n);
    if (auto f = map.field("unhealthy_threshold"))
        if (auto n = reader.unsigned_integer(*f, 1, kMaxThreshold))
            check.unhealthy_threshold = static_cast<std::uint32_t>(*n);
    if (auto f = map.field("send"))
        if (auto bytes = read_check_bytes(reader, *f)) check.send = *bytes;
    if (auto f = map.field("expect"))
        if (auto bytes = read_check_bytes(reader, *f)) check.expect = *bytes;
    if (reader.error_count() != errors_before) return std::nullopt;
    return check;
}

}  // namespace

void read_upstream(YamlReader& reader, const YamlField& field, Options& options, ConfigSources& sources) {
    if (!reader.expect_mapping(field)) return;
    MappingReader map(reader, field.value, field.path, kUpstreamKeys);
    UpstreamOptions upstream;
    UpstreamSource source;
    source.self = map.mark();

    map.read_name(upstream.name, source.name);
    if (auto f = map.field("protocol")) {
        if (auto i = reader.choice(*f, kProtocols)) {
            upstream.protocol = *i == 0 ? UpstreamProtocol::tcp : UpstreamProtocol::udp;
            source.protocol = YamlReader::value_mark(*f);
        }
    }
    if (auto f = map.field("balancer"))
        if (auto i = reader.choice(*f, kBalancers)) upstream.balancer = *parse_balance_policy(kBalancers[*i]);
    if (auto f = map.field("connect_timeout"))
        if (auto d = reader.duration(*f, Duration{1}, Duration::max())) upstream.connect_timeout = *d;
    if (auto f = map.field("connect_attempts"))
        if (auto n = reader.unsigned_integer(*f, 1, kMaxConnectAttempts))
            upstream.connect_attempts = static_cast<std::uint32_t>(*n);
    if (auto f = map.required("endpoints")) {
        if (reader.expect_list(*f)) {
            if (f->value.size() == 0) reader.error(YamlReader::value_mark(*f), "at least one endpoint is required");
            std::size_t i = 0;
            for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
                YamlField element{YAML::Node(), *it, f->path + "[" + std::to_string(i) + "]"};
                if (auto endpoint = read_endpoint(reader, element)) {
                    upstream.endpoints.push_back(*endpoint);
                    source.endpoints.push_back(YamlReader::mark_of(*it, element.path));
                }
            }
        }
    }
    if (auto f = map.field("codec")) upstream.codec = read_codec(reader, *f);
    if (auto f = map.field("send_proxy")) {
        source.send_proxy = YamlReader::value_mark(*f);
        if (auto i = reader.choice(*f, kSendProxy))
            upstream.send_proxy = *i == 0 ? SendProxy::off : *i == 1 ? SendProxy::v1 : SendProxy::v2;
    }
    if (auto f = map.field("health_check")) {
        upstream.health_check = read_health_check(reader, *f);
        source.health_check = YamlReader::key_mark(*f);
    }
    if (auto f = map.field("max_fails"))
        if (auto n = reader.unsigned_integer(*f, 0, kMaxFails)) upstream.max_fails = static_cast<std::uint32_t>(*n);
    if (auto f = map.field("fail_timeout"))
        if (auto d = reader.duration(*f, Duration{1}, 24 * kHour)) upstream.fail_timeout = *d;
    if (auto f = map.field("when_all_down"))
        if (auto i = reader.choice(*f, kWhenAllDown))
            upstream.when_all_down = *i == 1 ? WhenAllDown::reject : WhenAllDown::fail_open;

    options.upstreams.push_back(std::move(upstream));
    sources.upstreams.push_back(std::move(source));
}

}  // namespace switchyard
