// The general timestamp parser behind parse_timestamp (tracedrop/time.h), which first tries the
// two fixed-width forms nearly every row holds. Declared here so tests can hold the two to the
// same answers.
#pragma once

#include <optional>
#include <string_view>

#include "tracedrop/time.h"

namespace tracedrop::detail {

std::optional<ParsedTime> parse_timestamp_general(std::string_view text, int64_t naive_utc_offset_seconds);

}  // namespace tracedrop::detail
