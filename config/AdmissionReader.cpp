#include "config/AdmissionReader.hpp"

#include <array>
#include <span>
#include <string>

#include "config/MappingReader.hpp"

namespace switchyard {
namespace {

constexpr std::array<std::string_view, 2> kConnectionRateKeys = {"connections_per_second", "burst"};
constexpr std::array<std::string_view, 2> kSessionRateKeys = {"sessions_per_second", "burst"};
// Each kind of listener meeting the other's spelling.
constexpr std::array<MisplacedKey, 1> kNotConnections = {
    {{"connections_per_second", "a udp listener limits new sessions (a client address's first datagram opens "
                                "one), not connections: use sessions_per_second"}}};
constexpr std::array<MisplacedKey, 1> kNotSessions = {
    {{"sessions_per_second", "sessions_per_second applies to udp listeners; a stream listener limits new "
                             "connections with connections_per_second"}}};
constexpr std::array<std::string_view, 2> kAccessActions = {"allow", "deny"};
constexpr std::uint64_t kMaxRate = 1'000'000;

std::optional<Cidr> read_network(YamlReader& reader, const YamlField& field) {
    if (!field.value.IsScalar()) {
        reader.string(field);
        return std::nullopt;
    }
    std::string problem;
    auto cidr = parse_cidr(field.value.Scalar(), &problem);
    if (!cidr) reader.error(YamlReader::value_mark(field), problem);
    return cidr;
}

}  // namespace

std::vector<Cidr> read_networks(YamlReader& reader, const YamlField& field) {
    std::vector<Cidr> out;
    if (!field.value.IsSequence()) {
        if (auto c = read_network(reader, field)) out.push_back(*c);
        return out;
    }
    if (field.value.size() == 0) reader.error(YamlReader::value_mark(field), "at least one network is required");
    std::size_t i = 0;
    for (auto it = field.value.begin(); it != field.value.end(); ++it, ++i)
        if (auto c = read_network(reader, YamlField{YAML::Node(), *it, field.path + "[" + std::to_string(i) + "]"}))
            out.push_back(*c);
    return out;
}

std::vector<AccessRule> read_access(YamlReader& reader, const YamlField& field) {
    std::vector<AccessRule> rules;
    if (!reader.expect_list(field)) return rules;
    std::size_t i = 0;
    for (auto it = field.value.begin(); it != field.value.end(); ++it, ++i) {
        const YamlField element{YAML::Node(), *it, field.path + "[" + std::to_string(i) + "]"};
        if (!element.value.IsMap() || element.value.size() != 1) {
            reader.error(YamlReader::value_mark(element),
                         "expected one rule, '- allow: NETWORK' or '- deny: NETWORK', got " +
                             YamlReader::describe(element.value));
            continue;
        }
        MappingReader map(reader, element.value, element.path, kAccessActions);
        for (std::size_t a = 0; a < kAccessActions.size(); ++a) {
            auto f = map.field(kAccessActions[a]);
            if (!f) continue;
            for (const Cidr& c : read_networks(reader, *f))
                rules.push_back(AccessRule{a == 0 ? AccessAction::allow : AccessAction::deny, c});
        }
    }
    return rules;
}

std::optional<RateLimitOptions> read_rate_limit(YamlReader& reader, const YamlField& field, RateLimited what) {
    if (!reader.expect_mapping(field)) return std::nullopt;
    const bool sessions = what == RateLimited::sessions;
    const std::span<const std::string_view> keys =
        sessions ? std::span(kSessionRateKeys) : std::span(kConnectionRateKeys);
    const std::span<const MisplacedKey> misplaced = sessions ? std::span(kNotConnections) : std::span(kNotSessions);
    const std::size_t errors_before = reader.error_count();
    MappingReader map(reader, field.value, field.path, keys, misplaced);
    RateLimitOptions limit;
    // The other spelling was reported as such: a "missing" rate on top of it would say it twice.
    const YAML::Node& given = field.value;
    const std::string rate_key(keys[0]);
    if (given[std::string(misplaced[0].key)] && !given[rate_key]) return std::nullopt;
    if (auto f = map.required(rate_key))
        if (auto n = reader.unsigned_integer(*f, 1, kMaxRate)) limit.per_second = static_cast<std::uint32_t>(*n);
    limit.burst = limit.per_second;
    if (auto f = map.field("burst"))
        if (auto n = reader.unsigned_integer(*f, 1, kMaxRate)) limit.burst = static_cast<std::uint32_t>(*n);
    if (reader.error_count() != errors_before) return std::nullopt;
    return limit;
}

}  // namespace switchyard
