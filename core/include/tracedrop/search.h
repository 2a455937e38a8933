// Case-insensitive text search over span names, attribute keys and values, and event text.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tracedrop/model.h"
#include "tracedrop/status.h"

namespace tracedrop {

struct SearchHit {
  uint32_t span = 0;
  // Where it matched: "name", "attributes.<key>", "events.<event name>", "events.<event name>.<key>".
  std::string field;
  std::string snippet;  // decoded text around the match (UTF-8, at most ~120 bytes, "…" marks cuts)
};

struct SearchOptions {
  size_t limit = 100;  // hits returned (one per span: the first matching field)
  std::function<bool(double)> progress;  // fraction 0..1; false cancels (kCancelled)
};

// Spans matching `text` (case-insensitive for ASCII and common Latin/Greek/Cyrillic letters),
// in trace order (newest trace first), then span start order.
Result<std::vector<SearchHit>> search(const Model& model, std::string_view text, const SearchOptions& options = {});

}  // namespace tracedrop
