// Attribute filters compiled once and tested against one span's attribute text.
#pragma once

#include <string>
#include <vector>

#include "query/sql_value.h"
#include "tracedrop/model.h"
#include "tracedrop/query.h"

namespace tracedrop::query {

class SpanFilter {
 public:
  // kInvalidArgument for an empty key.
  static Result<SpanFilter> compile(const std::vector<AttributeFilter>& filters);

  bool empty() const { return filters_.empty(); }
  // Whether every filter holds on this span (Llama Stack's WHERE on one spans row).
  Result<bool> matches(const Model& model, uint32_t span) const;
  // Whether some span of the trace matches (true for any trace when there are no filters).
  Result<bool> matches_trace(const Model& model, uint32_t trace) const;

 private:
  struct Compiled {
    AttributePath path;
    FilterOp op = FilterOp::kEq;
    SqlValue value;     // its `text` is left empty: the text lives in `text` (moves safely)
    std::string text;
  };
  bool holds(const Compiled& f, std::string_view attributes) const;

  std::vector<Compiled> filters_;
  mutable std::string scratch_;   // decoded attribute strings
  mutable std::string attr_buf_;  // attribute text fetched on demand
};

}  // namespace tracedrop::query
