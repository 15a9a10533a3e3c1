#include "config/AdmissionReader.hpp"

#include <array>

#include "config/MappingReader.hpp"

namespace switchyard {
namespace {

constexpr std::array<std::string_view, 2> kRateLimitKeys = {"connections_per_second", "burst"};
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

std::optional<RateLimitOptions> read_rate_limit(YamlReader& reader, const YamlField& field) {
    if (!reader.expect_mapping(field)) return std::nullopt;
    MappingReader map(reader, field.value, field.path, kRateLimitKeys);
    RateLimitOptions limit;
    const std::size_t errors_before = reader.error_count();
    if (auto f = map.required("connections_per_second"))
        if (auto n = reader.unsigned_integer(*f, 1, kMaxRate)) limit.per_second = static_cast<std::uint32_t>(*n);
    limit.burst = limit.per_second;
    if (auto f = map.field("burst"))
        if (auto n = reader.unsigned_integer(*f, 1, kMaxRate)) limit.burst = static_cast<std::uint32_t>(*n);
    if (reader.error_count() != errors_before) return std::nullopt;
    return limit;
}

}  // namespace switchyard
