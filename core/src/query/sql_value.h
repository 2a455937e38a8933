// SQLite's view of an attribute: what json_extract(attributes, '$.path') returns, and how
// SQLite compares such values. Used by the attribute filters of query_traces/query_spans so
// that they answer exactly what Llama Stack's SQL answered, without running SQL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "json/json_scan.h"
#include "tracedrop/status.h"

namespace tracedrop::query {

// A SQLite value as json_extract produces it: NULL, INTEGER, REAL or TEXT.
struct SqlValue {
  enum Type : uint8_t { kNull, kInteger, kReal, kText } type = kNull;
  int64_t i = 0;
  double d = 0;
  std::string_view text;  // points into the attribute text or into a caller's scratch string
};

// -1, 0, 1 as SQLite orders two values (numbers before text, integers and reals compared
// exactly, text bytewise). nullopt when either is NULL: every comparison with NULL fails.
std::optional<int> sql_compare(const SqlValue& a, const SqlValue& b);

// The value json_extract gives for a member found in attribute text: strings decoded,
// true/false as 1/0, null and NaN as NULL (SQLite's JSON5 reading), Infinity as REAL,
// arrays/objects as their minified JSON text. `scratch` holds decoded text when needed.
SqlValue sql_value_of(const json::Member& member, std::string& scratch);

// The value a Python client bound as a parameter: bool as 1/0, numbers, strings; arrays and
// objects as their minified JSON text (what json_extract returns for them); null as NULL.
// `storage` keeps the text alive.
SqlValue sql_value_of(const nlohmann::json& value, std::string& storage);

// One step of a JSON path: an object key or an array index.
struct PathStep {
  std::string key;
  bool is_index = false;
  size_t index = 0;
};

// A parsed attribute key: "a.b[0]" is the json path $.a.b[0]; a segment in double quotes
// ("http.method") is one key. The whole key is also tried as one literal top-level key first,
// because OpenTelemetry keys contain dots (`http.method`) while Llama Stack's never nest.
struct AttributePath {
  std::string literal;          // the key as given
  std::vector<PathStep> steps;  // empty when the key is not a valid path (literal only)
};

// Fails with kInvalidArgument for an empty key.
Result<AttributePath> parse_attribute_path(std::string_view key);

// The member at `path` in attribute object text, found as json_extract finds it (the first of
// duplicate keys); nullopt when absent. The text must be one the model found readable (not
// flagged kSpanBadAttributes): values are skipped without being validated again.
// The returned Member's key is the last step's key (empty for an index).
std::optional<json::Member> find_path(std::string_view object_text, const AttributePath& path);

}  // namespace tracedrop::query
