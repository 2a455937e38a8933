// A parser for the Python literal reprs Llama Stack writes into span attributes: the
// `__args__` and `output` strings of auto-traced methods, e.g.
//   {'params': "{'model': 'llama3.2:3b', 'messages': [{'role': 'user', 'content': 'Hi'}]}"}
// (a repr whose string values are often reprs themselves: parse again to go one level down).
//
// Accepted: dict, list, tuple, set, str ('...' or "...", with Python escapes), bytes (b'...'),
// int, float, True/False/None, nan/inf, Ellipsis, and calls `Name(a, k=v)` as pydantic and
// dataclass reprs print them. Produced: tuples, sets and lists as arrays; dicts as objects
// (non-string keys become their repr text, e.g. {1: 'a'} -> {"1": "a"}); calls with keyword
// arguments as objects of those arguments, positional-only calls as arrays, set()/frozenset(x)/
// list(x)/tuple(x) as x. Anything else (`<object at 0x...>`, truncated text) gives nullopt.
//
// The input is untrusted: no recursion (an explicit stack, at most kMaxDepth containers deep),
// no reads outside the view. Strings may carry invalid UTF-8 when the input did.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tracedrop::pyrepr {

// Deeper nesting is rejected (257 nested lists fail, 256 parse).
inline constexpr int kMaxDepth = 256;

// Parses one Python literal with optional whitespace around it. nullopt when it is not one.
std::optional<nlohmann::json> parse(std::string_view text);

}  // namespace tracedrop::pyrepr
