#include "query/sql_value.h"

#include "query/member_lookup.h"

#include <cmath>
#include <cstring>

namespace tracedrop::query {
namespace {

int sign(int64_t a, int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

int compare_reals(double a, double b) { return a < b ? -1 : (a > b ? 1 : 0); }

// Exact comparison of an integer with a real, as SQLite does (no rounding of the integer).
int compare_int_real(int64_t i, double r) {
  if (r < -9223372036854775808.0) return 1;
  if (r >= 9223372036854775808.0) return -1;
  const double whole = std::trunc(r);
  const auto y = static_cast<int64_t>(whole);
  if (i != y) return sign(i, y);
  return compare_reals(whole, r);
}

int compare_text(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  const int c = n ? std::memcmp(a.data(), b.data(), n) : 0;
  if (c != 0) return c < 0 ? -1 : 1;
  return sign(static_cast<int64_t>(a.size()), static_cast<int64_t>(b.size()));
}

int type_rank(SqlValue::Type t) { return t == SqlValue::kText ? 2 : 1; }

// JSON text without whitespace outside strings: what SQLite returns for an array/object.
void minify(std::string_view raw, std::string& out) {
  out.clear();
  bool in_string = false, escaped = false;
  for (char c : raw) {
    if (in_string) {
      out += c;
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
      out += c;
    } else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      out += c;
    }
  }
}

// Reads one path segment at `pos`: a key (bare or "quoted") and any [N] indices after it.
bool parse_segment(std::string_view key, size_t& pos, std::vector<PathStep>& steps) {
  PathStep step;
  if (pos < key.size() && key[pos] == '"') {
    const size_t close = key.find('"', pos + 1);
    if (close == std::string_view::npos) return false;
    step.key = std::string(key.substr(pos + 1, close - pos - 1));
    pos = close + 1;
  } else {
    const size_t stop = key.find_first_of(".[", pos);
    const size_t len = (stop == std::string_view::npos ? key.size() : stop) - pos;
    if (len == 0) return false;
    step.key = std::string(key.substr(pos, len));
    pos += len;
  }
  steps.push_back(std::move(step));
  while (pos < key.size() && key[pos] == '[') {
    const size_t close = key.find(']', pos);
    if (close == std::string_view::npos || close == pos + 1) return false;
    PathStep index;
    index.is_index = true;
    for (size_t i = pos + 1; i < close; ++i) {
      if (key[i] < '0' || key[i] > '9' || index.index > (SIZE_MAX - 9) / 10) return false;
      index.index = index.index * 10 + static_cast<size_t>(key[i] - '0');
    }
    steps.push_back(std::move(index));
    pos = close + 1;
  }
  return true;
}

std::vector<PathStep> parse_steps(std::string_view key) {
  if (key.substr(0, 2) == "$.") key.remove_prefix(2);
  std::vector<PathStep> steps;
  size_t pos = 0;
  while (true) {
    if (!parse_segment(key, pos, steps)) return {};
    if (pos == key.size()) return steps;
    if (key[pos] != '.') return {};
    ++pos;
  }
}

}  // namespace

std::optional<int> sql_compare(const SqlValue& a, const SqlValue& b) {
  if (a.type == SqlValue::kNull || b.type == SqlValue::kNull) return std::nullopt;
  if (type_rank(a.type) != type_rank(b.type)) return type_rank(a.type) < type_rank(b.type) ? -1 : 1;
  if (a.type == SqlValue::kText) return compare_text(a.text, b.text);
  if (a.type == SqlValue::kInteger && b.type == SqlValue::kInteger) return sign(a.i, b.i);
  if (a.type == SqlValue::kReal && b.type == SqlValue::kReal) return compare_reals(a.d, b.d);
  if (a.type == SqlValue::kInteger) return compare_int_real(a.i, b.d);
  return -compare_int_real(b.i, a.d);
}

SqlValue sql_value_of(const json::Member& member, std::string& scratch) {
  SqlValue v;
  switch (member.type) {
    case json::ValueType::kString: {
      v.type = SqlValue::kText;
      const std::string_view body = member.value.substr(1, member.value.size() - 2);
      if (body.find('\\') == std::string_view::npos) {
        v.text = body;  // nothing to decode: compare the stored bytes directly
      } else {
        scratch = json::decode_string(member.value);
        v.text = scratch;
      }
      break;
    }
    case json::ValueType::kNumber:
    case json::ValueType::kNonFinite:
      if (json::parse_int64(member.value, v.i)) {
        v.type = SqlValue::kInteger;
      } else if (json::parse_double(member.value, v.d) && !std::isnan(v.d)) {
        v.type = SqlValue::kReal;
      }
      break;
    case json::ValueType::kTrue:
      v.type = SqlValue::kInteger;
      v.i = 1;
      break;
    case json::ValueType::kFalse:
      v.type = SqlValue::kInteger;
      v.i = 0;
      break;
    case json::ValueType::kArray:
    case json::ValueType::kObject:
      minify(member.value, scratch);
      v.type = SqlValue::kText;
      v.text = scratch;
      break;
    case json::ValueType::kNull:
      break;
  }
  return v;
}

SqlValue sql_value_of(const nlohmann::json& value, std::string& storage) {
  SqlValue v;
  switch (value.type()) {
    case nlohmann::json::value_t::boolean:
      v.type = SqlValue::kInteger;
      v.i = value.get<bool>() ? 1 : 0;
      break;
    case nlohmann::json::value_t::number_integer:
      v.type = SqlValue::kInteger;
      v.i = value.get<int64_t>();
      break;
    case nlohmann::json::value_t::number_unsigned: {
      const auto u = value.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) {
        v.type = SqlValue::kInteger;
        v.i = static_cast<int64_t>(u);
      } else {
        v.type = SqlValue::kReal;
        v.d = static_cast<double>(u);
      }
      break;
    }
    case nlohmann::json::value_t::number_float:
      v.d = value.get<double>();
      if (!std::isnan(v.d)) v.type = SqlValue::kReal;
      break;
    case nlohmann::json::value_t::string:
      storage = value.get<std::string>();
      v.type = SqlValue::kText;
      v.text = storage;
      break;
    case nlohmann::json::value_t::array:
    case nlohmann::json::value_t::object:
      storage = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      v.type = SqlValue::kText;
      v.text = storage;
      break;
    default:
      break;
  }
  return v;
}

Result<AttributePath> parse_attribute_path(std::string_view key) {
  if (key.empty()) return Status(ErrorCode::kInvalidArgument, "An attribute filter needs a key (e.g. session_id=...).");
  AttributePath path;
  path.literal = std::string(key);
  path.steps = parse_steps(key);
  return path;
}

std::optional<json::Member> find_path(std::string_view object_text, const AttributePath& path) {
  if (auto m = first_member(object_text, path.literal)) return m;
  const auto& steps = path.steps;
  if (steps.empty() || (steps.size() == 1 && steps[0].key == path.literal)) return std::nullopt;
  std::optional<json::Member> cur = json::Member{{}, false, object_text, json::ValueType::kObject};
  for (const PathStep& step : steps) {
    if (step.is_index) {
      if (cur->type != json::ValueType::kArray) return std::nullopt;
      cur = array_element(cur->value, step.index);
    } else {
      if (cur->type != json::ValueType::kObject) return std::nullopt;
      cur = first_member(cur->value, step.key);
    }
    if (!cur) return std::nullopt;
  }
  return cur;
}

}  // namespace tracedrop::query
