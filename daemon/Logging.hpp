#pragma once
// spdlog set-up from LogOptions: text or JSON lines on stderr (journald picks them up).
#include <string>

#include "core/options/Options.hpp"

namespace switchyard {

// Control thread: at start-up, and again on a reload (the same logger, new level and format).
// Returns an error sentence for an unknown level.
std::string configure_logging(const LogOptions& options);

}  // namespace switchyard
