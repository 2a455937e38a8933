// Text search: folding and snippet helpers, then search() against the generated database,
// checked against an independent SQL search (LIKE / json_each) over the same file.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>

#include "test_support.h"
#include "text/fold.h"
#include "text/needle.h"
#include "text/snippet.h"
#include "text/utf8.h"
#include "tracedrop/search.h"
#include "tracedrop/store.h"

using namespace tracedrop;

namespace {

const Model& model() { return *test::standard_db().model; }
const testdata::GenSummary& summary() { return test::standard_db().summary; }

std::string fold(std::string_view s) {
  std::string out;
  text::fold_utf8(s, out);
  return out;
}

size_t naive_find_ci(std::string_view hay, std::string_view lower_needle) {
  for (size_t i = 0; i + lower_needle.size() <= hay.size(); ++i) {
    bool eq = true;
    for (size_t j = 0; j < lower_needle.size() && eq; ++j) eq = text::ascii_lower(hay[i + j]) == lower_needle[j];
    if (eq) return i;
  }
  return std::string_view::npos;
}

std::vector<SearchHit> run(const Model& m, std::string_view needle, size_t limit = 0) {
  SearchOptions options;
  options.limit = limit;
  auto r = search(m, needle, options);
  INFO(r.status().message());
  REQUIRE(r.is_ok());
  return std::move(r).value();
}

// span id -> field, the comparable content of a result.
std::map<std::string, std::string> by_span(const Model& m, const std::vector<SearchHit>& hits) {
  std::map<std::string, std::string> out;
  for (const auto& h : hits) out[m.span_id_text(h.span)] = h.field;
  return out;
}

std::string sql_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// A LIKE pattern for `needle` (ESCAPE '\').
std::string like_pattern(std::string_view needle) {
  std::string p = "%";
  for (char c : needle) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += c;
  }
  return sql_quote(p + "%");
}

// The search done by SQLite alone: for each span, the first field (name, attribute keys and
// values in document order, events in time order) whose decoded text is LIKE the needle
// (ASCII case-insensitive; other characters exact). NaN/Infinity are replaced so json_each can
// read Python's non-JSON numbers; text that is not a JSON object is matched raw.
std::map<std::string, std::string> sql_search(Store& store, std::string_view needle) {
  const std::string p = like_pattern(needle) + " ESCAPE '\\'";
  auto fixed = [](const std::string& col) {
    return "replace(replace(replace(CAST(" + col + " AS TEXT), '-Infinity', 'null'), 'Infinity', 'null'), 'NaN', 'null')";
  };
  auto object_or_null = [](const std::string& col) {
    return "CASE WHEN json_valid(" + col + ") THEN CASE WHEN json_type(" + col + ") = 'object' THEN " + col + " END END";
  };
  auto first_key = [&](const std::string& obj) {
    return "(SELECT j.key FROM json_each(coalesce(" + obj + ", '{}')) j WHERE j.key LIKE " + p +
           " OR CAST(j.value AS TEXT) LIKE " + p + " ORDER BY j.id LIMIT 1)";
  };
  const std::string events =
      "(SELECT CASE WHEN e.name LIKE " + p + " OR e.obj IS NULL THEN 'events.' || e.name ELSE 'events.' || e.name || '.' || " +
      first_key("e.obj") + " END FROM (SELECT id, span_id, name, timestamp, attributes, " + object_or_null("fx") +
      " AS obj FROM (SELECT *, " + fixed("attributes") + " AS fx FROM span_events)) e WHERE e.span_id = v.span_id AND (e.name LIKE " +
      p + " OR (e.obj IS NULL AND CAST(e.attributes AS TEXT) LIKE " + p + ") OR " + first_key("e.obj") +
      " IS NOT NULL) ORDER BY e.timestamp, e.id LIMIT 1)";
  const std::string sql =
      "SELECT span_id, field FROM (SELECT v.span_id, CASE WHEN v.name LIKE " + p +
      " THEN 'name' WHEN v.obj IS NULL AND v.raw LIKE " + p + " THEN 'attributes' WHEN " + first_key("v.obj") +
      " IS NOT NULL THEN 'attributes.' || " + first_key("v.obj") + " ELSE " + events +
      " END AS field FROM (SELECT span_id, name, CAST(attributes AS TEXT) AS raw, " + object_or_null("fx") +
      " AS obj FROM (SELECT *, " + fixed("attributes") + " AS fx FROM spans)) v) WHERE field IS NOT NULL";
  auto r = store.run_sql(sql, 10000000);
  INFO(sql);
  INFO(r.status().message());
  REQUIRE(r.is_ok());
  std::map<std::string, std::string> out;
  for (const auto& row : r->rows) out[row[0].s] = row[1].s;
  return out;
}

bool contains_folded(std::string_view hay, std::string_view needle) { return fold(hay).find(fold(needle)) != std::string::npos; }

// Snippet: context within ~40 bytes each side of the match plus two ellipses.
void check_snippets(const std::vector<SearchHit>& hits, std::string_view needle) {
  for (const auto& h : hits) {
    INFO(h.field << ": " << h.snippet);
    CHECK(contains_folded(h.snippet, needle));
    CHECK(h.snippet.size() <= needle.size() + 2 * text::kSnippetContext + 6);
  }
}

// JSON string body for `decoded`, picking at random among the ways a writer may escape each
// character (raw UTF-8 or \u with either hex case, surrogate pairs, "\/" for '/').
std::string random_json_body(const std::string& decoded, std::mt19937& rng) {
  auto hex4 = [&](uint32_t v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, rng() % 2 ? "\\u%04x" : "\\u%04X", v);
    return std::string(buf);
  };
  std::string out;
  for (size_t i = 0; i < decoded.size();) {
    size_t len = 0;
    const uint32_t cp = text::decode_utf8(decoded, i, len);
    const std::string_view raw(decoded.data() + i, len);
    i += len;
    if (cp == '"') out += "\\\"";
    else if (cp == '\\') out += "\\\\";
    else if (cp == '\n') out += rng() % 2 ? "\\n" : hex4(cp);
    else if (cp < 0x20) out += hex4(cp);
    else if (cp == '/') out += rng() % 2 ? "/" : "\\/";
    else if (cp < 0x80) out += static_cast<char>(cp);
    else if (rng() % 3 == 0) out += raw;
    else if (cp < 0x10000) out += hex4(cp);
    else out += hex4(0xD800 + ((cp - 0x10000) >> 10)) + hex4(0xDC00 + ((cp - 0x10000) & 0x3FF));
  }
  return out;
}

}  // namespace

// ------------------------------------------------------------------ folding and helpers

TEST_CASE("case folding keeps UTF-8 lengths and never maps to ASCII", "[search]") {
  for (uint32_t cp = 0x80; cp < 0x800; ++cp) {
    const uint32_t f = text::fold_code_point(cp);
    INFO(cp);
    CHECK(f >= 0x80);
    CHECK(f < 0x800);
  }
  for (uint32_t cp = 'A'; cp <= 'Z'; ++cp) CHECK(text::fold_code_point(cp) == cp + 32);
  CHECK(text::fold_code_point('@') == '@');
}

TEST_CASE("case folding covers Latin, Greek and Cyrillic capitals", "[search]") {
  CHECK(fold("ZÜRICH ÀÉÎÕØÞ") == "zürich àéîõøþ");
  CHECK(fold("ŁÓDŹ ŠŽČĚŘ ŐŰ Ÿ") == "łódź šžčěř őű ÿ");
  CHECK(fold("ΑΘΉΝΑ ΟΔΌΣ ΣΟΦΊΑ") == "αθήνα οδόσ σοφία");
  CHECK(fold("οδός") == "οδόσ");  // final sigma folds to sigma
  CHECK(fold("ПРИВЕТ ЁЛКА ЇЖАК ЎЗБЕК") == "привет ёлка їжак ўзбек");
  CHECK(fold("İ ß ı") == "İ ß ı");  // left alone (would change length or fold to ASCII)
  CHECK(fold("日本 👋🏽") == "日本 👋🏽");
  CHECK(fold(std::string("\xC3\x28\xFF", 3)) == std::string("\xC3\x28\xFF", 3));  // invalid bytes copied
  const auto sigma = text::unfold_code_point(0x3C3);
  CHECK(std::set<uint32_t>(sigma.begin(), sigma.end()) == std::set<uint32_t>{0x3A3, 0x3C2, 0x3C3});
  CHECK(text::unfold_code_point(0x3A3).empty());  // a capital is never a fold result
}

TEST_CASE("find_ascii_ci agrees with a naive search", "[search]") {
  std::mt19937 rng(7);
  const std::string alphabet = "aAbB_-\"\\ \xC3\xBCxyzXYZ@`";
  for (int round = 0; round < 3000; ++round) {
    std::string hay(rng() % 70, ' ');
    for (char& c : hay) c = alphabet[rng() % alphabet.size()];
    std::string needle(1 + rng() % 5, ' ');
    for (char& c : needle) c = text::ascii_lower(alphabet[rng() % alphabet.size()]);
    INFO(hay << " / " << needle);
    CHECK(text::find_ascii_ci(hay, needle) == naive_find_ci(hay, needle));
  }
  CHECK(text::find_ascii_ci(std::string(100, 'a') + "Needle", "needle") == 100);
  CHECK(text::find_ascii_ci("short", "longer needle") == std::string_view::npos);
}

TEST_CASE("snippets cut at character boundaries and mark cuts", "[search]") {
  CHECK(text::make_snippet("hello world", 6, 5) == "hello world");
  const std::string left(50, 'a'), right(50, 'b');
  CHECK(text::make_snippet(left + "X" + right, 50, 1, 5) == "…aaaaaXbbbbb…");
  // "ü" is two bytes: a cut through it moves inwards, never splits it.
  const std::string u = "üüüüü";  // 10 bytes
  CHECK(text::make_snippet(u + "X" + u, 10, 1, 3) == "…üXü…");
  CHECK(text::make_snippet("a\tb\nc\rd", 2, 1) == "a b c d");
  CHECK(text::make_snippet(std::string("x\xFFy", 3), 0, 1) == "x\xEF\xBF\xBDy");
}

TEST_CASE("windowed search in escaped text equals searching the whole decoded text", "[search]") {
  std::mt19937 rng(11);
  // Pieces that make escapes, near misses, case variants and long texts likely.
  const std::vector<std::string> pieces = {"a", "b", "u", "0", "f", " ", "\\", "\"", "\n", "\t", "/", "ü", "Ü", "п", "П",
                                           "р", "👋", "🏽", "\\u00fc", "zürich", "ZÜRICH", "привет", "при", "x\\y"};
  const std::vector<std::string> needles = {"zürich", "ZüRICH", "привет", "пр", "ü", "👋🏽", "a\\", "\"b", "u00fc", "\\u00fc",
                                            "\n", "a/b", "p", "f ", "ab", "рü", "\\y"};
  for (int round = 0; round < 1500; ++round) {
    std::string decoded;
    const size_t n = round % 10 == 0 ? 2000 + rng() % 2000 : rng() % 60;
    for (size_t i = 0; i < n; ++i) decoded += pieces[rng() % pieces.size()];
    const std::string raw = random_json_body(decoded, rng);
    const std::string& needle_text = needles[rng() % needles.size()];
    text::Needle needle(needle_text);
    const size_t expected_pos = fold(decoded).find(fold(needle_text));
    std::string snippet;
    const bool found = needle.find_escaped(raw, snippet);
    INFO("needle " << needle_text << " raw " << raw.substr(0, 300));
    REQUIRE(found == (expected_pos != std::string::npos));
    if (found) {
      CHECK(snippet == text::make_snippet(decoded, expected_pos, fold(needle_text).size()));
      CHECK(needle.may_match_raw(raw));
    }
  }
}

// ------------------------------------------------------------------ search on the generated file

TEST_CASE("an empty or blank query is refused", "[search]") {
  for (const char* q : {"", " ", " \t\n"}) {
    auto r = search(model(), q);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == ErrorCode::kInvalidArgument);
    CHECK(r.status().message().find("empty") != std::string::npos);
  }
}

TEST_CASE("a unicode needle matches \\u escapes, with the same fields as SQLite finds", "[search]") {
  Store& store = *test::standard_db().store;
  const auto expected = sql_search(store, "Zürich");
  REQUIRE(expected.size() >= 5);
  const auto hits = run(model(), "Zürich");
  CHECK(by_span(model(), hits) == expected);
  check_snippets(hits, "Zürich");
  // Any casing finds the same spans.
  CHECK(by_span(model(), run(model(), "zÜRICH")) == expected);
  CHECK(by_span(model(), run(model(), "ZÜRICH")) == expected);

  // The agent_tools tool span: its `output`... whatever field SQLite names first, the snippet
  // shows decoded text around the match.
  const auto agent = model().find_trace(summary().special.at("agent_tools"));
  REQUIRE(agent);
  size_t in_agent = 0;
  for (const auto& h : hits) {
    if (model().spans.trace[h.span] != *agent) continue;
    ++in_agent;
    CHECK(h.snippet.find("\\u") == std::string::npos);
  }
  CHECK(in_agent >= 3);
}

TEST_CASE("Cyrillic, emoji and symbol needles, any case", "[search]") {
  Store& store = *test::standard_db().store;
  const auto privet = sql_search(store, "Привет");
  REQUIRE(!privet.empty());
  CHECK(by_span(model(), run(model(), "Привет")) == privet);
  CHECK(by_span(model(), run(model(), "привет")) == privet);
  CHECK(by_span(model(), run(model(), "ПРИВЕТ")) == privet);
  check_snippets(run(model(), "пРИВЕТ"), "привет");

  const auto wave = sql_search(store, "👋🏽");  // a surrogate pair plus a modifier in the file
  REQUIRE(!wave.empty());
  CHECK(by_span(model(), run(model(), "👋🏽")) == wave);

  const auto sun = sql_search(store, "☀");
  REQUIRE(!sun.empty());
  const auto sun_hits = run(model(), "☀");
  CHECK(by_span(model(), sun_hits) == sun);
  check_snippets(sun_hits, "☀");
}

TEST_CASE("ASCII needles are case-insensitive and agree with LIKE", "[search]") {
  Store& store = *test::standard_db().store;
  for (const char* needle : {"web_search", "tavily", "429", "weather-bot", "Too Many Requests"}) {
    INFO(needle);
    const auto expected = sql_search(store, needle);
    const auto hits = run(model(), needle);
    CHECK(by_span(model(), hits) == expected);
    check_snippets(hits, needle);
  }
  const auto lower = by_span(model(), run(model(), "tavilysearch"));
  REQUIRE(!lower.empty());
  CHECK(by_span(model(), run(model(), "TAVILYSEARCH")) == lower);
  CHECK(by_span(model(), run(model(), "TavilySearch")) == lower);
}

TEST_CASE("a needle found only in an attribute key", "[search]") {
  const auto hits = run(model(), "local_root_span");
  REQUIRE(!hits.empty());
  CHECK(by_span(model(), hits) == sql_search(*test::standard_db().store, "local_root_span"));
  for (const auto& h : hits) {
    if ((model().spans.flags[h.span] & kSpanBadAttributes) != 0) continue;
    INFO(h.snippet);
    CHECK(h.field == "attributes.__local_root_span__");
    CHECK(h.snippet == "__local_root_span__: true");
  }
}

TEST_CASE("event names and event attributes are searched", "[search]") {
  Store& store = *test::standard_db().store;
  // Log messages of failed tool calls live in unstructured_log events only.
  bool saw_event_key = false, saw_event_name = false;
  for (const char* needle : {"unstructured_log", "metric.total_tokens", "severity"}) {
    INFO(needle);
    const auto expected = sql_search(store, needle);
    const auto hits = run(model(), needle);
    CHECK(by_span(model(), hits) == expected);
    for (const auto& h : hits) {
      if (h.field == "events.unstructured_log" || h.field == "events.metric.total_tokens") saw_event_name = true;
      if (h.field == "events.unstructured_log.severity") saw_event_key = true;
    }
  }
  CHECK(saw_event_name);
  CHECK(saw_event_key);
}

TEST_CASE("attributes that are not JSON are searched as raw text", "[search]") {
  const auto& special = summary().special_traces.at("bad_json");
  REQUIRE(!special.empty());
  const auto t = model().find_trace(special.front());
  REQUIRE(t);
  // Some word from the bad span's text: the start of its first key.
  std::string scratch;
  for (const uint32_t* p = model().trace_spans_begin(*t); p != model().trace_spans_end(*t); ++p) {
    if (!(model().spans.flags[*p] & kSpanBadAttributes)) continue;
    auto raw = model().span_attributes(*p, scratch);
    REQUIRE(raw.is_ok());
    const std::string text(*raw);
    const size_t tail = text.size() > 12 ? text.size() - 12 : 0;
    const std::string needle = text.substr(tail);  // the cut end: only this span has it
    bool found = false;
    for (const auto& h : run(model(), needle)) {
      if (h.span != *p) continue;
      found = true;
      CHECK((h.field == "attributes" || h.field == "name"));
    }
    CHECK(found);
  }
}

TEST_CASE("results come newest trace first, then by span start, one per span", "[search]") {
  const auto hits = run(model(), "inference");
  REQUIRE(hits.size() > 50);
  std::set<uint32_t> spans;
  for (size_t i = 0; i < hits.size(); ++i) {
    CHECK(spans.insert(hits[i].span).second);
    if (i == 0) continue;
    const uint32_t a = model().spans.trace[hits[i - 1].span], b = model().spans.trace[hits[i].span];
    if (a == b) {
      CHECK(model().spans.start[hits[i - 1].span] <= model().spans.start[hits[i].span]);
    } else {
      CHECK(model().traces[a].start >= model().traces[b].start);
    }
  }
}

TEST_CASE("limit caps the hits and keeps the order", "[search]") {
  const auto all = run(model(), "inference", 0);
  const auto three = run(model(), "inference", 3);
  REQUIRE(all.size() > 3);
  REQUIRE(three.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(three[i].span == all[i].span);
    CHECK(three[i].field == all[i].field);
  }
  CHECK(run(model(), "inference", 100).size() == std::min<size_t>(100, all.size()));
}

TEST_CASE("progress is reported and can cancel", "[search]") {
  testdata::GenOptions gen;
  gen.traces = 600;
  gen.quirks = false;
  gen.seed = 5;
  LoadOptions load;
  load.attributes = AttributeStorage::kInMemory;
  const auto big = test::generate_and_load(gen, "search_progress.db", load);
  const Model& m = *big.model;
  REQUIRE(m.span_count() > 3 * 4096);

  std::vector<double> seen;
  SearchOptions options;
  options.limit = 0;
  options.progress = [&](double f) {
    seen.push_back(f);
    return true;
  };
  REQUIRE(search(m, "no such text anywhere", options).is_ok());
  CHECK(seen.size() == m.span_count() / 4096 + 1);
  CHECK(seen.front() == Approx(4096.0 / m.span_count()));
  CHECK(seen.back() == 1.0);

  int calls = 0;
  options.progress = [&](double) { return ++calls < 2; };
  auto r = search(m, "inference", options);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::kCancelled);
  CHECK(calls == 2);
}

TEST_CASE("attributes on demand give the same results", "[search]") {
  const Model& lazy = *test::standard_db(true).model;
  REQUIRE_FALSE(lazy.attributes_in_memory());
  for (const char* needle : {"Zürich", "привет", "👋🏽", "local_root_span", "web_search", "unstructured_log"}) {
    INFO(needle);
    const auto a = run(model(), needle);
    const auto b = run(lazy, needle);
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].span == b[i].span);
      CHECK(a[i].field == b[i].field);
      CHECK(a[i].snippet == b[i].snippet);
    }
  }
}

TEST_CASE("search on the shared fixture", "[search]") {
  const std::string path = test::shared_fixture();
  if (path.empty()) return;
  auto store = Store::open_path(path);
  REQUIRE(store.is_ok());
  auto m = Model::build(**store);
  REQUIRE(m.is_ok());
  for (const char* needle : {"get_model", "llama-guard", "मुझे"}) {
    INFO(needle);
    CHECK(by_span(**m, run(**m, needle)) == sql_search(**store, needle));
  }
}

TEST_CASE("a span row that vanished from the file is an error, not a silent miss", "[search]") {
  const test::Loaded copy = test::on_demand_copy("search_gone.db");
  const Model& m = *copy.model;
  REQUIRE(run(m, "qxzjv-nothing").empty());
  test::delete_span_row(copy.path, m.spans.rowid[m.span_count() / 2]);
  auto r = search(m, "qxzjv-nothing");
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::kNotFound);
  CHECK(r.status().message().find("changed since it was opened") != std::string::npos);
}
