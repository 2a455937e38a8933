#include "session/request.h"

#include <cmath>

namespace tracedrop::request {
namespace {

using Json = nlohmann::json;

Status wrong_type(const char* key, const char* expected) {
  return {ErrorCode::kInvalidArgument, std::string("request field \"") + key + "\" must be " + expected + "."};
}

const Json* field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

Result<Json> parse_object(std::string_view text, const char* what) {
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) ++i;
  if (i == text.size()) return Json::object();
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return Status(ErrorCode::kInvalidArgument, std::string(what) + " must be a JSON object.");
  }
  return parsed;
}

Status get_string(const Json& obj, const char* key, std::string& out) {
  const Json* v = field(obj, key);
  if (!v) return Status::ok();
  if (!v->is_string()) return wrong_type(key, "a string");
  out = v->get_ref<const std::string&>();
  return Status::ok();
}

Status get_bool(const Json& obj, const char* key, bool& out) {
  const Json* v = field(obj, key);
  if (!v) return Status::ok();
  if (!v->is_boolean()) return wrong_type(key, "true or false");
  out = v->get<bool>();
  return Status::ok();
}

Status get_size(const Json& obj, const char* key, size_t& out) {
  const Json* v = field(obj, key);
  if (!v) return Status::ok();
  if (!v->is_number_unsigned()) return wrong_type(key, "a non-negative integer");
  out = static_cast<size_t>(v->get<uint64_t>());
  return Status::ok();
}

Status get_number(const Json& obj, const char* key, std::optional<double>& out) {
  const Json* v = field(obj, key);
  if (!v) return Status::ok();
  if (!v->is_number()) return wrong_type(key, "a number");
  out = v->get<double>();
  return Status::ok();
}

Status get_int(const Json& obj, const char* key, std::optional<int>& out) {
  const Json* v = field(obj, key);
  if (!v) return Status::ok();
  if (!v->is_number_integer()) return wrong_type(key, "an integer");
  const int64_t i = v->get<int64_t>();
  if (i < -1000000 || i > 1000000) return wrong_type(key, "an integer between -1000000 and 1000000");
  out = static_cast<int>(i);
  return Status::ok();
}

Status get_strings(const Json& obj, const char* key, std::vector<std::string>& out) {
  const Json* v = field(obj, key);
  if (!v) return Status::ok();
  if (!v->is_array()) return wrong_type(key, "an array of strings");
  for (const Json& item : *v) {
    if (!item.is_string()) return wrong_type(key, "an array of strings");
    out.push_back(item.get_ref<const std::string&>());
  }
  return Status::ok();
}

Status get_time(const Json& obj, const char* key, std::optional<TimeNs>& out) {
  const Json* v = field(obj, key);
  if (!v) return Status::ok();
  if (v->is_number()) {
    const double seconds = v->get<double>();
    if (!std::isfinite(seconds) || std::fabs(seconds) > 9.0e9) return wrong_type(key, "a time");
    out = static_cast<TimeNs>(std::llround(seconds * 1e9));
    return Status::ok();
  }
  if (!v->is_string()) return wrong_type(key, "ISO time text or Unix seconds");
  const auto parsed = parse_timestamp(v->get_ref<const std::string&>());
  if (!parsed) {
    return {ErrorCode::kInvalidArgument, std::string("request field \"") + key + "\": cannot read \"" +
                                             v->get_ref<const std::string&>() +
                                             "\" as a time; use ISO text such as 2025-06-02T08:00:00Z."};
  }
  out = parsed->ns;
  return Status::ok();
}

Status get_filters(const Json& obj, const char* key, std::vector<AttributeFilter>& out) {
  const Json* v = field(obj, key);
  if (!v) return Status::ok();
  if (!v->is_array()) return wrong_type(key, "an array of filters");
  for (const Json& item : *v) {
    if (item.is_string()) {
      auto filter = parse_filter_expression(item.get_ref<const std::string&>());
      if (!filter.is_ok()) return filter.status();
      out.push_back(std::move(filter).value());
      continue;
    }
    if (!item.is_object()) return wrong_type(key, "an array of \"key=value\" texts or {key, op, value} objects");
    AttributeFilter filter;
    std::string op = "eq";
    TRACEDROP_RETURN_IF_ERROR(get_string(item, "key", filter.key));
    TRACEDROP_RETURN_IF_ERROR(get_string(item, "op", op));
    const auto parsed_op = parse_filter_op(op);
    if (!parsed_op) {
      return {ErrorCode::kInvalidArgument, "unknown filter op \"" + op + "\": use eq, ne, gt or lt."};
    }
    filter.op = *parsed_op;
    auto value = item.find("value");
    if (value != item.end()) filter.value = *value;
    out.push_back(std::move(filter));
  }
  return Status::ok();
}

}  // namespace tracedrop::request
