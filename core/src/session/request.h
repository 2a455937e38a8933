// Reading request objects given as JSON text without ever throwing: every wrong type or
// unknown value becomes a kInvalidArgument Status naming the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tracedrop/query.h"
#include "tracedrop/status.h"
#include "tracedrop/time.h"

namespace tracedrop::request {

// Parses `text` as a JSON object; empty or blank text is {}.
Result<nlohmann::json> parse_object(std::string_view text, const char* what);

// Each getter leaves `out` unchanged when the field is absent or null.
Status get_string(const nlohmann::json& obj, const char* key, std::string& out);
Status get_bool(const nlohmann::json& obj, const char* key, bool& out);
Status get_size(const nlohmann::json& obj, const char* key, size_t& out);
Status get_number(const nlohmann::json& obj, const char* key, std::optional<double>& out);
Status get_int(const nlohmann::json& obj, const char* key, std::optional<int>& out);
Status get_strings(const nlohmann::json& obj, const char* key, std::vector<std::string>& out);
// A time as ISO text, or a number of Unix seconds.
Status get_time(const nlohmann::json& obj, const char* key, std::optional<TimeNs>& out);
// Filters as "key=value" expressions or {key, op, value} objects.
Status get_filters(const nlohmann::json& obj, const char* key, std::vector<AttributeFilter>& out);

}  // namespace tracedrop::request
