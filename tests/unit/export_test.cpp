// Exporters: every export goes through the strict validators (when they are beside the
// repository), round-trips back to the model exactly, and matches the golden files.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "export/attribute_entries.h"
#include "json/json_scan.h"
#include "test_support.h"
#include "tracedrop/export.h"
#include "tracedrop/model.h"
#include "tracedrop/store.h"

using namespace tracedrop;
using Json = nlohmann::json;

namespace {

using test::check_with_validator;
using test::gunzip;

std::vector<uint32_t> all_traces(const Model& m) {
  ExportSelection sel;
  auto r = select_traces(m, sel);
  REQUIRE(r.is_ok());
  return *r;
}

std::string export_string(const Model& m, const std::vector<uint32_t>& traces, ExportFormat format,
                          ExportSummary* summary = nullptr, bool error_status = false) {
  StringSink sink;
  ExportOptions opt;
  opt.format = format;
  opt.error_attribute_as_status = error_status;
  auto r = export_traces(m, traces, opt, sink);
  REQUIRE(r.is_ok());
  if (summary) *summary = *r;
  return sink.str();
}

std::string write_export(const std::string& name, const std::string& bytes) { return test::write_file(name, bytes); }

// The stored attributes of a span, parsed independently of the exporter.
Json stored_attributes(const Model& m, uint32_t s) {
  std::string scratch;
  auto text = m.span_attributes(s, scratch);
  REQUIRE(text.is_ok());
  if (text->empty()) return Json::object();
  auto parsed = tracedrop::json::parse_lenient(*text);
  if (!parsed || !parsed->is_object()) return Json();  // unreadable: kept as raw text
  return *parsed;
}

// An OTLP AnyValue back to a JSON value, checking it has exactly one member.
Json any_value(const Json& v) {
  REQUIRE(v.is_object());
  if (v.empty()) return Json();
  REQUIRE(v.size() == 1);
  if (v.contains("stringValue")) return v["stringValue"];
  if (v.contains("boolValue")) return v["boolValue"];
  if (v.contains("intValue")) {
    REQUIRE(v["intValue"].is_string());
    return Json(std::stoll(v["intValue"].get<std::string>()));
  }
  if (v.contains("doubleValue")) {
    const Json& d = v["doubleValue"];
    if (d.is_string()) {
      const std::string s = d.get<std::string>();
      return Json(s == "NaN" ? std::nan("") : (s == "Infinity" ? INFINITY : -INFINITY));
    }
    return Json(d.get<double>());
  }
  if (v.contains("arrayValue")) {
    Json arr = Json::array();
    for (const auto& x : v["arrayValue"]["values"]) arr.push_back(any_value(x));
    return arr;
  }
  if (v.contains("kvlistValue")) {
    Json obj = Json::object();
    for (const auto& kv : v["kvlistValue"]["values"]) obj[kv["key"].get<std::string>()] = any_value(kv["value"]);
    return obj;
  }
  FAIL("unknown AnyValue " << v.dump());
  return Json();
}

bool same_value(const Json& a, const Json& b) {
  if (a.is_number_float() && b.is_number_float() && std::isnan(a.get<double>()) && std::isnan(b.get<double>())) return true;
  if (a.is_number() && b.is_number() && a.is_number_float() != b.is_number_float()) return false;  // types kept
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!same_value(a[i], b[i])) return false;
    return true;
  }
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it)
      if (!b.contains(it.key()) || !same_value(*it, b[it.key()])) return false;
    return true;
  }
  return a == b;
}

}  // namespace

TEST_CASE("OTLP JSON round-trips every span, link, time, attribute and event", "[export]") {
  const Model& m = *test::standard_db().model;
  ExportSummary summary;
  const std::string text = export_string(m, all_traces(m), ExportFormat::kOtlpJson, &summary);
  check_with_validator(ExportFormat::kOtlpJson, write_export("standard.otlp.json", text));
  CHECK(summary.traces == m.trace_count());
  CHECK(summary.spans == m.span_count());
  CHECK(summary.events == m.event_count());
  CHECK(summary.skipped.empty());
  CHECK(summary.bytes == text.size());

  const Json doc = Json::parse(text);
  std::map<std::string, const Json*> by_id;  // trace+span id -> span
  std::set<std::string> services;
  size_t spans = 0;
  for (const auto& rs : doc["resourceSpans"]) {
    REQUIRE(rs["resource"]["attributes"][0]["key"] == "service.name");
    services.insert(rs["resource"]["attributes"][0]["value"]["stringValue"].get<std::string>());
    for (const auto& ss : rs["scopeSpans"])
      for (const auto& sp : ss["spans"]) {
        by_id[sp["traceId"].get<std::string>() + "/" + sp["spanId"].get<std::string>()] = &sp;
        ++spans;
      }
  }
  CHECK(spans == m.span_count());
  CHECK(services.count("llama-stack") == 1);
  for (const auto& s : services) CHECK(s.find("\xE2\x80\x8B") == std::string::npos);

  size_t checked_attrs = 0;
  for (uint32_t s = 0; s < m.span_count(); ++s) {
    if (m.spans.flags[s] & kSpanDuplicateId) continue;  // exported under a derived id
    const TraceInfo& t = m.traces[m.spans.trace[s]];
    std::string tid = t.bad_id ? hex128(t.id_hi, t.id_lo) : t.id;
    for (char& c : tid) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));  // exported lower case
    auto it = by_id.find(tid + "/" + m.span_id_hex(s));
    INFO("span " << m.span_id_text(s) << " of trace " << t.id);
    REQUIRE(it != by_id.end());
    const Json& sp = *it->second;
    CHECK(sp["name"] == std::string(m.span_name(s)));
    CHECK(sp["startTimeUnixNano"] == std::to_string(m.spans.start[s]));
    CHECK(sp["endTimeUnixNano"] == std::to_string(m.spans.end[s]));
    CHECK(sp["kind"] == static_cast<int>(m.spans.kind[s]));
    CHECK(sp["status"]["code"] == static_cast<int>(m.spans.status[s]));
    const int32_t parent = m.spans.parent[s];
    if (parent >= 0) CHECK(sp["parentSpanId"] == m.span_id_hex(static_cast<uint32_t>(parent)));
    else if (m.spans.parent_id[s] == 0) CHECK_FALSE(sp.contains("parentSpanId"));
    // Attributes: same keys, same types, same values.
    const Json stored = stored_attributes(m, s);
    Json exported = Json::object();
    for (const auto& kv : sp["attributes"]) {
      const std::string key = kv["key"].get<std::string>();
      if (key.rfind("tracedrop.", 0) == 0) continue;
      exported[key] = any_value(kv["value"]);
    }
    if (stored.is_object()) {
      CHECK(same_value(exported, stored));
      ++checked_attrs;
    }
    // Events, in time order, with their attributes.
    const auto& events = sp["events"];
    REQUIRE(events.size() == static_cast<size_t>(m.events_end(s) - m.events_begin(s)));
    size_t i = 0;
    for (const uint32_t* e = m.events_begin(s); e != m.events_end(s); ++e, ++i) {
      CHECK(events[i]["name"] == std::string(m.event_name(*e)));
      CHECK(events[i]["timeUnixNano"] == std::to_string(m.events.time[*e]));
      auto ev_attrs = tracedrop::json::parse_lenient(m.event_attributes(*e));
      REQUIRE(ev_attrs);
      Json got = Json::object();
      for (const auto& kv : events[i]["attributes"]) got[kv["key"].get<std::string>()] = any_value(kv["value"]);
      CHECK(same_value(got, *ev_attrs));
    }
  }
  CHECK(checked_attrs > m.span_count() - 10);
}

TEST_CASE("stored ids are kept; invalid ones are replaced and the stored text kept", "[export]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  const std::string text = export_string(m, all_traces(m), ExportFormat::kOtlpJson);
  // Every valid stored span id appears as it is.
  size_t kept = 0;
  for (uint32_t s = 0; s < m.span_count(); ++s) {
    if (m.spans.flags[s] & (kSpanBadSpanId | kSpanDuplicateId)) continue;
    if (text.find("\"spanId\":\"" + m.span_id_text(s) + "\"") != std::string::npos) ++kept;
  }
  CHECK(kept == m.span_count() - [&] {
          size_t bad = 0;
          for (uint32_t s = 0; s < m.span_count(); ++s) bad += (m.spans.flags[s] & (kSpanBadSpanId | kSpanDuplicateId)) ? 1u : 0u;
          return bad;
        }());
  const uint32_t t = *m.find_trace(db.summary.special.at("bad_ids"));
  const uint32_t s = *m.trace_spans_begin(t);
  if (m.traces[t].bad_id) {
    CHECK(text.find("\"tracedrop.original_trace_id\",\"value\":{\"stringValue\":\"" + m.traces[t].id + "\"") !=
          std::string::npos);
  }
  size_t bad_spans = 0;
  for (const uint32_t* p = m.trace_spans_begin(t); p != m.trace_spans_end(t); ++p) {
    if (!(m.spans.flags[*p] & kSpanBadSpanId)) continue;
    ++bad_spans;
    CHECK(text.find("\"tracedrop.original_span_id\",\"value\":{\"stringValue\":\"" + m.span_id_text(*p) + "\"}") !=
          std::string::npos);
  }
  CHECK(bad_spans >= 1);
  (void)s;
}

TEST_CASE("Jaeger JSON: microseconds, typed tags, references inside the trace", "[export]") {
  const Model& m = *test::standard_db().model;
  ExportSummary summary;
  const std::string text = export_string(m, all_traces(m), ExportFormat::kJaegerJson, &summary);
  check_with_validator(ExportFormat::kJaegerJson, write_export("standard.jaeger.json", text));
  const Json doc = Json::parse(text);
  REQUIRE(doc["data"].size() == m.trace_count());
  size_t spans = 0;
  for (const auto& trace : doc["data"]) {
    auto t = m.find_trace(trace["traceID"].get<std::string>());
    const std::string service = trace["processes"]["p1"]["serviceName"].get<std::string>();
    if (t) CHECK(service == m.service_display(*t));
    std::set<std::string> ids;
    for (const auto& sp : trace["spans"]) ids.insert(sp["spanID"].get<std::string>());
    for (const auto& sp : trace["spans"]) {
      ++spans;
      CHECK(sp["processID"] == "p1");
      for (const auto& ref : sp["references"]) CHECK(ids.count(ref["spanID"].get<std::string>()) == 1);
      auto s = m.find_span(sp["spanID"].get<std::string>());
      if (!s || !t || m.spans.trace[*s] != *t) continue;
      CHECK(sp["startTime"] == m.spans.start[*s] / 1000);
      CHECK(sp["duration"] == m.spans.end[*s] / 1000 - m.spans.start[*s] / 1000);
      bool error_tag = false;
      for (const auto& tag : sp["tags"]) error_tag |= tag["key"] == "error" && tag["type"] == "bool";
      CHECK(error_tag == m.span_failed(*s));
    }
  }
  CHECK(spans == m.span_count());
  CHECK(summary.spans == m.span_count());
}

TEST_CASE("OTLP JSON Lines: one request per trace per line", "[export]") {
  const Model& m = *test::standard_db().model;
  const std::string text = export_string(m, all_traces(m), ExportFormat::kOtlpJsonLines);
  check_with_validator(ExportFormat::kOtlpJsonLines, write_export("standard.otlp.jsonl", text));
  std::istringstream lines(text);
  std::string line;
  size_t n = 0, spans = 0;
  std::set<std::string> traces_seen;
  while (std::getline(lines, line)) {
    const Json req = Json::parse(line);
    REQUIRE(req["resourceSpans"].size() == 1);
    std::set<std::string> ids;
    for (const auto& sp : req["resourceSpans"][0]["scopeSpans"][0]["spans"]) {
      ids.insert(sp["traceId"].get<std::string>());
      ++spans;
    }
    CHECK(ids.size() == 1);
    traces_seen.insert(ids.begin(), ids.end());
    ++n;
  }
  CHECK(n == m.trace_count());
  CHECK(traces_seen.size() == m.trace_count());
  CHECK(spans == m.span_count());
}

TEST_CASE("gzip output is the plain output, compressed", "[export]") {
  const Model& m = *test::standard_db().model;
  const auto traces = all_traces(m);
  const std::string plain = export_string(m, traces, ExportFormat::kOtlpJson);
  StringSink inner;
  auto gz = GzipSink::create(inner);
  REQUIRE(gz.is_ok());
  ExportOptions opt;
  auto r = export_traces(m, traces, opt, **gz);
  REQUIRE(r.is_ok());
  REQUIRE((*gz)->close().is_ok());
  CHECK(inner.str().size() < plain.size() / 4);
  const bool same_bytes = gunzip(inner.str()) == plain;
  CHECK(same_bytes);
  check_with_validator(ExportFormat::kOtlpJson, write_export("standard.otlp.json.gz", inner.str()));
}

TEST_CASE("gzip in blocks: same bytes on one or two threads, any size, any write pattern", "[export]") {
  // Several 1 MiB blocks of JSON-like text with repeats across block boundaries (the primed
  // dictionary matters), written in pieces of odd sizes.
  std::string input;
  std::mt19937_64 rng(17);
  while (input.size() < 5 * 1024 * 1024 + 12345) {
    input += "{\"traceId\":\"" + std::to_string(rng() % 1000) + "\",\"value\":" + std::to_string(rng()) + "},";
    if (rng() % 50 == 0) input += std::string(rng() % 3000, static_cast<char>('a' + rng() % 26));
  }
  // Level 1 is our own deflate (export/fast_deflate), the default; the others are zlib's.
  for (const int level : {1, 6})
  for (const size_t size : {size_t{0}, size_t{1}, size_t{1} << 20, (size_t{1} << 20) + 1, input.size()}) {
    INFO("level " << level << ", input bytes " << size);
    const std::string_view part(input.data(), size);
    std::string out[2];
    for (int threads = 0; threads < 2; ++threads) {
      StringSink inner;
      auto gz = GzipSink::create(inner, level, threads == 1);
      REQUIRE(gz.is_ok());
      size_t at = 0;
      while (at < part.size()) {
        const size_t n = std::min<size_t>(part.size() - at, 1 + rng() % 300000);
        REQUIRE((*gz)->write(part.substr(at, n)).is_ok());
        at += n;
      }
      REQUIRE((*gz)->close().is_ok());
      CHECK((*gz)->bytes_written() == size);
      out[threads] = inner.str();
    }
    const bool same = out[0] == out[1];
    CHECK(same);
    const bool round_trip = gunzip(out[1]) == part;  // inflate also checks the CRC and length
    CHECK(round_trip);
    if (size > 1000) CHECK(out[1].size() < size / 3);
  }
  CHECK_FALSE(GzipSink::create(*std::make_unique<StringSink>(), 10).is_ok());  // levels are 0-9
}

TEST_CASE("error attributes keep the stored status unless asked", "[export]") {
  const auto& db = test::standard_db();
  const Model& m = *db.model;
  const uint32_t t = *m.find_trace(db.summary.special.at("error_attribute"));
  uint32_t failed = UINT32_MAX;
  for (const uint32_t* p = m.trace_spans_begin(t); p != m.trace_spans_end(t); ++p)
    if ((m.spans.flags[*p] & kSpanErrorAttribute) && m.spans.status[*p] == SpanStatus::kOk) failed = *p;
  REQUIRE(failed != UINT32_MAX);
  auto find_span = [&](const Json& doc) {
    for (const auto& sp : doc["resourceSpans"][0]["scopeSpans"][0]["spans"])
      if (sp["spanId"] == m.span_id_hex(failed)) return sp;
    return Json();
  };
  const Json kept = find_span(Json::parse(export_string(m, {t}, ExportFormat::kOtlpJson)));
  CHECK(kept["status"]["code"] == 1);
  CHECK_FALSE(kept["status"].contains("message"));
  const Json as_error = find_span(Json::parse(export_string(m, {t}, ExportFormat::kOtlpJson, nullptr, true)));
  CHECK(as_error["status"]["code"] == 2);
  CHECK(as_error["status"]["message"].is_string());
  CHECK_FALSE(as_error["status"]["message"].get<std::string>().empty());
}

TEST_CASE("selection: days, since/until, ids, limit, filters, conversations", "[export]") {
  const Model& m = *test::standard_db().model;
  TimeNs newest = INT64_MIN;
  for (const auto& t : m.traces) newest = std::max(newest, t.start);
  ExportSelection sel;
  sel.now = newest + 3600LL * 1000000000LL;  // an hour after the newest trace
  sel.days = 1.0 / 24 * 2;                   // the last two hours
  auto r = select_traces(m, sel);
  REQUIRE(r.is_ok());
  CHECK_FALSE(r->empty());
  for (uint32_t t : *r) CHECK(m.traces[t].start >= sel.now - 2 * 3600LL * 1000000000LL);
  size_t expected = 0;
  for (const auto& t : m.traces) expected += t.start >= sel.now - 2 * 3600LL * 1000000000LL ? 1u : 0u;
  CHECK(r->size() == expected);

  ExportSelection lim;
  lim.limit = 5;
  auto five = select_traces(m, lim);
  REQUIRE(five.is_ok());
  REQUIRE(five->size() == 5);
  for (size_t i = 1; i < five->size(); ++i) CHECK(m.traces[(*five)[i - 1]].start >= m.traces[(*five)[i]].start);

  ExportSelection ids;
  ids.trace_ids = {m.traces[3].id, m.traces[7].id};
  auto two = select_traces(m, ids);
  REQUIRE(two.is_ok());
  CHECK(two->size() == 2);
  ids.trace_ids.push_back("ffffffffffffffffffffffffffffffff");
  auto missing = select_traces(m, ids);
  CHECK(missing.status().code() == ErrorCode::kNotFound);

  ExportSelection window;
  window.since = m.traces[0].start;
  window.until = m.traces[0].start + 1;
  auto one = select_traces(m, window);
  REQUIRE(one.is_ok());
  for (uint32_t t : *one) CHECK(m.traces[t].start == m.traces[0].start);

  ExportSelection conv;
  conv.conversations_only = true;
  auto c = select_traces(m, conv);
  REQUIRE(c.is_ok());
  CHECK(c->size() < m.trace_count());
  CHECK(c->size() > m.trace_count() / 2);

  ExportSelection filt;
  filt.filters.push_back({"agent_name", FilterOp::kEq, "weather-bot"});
  auto f = select_traces(m, filt);
  REQUIRE(f.is_ok());
  CHECK_FALSE(f->empty());
}

TEST_CASE("a trace that cannot be read is skipped with its id and reason", "[export]") {
  // Attributes on demand, then one span row disappears from the file behind the model's back.
  const test::Loaded copy = test::on_demand_copy("skip.db");
  const Model& m = *copy.model;
  test::delete_span_row(copy.path, m.spans.rowid[*m.trace_spans_begin(5)]);

  ExportSummary summary;
  const std::string text = export_string(m, all_traces(m), ExportFormat::kOtlpJson, &summary);
  REQUIRE(summary.skipped.size() == 1);
  CHECK(summary.skipped[0].trace_id == m.traces[5].id);
  CHECK_FALSE(summary.skipped[0].reason.empty());
  CHECK(summary.traces == m.trace_count() - 1);
  CHECK(summary.spans == m.span_count() - m.traces[5].span_count);
  CHECK(text.find(m.traces[5].id) == std::string::npos);
  check_with_validator(ExportFormat::kOtlpJson, write_export("skipped.otlp.json", text));
}

TEST_CASE("file output appears only when complete", "[export]") {
  const Model& m = *test::standard_db().model;
  const std::string target = test::temp_dir() + "/out.json";
  {
    auto sink = FileSink::create(target);
    REQUIRE(sink.is_ok());
    ExportOptions opt;
    opt.progress = [](uint64_t done, uint64_t) { return done < 10; };  // cancel part-way
    auto r = export_traces(m, all_traces(m), opt, **sink);
    CHECK(r.status().code() == ErrorCode::kCancelled);
  }
  std::ifstream none(target);
  CHECK_FALSE(none.good());
  size_t partials = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::temp_dir())) {
    if (entry.path().filename().string().find(".partial-") != std::string::npos) ++partials;
  }
  CHECK(partials == 0);

  auto sink = FileSink::create(target);
  REQUIRE(sink.is_ok());
  ExportOptions opt;
  REQUIRE(export_traces(m, all_traces(m), opt, **sink).is_ok());
  REQUIRE((*sink)->commit().is_ok());
  const bool same_bytes = test::read_file(target) == export_string(m, all_traces(m), ExportFormat::kOtlpJson);
  CHECK(same_bytes);

  auto bad_dir = FileSink::create(test::temp_dir() + "/no/such/dir/out.json");
  CHECK(bad_dir.status().code() == ErrorCode::kIoError);
  CHECK(bad_dir.status().message().find("folder does not exist") != std::string::npos);
  auto is_dir = FileSink::create(test::temp_dir());
  CHECK_FALSE(is_dir.is_ok());
}

TEST_CASE("chunked output arrives in bounded pieces", "[export]") {
  const Model& m = *test::standard_db().model;
  std::string joined;
  size_t chunks = 0, largest = 0;
  ChunkSink sink(
      [&](std::string_view c) {
        joined.append(c);
        ++chunks;
        largest = std::max(largest, c.size());
        return Status::ok();
      },
      64 * 1024);
  ExportOptions opt;
  REQUIRE(export_traces(m, all_traces(m), opt, sink).is_ok());
  REQUIRE(sink.close().is_ok());
  CHECK(chunks > 5);
  CHECK(largest < 64 * 1024 + 512 * 1024);  // a chunk is at most the threshold plus one trace
  const bool same_bytes = joined == export_string(m, all_traces(m), ExportFormat::kOtlpJson);
  CHECK(same_bytes);
}

TEST_CASE("golden files: the awkward cases, byte for byte", "[export][golden]") {
  testdata::GenOptions opt;
  opt.traces = testdata::kSpecialTraceCount;
  opt.seed = 20250602;
  auto db = test::generate_and_load(opt, "golden.db");
  const Model& m = *db.model;
  const auto traces = all_traces(m);
  const std::string dir = std::string(TRACEDROP_SOURCE_DIR) + "/tests/golden/";
  struct Case {
    const char* file;
    ExportFormat format;
  };
  for (const Case& c : {Case{"awkward.otlp.json", ExportFormat::kOtlpJson},
                        Case{"awkward.otlp.jsonl", ExportFormat::kOtlpJsonLines},
                        Case{"awkward.jaeger.json", ExportFormat::kJaegerJson}}) {
    const std::string got = export_string(m, traces, c.format);
    const std::string path = dir + c.file;
    if (std::getenv("TRACEDROP_UPDATE_GOLDEN")) {
      std::ofstream(path, std::ios::binary) << got;
    }
    INFO("golden file " << path << " (regenerate with TRACEDROP_UPDATE_GOLDEN=1 after reviewing the change)");
    const bool same_bytes = got == test::read_file(path);  // not printed: the files are large
    CHECK(same_bytes);
    check_with_validator(c.format, path);
  }
}

TEST_CASE("attributes read on demand export the same bytes as attributes in memory", "[export]") {
  const Model& mem = *test::standard_db(false).model;
  const Model& lazy = *test::standard_db(true).model;
  REQUIRE_FALSE(lazy.attributes_in_memory());
  for (const ExportFormat format : {ExportFormat::kOtlpJson, ExportFormat::kOtlpJsonLines, ExportFormat::kJaegerJson}) {
    INFO(export_format_name(format));
    const std::string a = export_string(mem, all_traces(mem), format);
    const std::string b = export_string(lazy, all_traces(lazy), format);
    CHECK(a.size() > 100000);
    const bool same = a == b;
    CHECK(same);
    // A selection in another order (oldest first) reads ahead in that order.
    std::vector<uint32_t> reversed = all_traces(lazy);
    std::reverse(reversed.begin(), reversed.end());
    const bool same_reversed = export_string(mem, reversed, format) == export_string(lazy, reversed, format);
    CHECK(same_reversed);
  }
}

TEST_CASE("rendering on a second thread writes the same bytes as one thread", "[export]") {
  const Model& m = *test::standard_db().model;
  REQUIRE(m.span_count() > 3 * 1024);  // several batches, so both threads render some
  for (const ExportFormat format : {ExportFormat::kOtlpJson, ExportFormat::kOtlpJsonLines, ExportFormat::kJaegerJson}) {
    INFO(export_format_name(format));
    std::vector<uint32_t> traces = all_traces(m);
    for (int round = 0; round < 2; ++round) {
      std::string out[2];
      ExportSummary sums[2];
      uint64_t calls[2] = {0, 0};
      for (int threads = 0; threads < 2; ++threads) {
        StringSink sink;
        ExportOptions opt;
        opt.format = format;
        opt.threads = threads == 1;
        opt.progress = [&, threads](uint64_t done, uint64_t total) {
          ++calls[threads];
          return done <= total;
        };
        auto r = export_traces(m, traces, opt, sink);
        REQUIRE(r.is_ok());
        out[threads] = sink.str();
        sums[threads] = *r;
      }
      CHECK(out[0].size() > 100000);
      const bool same = out[0] == out[1];
      CHECK(same);
      CHECK(sums[0].spans == sums[1].spans);
      CHECK(sums[0].traces == sums[1].traces);
      CHECK(sums[1].spans == m.span_count());
      CHECK(calls[0] == traces.size());
      CHECK(calls[1] == traces.size());
      std::reverse(traces.begin(), traces.end());  // and in another order
    }
  }
  // Cancelled half-way with the helper thread at work: stops cleanly.
  StringSink sink;
  ExportOptions opt;
  opt.progress = [](uint64_t done, uint64_t) { return done < 50; };
  auto r = export_traces(m, all_traces(m), opt, sink);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == ErrorCode::kCancelled);
}

TEST_CASE("strings are copied as stored unless a lone surrogate or a raw non-ASCII byte forces decoding", "[export]") {
  // Each special sequence at every offset around the 16-byte blocks of the fast check.
  struct Case {
    std::string body;  // JSON string body as stored
    bool copied;       // expected: copied as stored (not decoded)
    std::string value; // expected decoded value
  };
  const std::vector<Case> specials = {
      {"\\ud83d\\ude42", true, "\xF0\x9F\x99\x82"},
      {"\\uD83D\\uDE42", true, "\xF0\x9F\x99\x82"},
      {"\\ud83d", false, "\xEF\xBF\xBD"},             // lone high surrogate
      {"\\ude42", false, "\xEF\xBF\xBD"},             // lone low surrogate
      {"\\ud83dx", false, "\xEF\xBF\xBD" "x"},
      {"\\\\ud83d", true, "\\ud83d"},                 // an escaped backslash, then text
      {"\\\\\\ud83d\\ude42", true, "\\\xF0\x9F\x99\x82"},  // an escaped backslash, then a pair
      {"\\\\\\ud83d", false, "\\\xEF\xBF\xBD"},              // an escaped backslash, then a lone one
      {"\\ud7ff", true, "\xED\x9F\xBF"},                       // below the surrogates
      {"\\u05e9", true, "\xD7\xA9"},
      {"\xC3\xBC", false, "\xC3\xBC"},                // raw UTF-8
  };
  for (const Case& c : specials) {
    for (size_t before = 0; before < 40; ++before) {
      const std::string pad(before, 'a');
      const std::string text = "{\"k\":\"" + pad + c.body + "\"}";
      std::vector<AttrEntry> entries;
      REQUIRE(read_attribute_entries(text, entries));
      REQUIRE(entries.size() == 1);
      INFO(text);
      CHECK(entries[0].decoded == !c.copied);
      CHECK(entry_string(entries[0]) == pad + c.value);
    }
  }
}

TEST_CASE("attribute entries: names are views of the text, or decoded when escaped, in a reused vector", "[export]") {
  std::vector<AttrEntry> entries;
  const std::string first =
      "{\"a_name_longer_than_any_short_string\": 1, \"caf\\u00e9\": \"x\", \"dup\": 1, \"dup\": \"last\"}";
  REQUIRE(read_attribute_entries(first, entries));
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].key() == "a_name_longer_than_any_short_string");
  CHECK(entries[0].key().data() >= first.data());
  CHECK(entries[0].key().data() < first.data() + first.size());  // in the text, not a copy
  CHECK(entries[1].key() == "caf\xC3\xA9");                      // decoded
  CHECK(entries[2].key() == "dup");
  CHECK(entry_string(entries[2]) == "last");  // of a repeated name, the last value
  // The same vector read again (as the exporters do span after span): nothing of the first.
  const std::string second = "{\"\\u0041B\": true, \"plain\": null}";
  REQUIRE(read_attribute_entries(second, entries));
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].key() == "AB");
  CHECK(entries[0].kind == AttrEntry::kBool);
  CHECK(entries[1].key() == "plain");
  CHECK(entries[1].kind == AttrEntry::kNull);
  // Entries copied out of the vector keep their names (a decoded one is owned by the entry).
  const std::vector<AttrEntry> copy = entries;
  entries.clear();
  CHECK(copy[0].key() == "AB");
  CHECK(copy[1].key() == "plain");
}
