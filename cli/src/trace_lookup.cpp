// Finding the trace a user means: the exact id, any case, or a unique prefix.
#include <algorithm>

#include "commands.h"

namespace tracedrop::cli {
namespace {

constexpr size_t kMinPrefix = 6;
constexpr size_t kMaxCandidatesShown = 10;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  return s;
}

}  // namespace

Result<uint32_t> resolve_trace(const Model& model, const std::string& id, const std::string& path) {
  if (auto t = model.find_trace(id)) return *t;
  std::string not_found = "no trace with id " + printable(id) + " in " + path +
                          " (use `tracedrop list` to see trace ids)";
  if (id.size() < kMinPrefix) {
    return Status(ErrorCode::kNotFound, not_found + "; a prefix of an id needs at least " +
                                            std::to_string(kMinPrefix) + " characters");
  }
  const std::string prefix = lower(id);
  std::vector<uint32_t> matches;
  for (uint32_t t = 0; t < model.trace_count(); ++t) {
    if (lower(model.traces[t].id).compare(0, prefix.size(), prefix) == 0 &&
        model.traces[t].id.size() >= prefix.size()) {
      matches.push_back(t);
    }
  }
  if (matches.empty()) return Status(ErrorCode::kNotFound, not_found);
  if (matches.size() == 1) return matches[0];
  std::string message = "trace id prefix " + printable(id) + " is ambiguous in " + path + ": it matches " +
                        std::to_string(matches.size()) + " traces:";
  for (size_t i = 0; i < matches.size() && i < kMaxCandidatesShown; ++i) {
    message += "\n  " + printable(model.traces[matches[i]].id) + "  " + printable(model.trace_name(matches[i]));
  }
  if (matches.size() > kMaxCandidatesShown) message += "\n  ...";
  message += "\ngive more characters of the id.";
  return Status(ErrorCode::kInvalidArgument, message);
}

}  // namespace tracedrop::cli
