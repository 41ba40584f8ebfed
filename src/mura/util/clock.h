#pragma once
/// The wall clock as saved files record it.
#include <string>

namespace mura {

/// The current UTC time, ISO 8601 to the second: "2026-12-07T21:40:00Z".
std::string utc_timestamp();

}  // namespace mura
