// Fast member lookup in attribute text that the model already validated at load time.
//
// json::find_member validates the whole text on every call; a filter over 200k spans would
// then re-validate ~350 MB of attribute text per query. The model flags unreadable text
// (kSpanBadAttributes, EventColumns::bad_attributes), so queries skip those rows and look up
// members here without validating values again. Still safe on any input: never reads outside
// the view, never recurses, and gives nullopt when the structure is not as expected.
#pragma once

#include <optional>
#include <string_view>

#include "json/json_scan.h"

namespace tracedrop::query {

// The FIRST top-level member named `key` (as SQLite's json_extract finds it), or nullopt.
// Cheap when the key is absent: see may_hold_key.
std::optional<json::Member> first_member(std::string_view object_text, std::string_view key);

// False only when `text` certainly holds no string token equal to `key` (so no member of that
// name at any depth). For a key of printable ASCII without '"' and '\\' the test is exact: such
// a key appears either verbatim between quotes, or with some printable ASCII character escaped
// (\u0020..\u007F or \/), which Python's json.dumps never writes; any such escape in the text
// makes this return true. Other keys: always true.
bool may_hold_key(std::string_view text, std::string_view key);

// Element `n` of an array text, or nullopt.
std::optional<json::Member> array_element(std::string_view array_text, size_t n);

}  // namespace tracedrop::query
