// The Python repr parser: literals as Python writes them, the nested reprs Llama Stack stores,
// round trips through the generator's own repr writer, and garbage that must not crash.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "analysis/pyrepr.h"
#include "pyvalue.h"

namespace tracedrop {
namespace {

using nlohmann::json;
using testdata::detail::PyValue;

json parsed(const std::string& text) {
  std::optional<json> j = pyrepr::parse(text);
  INFO(text);
  REQUIRE(j.has_value());
  return *j;
}

bool fails(const std::string& text) { return !pyrepr::parse(text).has_value(); }

TEST_CASE("pyrepr: scalars", "[pyrepr]") {
  CHECK(parsed("0") == json(0));
  CHECK(parsed("-42") == json(-42));
  CHECK(parsed("18446744073709551615") == json(UINT64_MAX));
  CHECK(parsed("18446744073709551616").get<double>() == Approx(18446744073709551616.0));
  CHECK(parsed("0.83").get<double>() == 0.83);
  CHECK(parsed("1e-05").get<double>() == 1e-05);
  CHECK(parsed("1e+16").get<double>() == 1e16);
  CHECK(parsed("-2.5").get<double>() == -2.5);
  CHECK(parsed("1.").get<double>() == 1.0);
  CHECK(std::isinf(parsed("inf").get<double>()));
  CHECK(parsed("-inf").get<double>() < 0);
  CHECK(std::isnan(parsed("nan").get<double>()));
  CHECK(parsed("True") == json(true));
  CHECK(parsed("False") == json(false));
  CHECK(parsed("None").is_null());
  CHECK(parsed("  7  ") == json(7));
}

TEST_CASE("pyrepr: strings and escapes", "[pyrepr]") {
  CHECK(parsed("'abc'") == json("abc"));
  CHECK(parsed("\"it's\"") == json("it's"));
  CHECK(parsed(R"('it\'s')") == json("it's"));
  CHECK(parsed(R"('a\nb\tc\rd')") == json("a\nb\tc\rd"));
  CHECK(parsed(R"('back\\slash')") == json("back\\slash"));
  CHECK(parsed(R"('\x41\x00\x7f')") == json(std::string("A\0\x7f", 3)));
  CHECK(parsed(R"('\u00e9\u4e16')") == json("é世"));
  CHECK(parsed(R"('\U0001f600')") == json("😀"));
  CHECK(parsed(R"('\ud83d\ude00')") == json("😀"));      // a surrogate pair joins
  CHECK(parsed(R"('\ud83d!')") == json("\xEF\xBF\xBD!"));  // a lone one is U+FFFD
  CHECK(parsed(R"('\0\101')") == json(std::string("\0A", 2)));
  CHECK(parsed(R"('\q')") == json("\\q"));  // Python keeps unknown escapes
  CHECK(parsed("'Zürich ☀️'") == json("Zürich ☀️"));
  CHECK(parsed("b'\\x00ab'") == json(std::string("\0ab", 3)));
  CHECK(parsed(R"(r'a\nb')") == json("a\\nb"));
  CHECK(parsed("('Hello '\n 'world')") == json("Hello world"));  // pprint's wrapped literals
}

TEST_CASE("pyrepr: containers", "[pyrepr]") {
  CHECK(parsed("[]") == json::array());
  CHECK(parsed("[1, 'a', None]") == json::parse(R"([1, "a", null])"));
  CHECK(parsed("{}") == json::object());
  CHECK(parsed("{'a': 1, 'b': [True, {'c': None}]}") == json::parse(R"({"a": 1, "b": [true, {"c": null}]})"));
  CHECK(parsed("(1,)") == json::parse("[1]"));
  CHECK(parsed("()") == json::array());
  CHECK(parsed("(1, 2)") == json::parse("[1, 2]"));
  CHECK(parsed("(1)") == json(1));  // parentheses, not a tuple
  CHECK(parsed("{1, 2, 3}") == json::parse("[1, 2, 3]"));
  CHECK(parsed("set()") == json::array());
  CHECK(parsed("frozenset({'x'})") == json::parse(R"(["x"])"));
  CHECK(parsed("[1, 2,]") == json::parse("[1, 2]"));
  // Non-string keys become their repr text.
  CHECK(parsed("{1: 'a', (1, 2): 'b', None: 3, 'k': 4}") ==
        json::parse(R"j({"1": "a", "(1, 2)": "b", "None": 3, "k": 4})j"));
  CHECK(parsed("[1, [...]]") == json::parse("[1, [null]]"));
}

TEST_CASE("pyrepr: calls as pydantic and dataclasses print them", "[pyrepr]") {
  CHECK(parsed("OpenAIUserMessageParam(role='user', content='Hi', name=None)") ==
        json::parse(R"({"role": "user", "content": "Hi", "name": null})"));
  CHECK(parsed("datetime.datetime(2025, 6, 2, 8, 0)") == json::parse("[2025, 6, 2, 8, 0]"));
  CHECK(parsed("Point(1, y=2)") == json::parse(R"({"y": 2, "__args__": [1]})"));
  CHECK(parsed("X()") == json::array());
}

TEST_CASE("pyrepr: Llama Stack's nested __args__ repr", "[pyrepr]") {
  // As stored for InferenceRouter.openai_chat_completion (after JSON decoding).
  const std::string args =
      "{'params': \"{'model': 'ollama/llama3.1:8b', 'messages': [{'role': 'system', 'content': 'You are "
      "helpful.'}, {'role': 'user', 'content': \\\"What's up?\\\", 'context': None}], 'stream': True, "
      "'temperature': 0.0}\"}";
  const json outer = parsed(args);
  REQUIRE(outer["params"].is_string());
  const json params = parsed(outer["params"].get<std::string>());
  CHECK(params["model"] == "ollama/llama3.1:8b");
  CHECK(params["stream"] == true);
  CHECK(params["temperature"].get<double>() == 0.0);
  REQUIRE(params["messages"].size() == 2);
  CHECK(params["messages"][1]["content"] == "What's up?");
  CHECK(params["messages"][1]["context"].is_null());
}

TEST_CASE("pyrepr: what is not a literal", "[pyrepr]") {
  CHECK(fails(""));
  CHECK(fails("   "));
  CHECK(fails("<async_generator object OpenAIMixin.openai_chat_completion.<locals>._gen at 0x7f6c51a422ee>"));
  CHECK(fails("{'a': 1"));
  CHECK(fails("'abc"));
  CHECK(fails("[1,, 2]"));
  CHECK(fails("{'a' 1}"));
  CHECK(fails("{1: }"));
  CHECK(fails("{1: 2, 3}"));
  CHECK(fails("1 2"));
  CHECK(fails("[1] x"));
  CHECK(fails("1j"));
  CHECK(fails("0x1f"));
  CHECK(fails("1e"));
  CHECK(fails("-"));
  CHECK(fails("-True"));
  CHECK(fails("undefined_name"));
  CHECK(fails("f(a=)"));
  CHECK(fails("[1, 2)"));
}

TEST_CASE("pyrepr: nesting is bounded", "[pyrepr]") {
  const int limit = pyrepr::kMaxDepth;
  const auto nested = [](int depth) { return std::string(static_cast<size_t>(depth), '[') + std::string(static_cast<size_t>(depth), ']'); };
  std::optional<json> ok = pyrepr::parse(nested(limit));
  REQUIRE(ok.has_value());
  const json* inner = &*ok;
  for (int i = 1; i < limit; ++i) inner = &(*inner)[0];
  CHECK(*inner == json::array());
  CHECK(fails(nested(limit + 1)));
  CHECK(fails(std::string(100000, '[')));
  CHECK(fails(std::string(100000, '{')));
  CHECK(fails(std::string(50000, '(') + "1"));
}

// --- round trips through the generator's own repr writer

PyValue random_value(std::mt19937_64& rng, int depth) {
  static const char* const kStrings[] = {"", "a", "it's", "say \"hi\"", "both ' and \"", "tab\there",
                                         "line\nbreak", "back\\slash", "Zürich ☀️", "👋🏽", "\x01\x7f",
                                         "日本語テキスト"};
  const int pick = static_cast<int>(rng() % (depth >= 4 ? 5 : 8));
  switch (pick) {
    case 0: return PyValue::none();
    case 1: return PyValue::boolean(rng() % 2 == 0);
    case 2: return PyValue::integer(static_cast<int64_t>(rng() % 2000000) - 1000000);
    case 3: return PyValue::real(static_cast<double>(static_cast<int64_t>(rng() % 200000) - 100000) / 64.0);
    case 4: return PyValue::str(kStrings[rng() % (sizeof kStrings / sizeof kStrings[0])]);
    case 5:
    case 6: {
      PyValue d = PyValue::dict();
      const size_t n = rng() % 4;
      for (size_t i = 0; i < n; ++i) d.set("k" + std::to_string(i), random_value(rng, depth + 1));
      return d;
    }
    default: {
      PyValue l = PyValue::list();
      const size_t n = rng() % 4;
      for (size_t i = 0; i < n; ++i) l.add(random_value(rng, depth + 1));
      return l;
    }
  }
}

// What the parser should produce for a value, built independently of it.
json expected(const PyValue& v) {
  switch (v.kind()) {
    case PyValue::Kind::kNone: return nullptr;
    case PyValue::Kind::kBool: return v.as_bool();
    case PyValue::Kind::kInt: return v.as_int();
    case PyValue::Kind::kFloat: return v.as_float();
    case PyValue::Kind::kStr: return v.as_str();
    case PyValue::Kind::kList: {
      json a = json::array();
      for (const PyValue& item : v.items()) a.push_back(expected(item));
      return a;
    }
    case PyValue::Kind::kDict: {
      json o = json::object();
      for (const auto& f : v.fields()) o[f.first] = expected(f.second);
      return o;
    }
  }
  return nullptr;
}

TEST_CASE("pyrepr: round trips of generated values", "[pyrepr]") {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 500; ++i) {
    const PyValue v = random_value(rng, 0);
    const std::string repr = testdata::detail::py_repr(v);
    std::optional<json> j = pyrepr::parse(repr);
    INFO(repr);
    REQUIRE(j.has_value());
    CHECK(*j == expected(v));
    // The repr of the repr (a string holding a repr), parsed twice.
    std::optional<json> outer = pyrepr::parse(testdata::detail::py_repr_str(repr));
    REQUIRE(outer.has_value());
    REQUIRE(outer->is_string());
    CHECK(pyrepr::parse(outer->get<std::string>()) == j);
  }
}

// --- garbage: truncations and mutations must fail or parse, never crash (run under ASan)

TEST_CASE("pyrepr: fuzzed truncations and mutations", "[pyrepr]") {
  std::mt19937_64 rng(12345);
  std::vector<std::string> samples = {
      "{'params': \"{'model': 'm', 'messages': [{'role': 'user', 'content': 'Hi \\\\u00e9 \\\\U0001f600'}]}\"}",
      R"({'violation': {'violation_level': 'error', 'user_message': "I can't", 'metadata': {'k': (1, 2.5e-3, -inf)}}})",
      R"(Req(model='x', messages=[Msg(role='user', content='\x41\ud83d\ude00\101')], n=frozenset({1, 2})))",
      "b'\\x00\\xff' r'\\q' [1, [2, [3, {4: {5}}]]] ...",
  };
  for (int i = 0; i < 200; ++i) samples.push_back(testdata::detail::py_repr(random_value(rng, 0)));
  size_t parsed_count = 0;
  for (const std::string& s : samples) {
    for (size_t cut = 0; cut <= s.size(); ++cut) {
      const std::string prefix = s.substr(0, cut);  // a fresh allocation: ASan sees overreads
      if (pyrepr::parse(prefix)) ++parsed_count;
    }
    for (int k = 0; k < 50 && !s.empty(); ++k) {
      std::string m = s;
      const size_t edits = 1 + rng() % 3;
      for (size_t e = 0; e < edits; ++e) {
        const size_t at = rng() % m.size();
        static const char kBytes[] = "[](){}'\",:\\=.-0123456789eEjxuUNnaTF \x80\xff";
        m[at] = kBytes[rng() % (sizeof kBytes - 1)];
      }
      if (pyrepr::parse(m)) ++parsed_count;
    }
  }
  CHECK(parsed_count > 0);
}

}  // namespace
}  // namespace tracedrop
