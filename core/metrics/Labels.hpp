#pragma once
// Label pairs as written by scrape-time collectors: name/value, in label-name order.
#include <string>
#include <utility>
#include <vector>

namespace switchyard::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

}  // namespace switchyard::metrics
