// `tracedrop export`, driven in-process through cli::run(): every produced file goes through
// the shared validators, and its contents (traces, spans, statuses) are checked against the
// model built independently from the same database.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "cli_support.h"
#include "test_support.h"
#include "tracedrop/export.h"

using namespace tracedrop;
using nlohmann::json;

namespace {

const Model& model() { return *test::cli_db().model; }

TimeNs newest_start() {
  TimeNs newest = INT64_MIN;
  for (const auto& t : model().traces) newest = std::max(newest, t.start);
  return newest;
}

cli::CliEnv plain_env() {
  cli::CliEnv env;
  env.now = newest_start() + 3600LL * 1000000000LL;  // an hour after the newest trace
  return env;
}

using test::CliResult;

CliResult run_cli(const std::vector<std::string>& args, const cli::CliEnv& env = plain_env()) {
  return test::run_cli_in(args, env);
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string out_dir() {
  static const std::string dir = [] {
    const std::string d = test::temp_dir() + "/export-out";
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

size_t partial_files(const std::string& dir) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().filename().string().find(".partial-") != std::string::npos) ++n;
  return n;
}

// Runs `tracedrop --db DB export ARGS --json`, requires success and returns the summary.
json export_json(std::vector<std::string> args, const cli::CliEnv& env = plain_env()) {
  args.insert(args.begin(), {"--db", test::cli_db().path, "export"});
  args.push_back("--json");
  const CliResult r = run_cli(args, env);
  INFO(r.err);
  REQUIRE(r.code == 0);
  REQUIRE(json::accept(r.out));
  return json::parse(r.out);
}

// What an export file holds: span count and trace ids per trace (from the document itself).
struct Contents {
  std::map<std::string, size_t> spans_per_trace;
  size_t spans = 0;
  std::vector<json> otlp_spans;  // OTLP only
};

void add_otlp_request(const json& req, Contents& c) {
  for (const auto& rs : req.at("resourceSpans"))
    for (const auto& ss : rs.at("scopeSpans"))
      for (const auto& sp : ss.at("spans")) {
        ++c.spans_per_trace[sp.at("traceId").get<std::string>()];
        ++c.spans;
        c.otlp_spans.push_back(sp);
      }
}

// Reads an export file (gzip when `gzip`), checks it with the validator and returns what it holds.
Contents read_export(const std::string& path, ExportFormat format, bool gzip) {
  INFO("export file " << path);
  REQUIRE(exists(path));
  test::check_with_validator(format, path);
  std::string bytes = test::read_file(path);
  if (gzip) {
    REQUIRE(bytes.size() > 2);
    CHECK(static_cast<unsigned char>(bytes[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(bytes[1]) == 0x8b);
    bytes = test::gunzip(bytes);
  }
  Contents c;
  if (format == ExportFormat::kOtlpJsonLines) {
    std::istringstream lines(bytes);
    std::string line;
    while (std::getline(lines, line)) {
      REQUIRE(json::accept(line));
      const json req = json::parse(line);
      const size_t before = c.spans_per_trace.size();
      add_otlp_request(req, c);
      CHECK(c.spans_per_trace.size() == before + 1);  // one trace per line
    }
  } else {
    REQUIRE(json::accept(bytes));
    const json doc = json::parse(bytes);
    if (format == ExportFormat::kOtlpJson) {
      add_otlp_request(doc, c);
    } else {
      for (const auto& trace : doc.at("data")) {
        const std::string id = trace.at("traceID").get<std::string>();
        c.spans_per_trace[id] += trace.at("spans").size();
        c.spans += trace.at("spans").size();
      }
    }
  }
  return c;
}

// The export id of a model trace (lower case; derived when the stored one is not valid hex).
std::set<std::string> export_ids(const std::vector<uint32_t>& traces) {
  std::set<std::string> ids;
  for (uint32_t t : traces) {
    const TraceInfo& tr = model().traces[t];
    std::string id = tr.bad_id ? hex128(tr.id_hi, tr.id_lo) : tr.id;
    for (char& ch : id) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    ids.insert(id);
  }
  return ids;
}

std::set<std::string> keys(const Contents& c) {
  std::set<std::string> ids;
  for (const auto& kv : c.spans_per_trace) ids.insert(kv.first);
  return ids;
}

std::vector<uint32_t> every_trace() {
  std::vector<uint32_t> all(model().trace_count());
  for (uint32_t t = 0; t < all.size(); ++t) all[t] = t;
  return all;
}

std::vector<uint32_t> newest(size_t n) {
  std::vector<uint32_t> all = every_trace();
  std::stable_sort(all.begin(), all.end(), [](uint32_t a, uint32_t b) {
    const TraceInfo &x = model().traces[a], &y = model().traces[b];
    return x.start != y.start ? x.start > y.start : x.id < y.id;
  });
  all.resize(std::min(n, all.size()));
  return all;
}

}  // namespace

TEST_CASE("export: every format, plain and gzip, valid and holding every span of the model", "[cli][export]") {
  struct Case {
    const char* format;
    ExportFormat id;
    const char* file;
  };
  const Case cases[] = {{"otlp-json", ExportFormat::kOtlpJson, "all.otlp.json"},
                        {"otlp-jsonl", ExportFormat::kOtlpJsonLines, "all.otlp.jsonl"},
                        {"jaeger", ExportFormat::kJaegerJson, "all.jaeger.json"}};
  const Model& m = model();
  const std::set<std::string> all_ids = export_ids(every_trace());
  for (const Case& c : cases) {
    for (const bool gzip : {false, true}) {
      const std::string path = out_dir() + "/" + c.file + (gzip ? ".gz" : "");
      INFO(c.format << (gzip ? " gzip" : " plain"));
      const json summary = export_json({"-o", path, "--format", c.format});
      CHECK(summary["format"] == c.format);
      CHECK(summary["gzip"] == gzip);
      CHECK(summary["path"] == path);
      CHECK(summary["traces"] == m.trace_count());
      CHECK(summary["spans"] == m.span_count());
      CHECK(summary["events"] == m.event_count());
      CHECK(summary["skipped_count"] == 0);
      CHECK(summary["bytes"] == test::read_file(path).size());
      const Contents got = read_export(path, c.id, gzip);
      if (!gzip) CHECK(summary["uncompressed_bytes"] == summary["bytes"]);
      else CHECK(summary["uncompressed_bytes"].get<uint64_t>() > 3 * summary["bytes"].get<uint64_t>());
      CHECK(got.spans == m.span_count());
      CHECK(keys(got) == all_ids);
      for (uint32_t t = 0; t < m.trace_count(); ++t) {
        const auto one = export_ids({t});
        CHECK(got.spans_per_trace.at(*one.begin()) == m.traces[t].span_count);
      }
    }
  }
  CHECK(partial_files(out_dir()) == 0);
}

TEST_CASE("export: a .jsonl name means JSON Lines; the text summary; progress only on a terminal", "[cli][export]") {
  const std::string path = out_dir() + "/inferred.jsonl";
  cli::CliEnv env = plain_env();
  CliResult r = run_cli({"--db", test::cli_db().path, "export", "-o", path}, env);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "Exported " + std::to_string(model().trace_count()) + " traces (" +
                            std::to_string(model().span_count()) + " spans"));
  CHECK(contains(r.out, "otlp-jsonl"));
  CHECK(contains(r.out, "Skipped  none"));
  CHECK_FALSE(contains(r.err, "\r"));  // stderr is not a terminal: no progress bar
  CHECK(read_export(path, ExportFormat::kOtlpJsonLines, false).spans == model().span_count());

  env.err_is_tty = true;
  r = run_cli({"--db", test::cli_db().path, "export", "-o", path}, env);
  REQUIRE(r.code == 0);
  CHECK(contains(r.err, "\rexporting "));
  CHECK(contains(r.err, "100%"));
  CHECK(contains(r.err, "\r\x1b[K"));  // the bar is wiped before the summary
  CHECK_FALSE(contains(r.out, "\r"));
}

TEST_CASE("export selections: --limit, --days, --trace, --since/--until, --conversations, --filter", "[cli][export]") {
  const Model& m = model();
  const std::string path = out_dir() + "/sel.json";
  auto exported = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", path});
    const json summary = export_json(args);
    const Contents c = read_export(path, ExportFormat::kOtlpJson, false);
    CHECK(summary["traces"] == c.spans_per_trace.size());
    CHECK(summary["spans"] == c.spans);
    return keys(c);
  };

  SECTION("--limit: the newest N") { CHECK(exported({"--limit", "5"}) == export_ids(newest(5))); }
  SECTION("--days: started within the last N days before now") {
    const std::string days = "0.083";  // about two hours
    const TimeNs from = plain_env().now - static_cast<TimeNs>(std::stod(days) * 86400e9);
    std::vector<uint32_t> expected;
    for (uint32_t t = 0; t < m.trace_count(); ++t)
      if (m.traces[t].start >= from) expected.push_back(t);
    REQUIRE_FALSE(expected.empty());
    REQUIRE(expected.size() < m.trace_count());
    CHECK(exported({"--days", days}) == export_ids(expected));
  }
  SECTION("--trace: the traces named, by id or unique prefix") {
    const std::string a = m.traces[3].id, b = m.traces[7].id;
    CHECK(exported({"--trace", a, "--trace", b.substr(0, 12)}) == export_ids({3, 7}));
  }
  SECTION("--since/--until: a window of start times") {
    const TimeNs since = m.traces[0].start, until = m.traces[0].start + 1000;  // 1 µs
    std::vector<uint32_t> expected;
    for (uint32_t t = 0; t < m.trace_count(); ++t)
      if (m.traces[t].start >= since && m.traces[t].start < until) expected.push_back(t);
    CHECK(exported({"--since", format_iso_utc(since, 9), "--until", format_iso_utc(until, 9)}) ==
          export_ids(expected));
  }
  SECTION("--conversations: the core's notion, a real subset") {
    ExportSelection sel;
    sel.conversations_only = true;
    auto expected = select_traces(m, sel);
    REQUIRE(expected.is_ok());
    const auto got = exported({"--conversations"});
    CHECK(got == export_ids(*expected));
    CHECK(got.size() < m.trace_count());
    CHECK_FALSE(got.empty());
  }
  SECTION("--filter: both spellings, every exported trace has a matching span") {
    const auto symbol = exported({"--filter", "agent_name=weather-bot"});
    const Contents c = read_export(path, ExportFormat::kOtlpJson, false);
    const auto words = exported({"--filter", "agent_name eq weather-bot"});
    CHECK_FALSE(symbol.empty());
    CHECK(symbol == words);
    CHECK(symbol.size() < m.trace_count());
    std::set<std::string> with_attr;
    for (const auto& sp : c.otlp_spans)
      for (const auto& kv : sp["attributes"])
        if (kv["key"] == "agent_name" && kv["value"].value("stringValue", "") == "weather-bot")
          with_attr.insert(sp["traceId"].get<std::string>());
    CHECK(with_attr == symbol);
    const auto other = exported({"--filter", "agent_name ne weather-bot"});
    for (const auto& id : other) CHECK(symbol.count(id) == 0);
  }
}

TEST_CASE("export accepts the old otel_conversation_exporter.py options", "[cli][export]") {
  const std::string base = out_dir() + "/old-script.json";
  // --db, --output, --format otlp-json, --days, --limit, --compress (adds .gz and says so)
  const CliResult r = run_cli({"--db", test::cli_db().path, "export", "--output", base, "--format", "otlp-json",
                               "--days", "365", "--limit", "3", "--compress"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(contains(r.err, "note: --compress writes gzip, so the file is " + base + ".gz"));
  CHECK_FALSE(exists(base));
  const Contents c = read_export(base + ".gz", ExportFormat::kOtlpJson, true);
  CHECK(keys(c) == export_ids(newest(3)));

  const json jaeger = export_json({"-o", out_dir() + "/old-script.jaeger.json", "--format", "jaeger", "--limit", "2"});
  CHECK(jaeger["traces"] == 2);
  CHECK(keys(read_export(out_dir() + "/old-script.jaeger.json", ExportFormat::kJaegerJson, false)) ==
        export_ids(newest(2)));
  // --output=FILE, and --compress on a name that already ends in .gz keeps the name.
  const json gz = export_json({"--output=" + out_dir() + "/eq.json.gz", "--compress", "--limit", "1"});
  CHECK(gz["path"] == out_dir() + "/eq.json.gz");
  CHECK(read_export(out_dir() + "/eq.json.gz", ExportFormat::kOtlpJson, true).spans_per_trace.size() == 1);
}

TEST_CASE("export --compress-level: 1 (our deflate, the default) and zlib's 2-9 give the same export", "[cli][export]") {
  const std::string plain = out_dir() + "/levels.json";
  export_json({"-o", plain, "--limit", "40"});
  const std::string expected = test::read_file(plain);
  REQUIRE(expected.size() > 10000);
  std::map<int, size_t> sizes;
  for (const int level : {0, 1, 2, 6, 9}) {  // 0: no option given
    const std::string path = out_dir() + "/levels-" + std::to_string(level) + ".json.gz";
    std::vector<std::string> args = {"-o", path, "--limit", "40"};
    if (level) args.insert(args.end(), {"--compress-level", std::to_string(level)});
    const json summary = export_json(args);
    INFO("level " << level);
    const std::string bytes = test::read_file(path);
    CHECK(summary["bytes"] == bytes.size());
    const bool same = test::gunzip(bytes) == expected;
    CHECK(same);
    sizes[level] = bytes.size();
  }
  CHECK(sizes[0] == sizes[1]);  // the default is level 1
  CHECK(sizes[9] < sizes[1]);   // zlib's best is smaller
}

TEST_CASE("export --error-status gives ERROR to spans that only carry an error attribute", "[cli][export]") {
  const Model& m = model();
  const std::string id = test::cli_db().summary.special.at("error_attribute");
  const uint32_t t = *m.find_trace(id);
  std::set<std::string> failed_ok;  // OK status, `error` attribute
  for (const uint32_t* p = m.trace_spans_begin(t); p != m.trace_spans_end(t); ++p)
    if ((m.spans.flags[*p] & kSpanErrorAttribute) && m.spans.status[*p] == SpanStatus::kOk)
      failed_ok.insert(m.span_id_hex(*p));
  REQUIRE_FALSE(failed_ok.empty());
  const std::string path = out_dir() + "/errors.json";
  for (const bool as_error : {false, true}) {
    std::vector<std::string> args = {"-o", path, "--trace", id};
    if (as_error) args.push_back("--error-status");
    export_json(args);
    const Contents c = read_export(path, ExportFormat::kOtlpJson, false);
    size_t seen = 0;
    for (const auto& sp : c.otlp_spans) {
      if (!failed_ok.count(sp["spanId"].get<std::string>())) continue;
      ++seen;
      CHECK(sp["status"]["code"] == (as_error ? 2 : 1));
    }
    CHECK(seen == failed_ok.size());
  }
}

TEST_CASE("export: unwritable output exits 1 saying what is wrong and what to do", "[cli][export]") {
  const std::string db = test::cli_db().path;
  auto fails = [&](const std::string& path) {
    const CliResult r = run_cli({"--db", db, "export", "-o", path});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    return r.err;
  };
  std::string err = fails(out_dir() + "/no/such/folder/x.json");
  CHECK(contains(err, "the folder " + out_dir() + "/no/such/folder does not exist"));
  CHECK(contains(err, "mkdir -p"));
  CHECK_FALSE(exists(out_dir() + "/no"));

  err = fails(out_dir());
  CHECK(contains(err, out_dir() + " is a directory"));
  CHECK(contains(err, "give the name of the file"));

  const std::string plain_file = test::write_file("not-a-folder.txt", "x");
  err = fails(plain_file + "/x.json");
  CHECK(contains(err, "is a file, not a folder"));

  if (geteuid() == 0) {
    WARN("running as root: the no-permission case cannot be made here");
  } else {
    const std::string locked = out_dir() + "/locked";
    std::filesystem::create_directories(locked);
    ::chmod(locked.c_str(), 0500);
    err = fails(locked + "/x.json");
    CHECK(contains(err, "no permission to create files in " + locked));
    ::chmod(locked.c_str(), 0700);
  }
  CHECK(partial_files(out_dir()) == 0);
}

TEST_CASE("export: usage errors exit 2; bad selections exit 1 and write nothing", "[cli][export]") {
  const std::string db = test::cli_db().path;
  const std::string path = out_dir() + "/never.json";
  struct Bad {
    std::vector<std::string> args;
    const char* message;
  };
  const Bad usage[] = {
      {{}, "export needs the file to write: -o FILE"},
      {{"-o", path, "--format", "zipkin"}, "unknown --format 'zipkin'"},
      {{"-o", path, "--days", "soon"}, "option --days needs a number of days > 0"},
      {{"-o", path, "--days", "0"}, "option --days needs a number of days > 0"},
      {{"-o", path, "--limit", "-1"}, "option --limit needs a whole number"},
      {{"-o", path, "--since", "yesterday"}, "invalid --since 'yesterday'"},
      {{"-o", path, "--until", "2999-01-01"}, "invalid --until '2999-01-01'"},  // beyond 64-bit ns
      {{"-o", path, "--filter", "agent_name"}, "invalid --filter 'agent_name'"},
      {{"-o", "-"}, "not to standard output"},
      {{"-o"}, "option --output needs a value (FILE)"},
      {{"-o", path + ".gz", "--compress-level", "0"}, "--compress-level must be 1 (fast, the default) to 9"},
      {{"-o", path + ".gz", "--compress-level", "10"}, "--compress-level must be 1 (fast, the default) to 9"},
      {{"-o", path, "--compress-level", "9"}, "--compress-level applies to gzip output"},
  };
  for (const Bad& b : usage) {
    std::vector<std::string> args = {"--db", db, "export"};
    args.insert(args.end(), b.args.begin(), b.args.end());
    const CliResult r = run_cli(args);
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK(contains(r.err, b.message));
    CHECK(contains(r.err, "Usage: tracedrop export"));
  }
  // An unknown trace id: exit 1, and an existing file under the name is left as it was.
  const std::string kept = test::write_file("kept.json", "previous contents");
  const CliResult r = run_cli({"--db", db, "export", "-o", kept, "--trace", "ffffffffffffffffffffffffffffffff"});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "no trace with id ffffffffffffffffffffffffffffffff"));
  CHECK(test::read_file(kept) == "previous contents");
  // A selection that matches nothing: exit 1, no (empty, invalid) file.
  const CliResult none = run_cli({"--db", db, "export", "-o", path, "--since", "2200-01-01"});
  CHECK(none.code == 1);
  CHECK(contains(none.err, "no trace matches the selection"));
  CHECK(contains(none.err, "nothing was written"));
  CHECK_FALSE(exists(path));
}

namespace {

// A stream buffer that sends SIGINT to the process the first time something is written: the
// progress bar's first redraw stands in for a user pressing Ctrl-C during the export.
class InterruptingBuf : public std::stringbuf {
 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (!raised_ && n > 0 && s[0] == '\r') {
      raised_ = true;
      std::raise(SIGINT);
    }
    return std::stringbuf::xsputn(s, n);
  }

 private:
  bool raised_ = false;
};

}  // namespace

TEST_CASE("export: Ctrl-C stops the export and leaves no file behind", "[cli][export]") {
  const std::string target = test::write_file("interrupted.json", "previous contents");
  cli::CliEnv env = plain_env();
  env.err_is_tty = true;          // the progress bar writes to stderr ...
  env.catch_interrupts = true;    // ... and the export handles SIGINT itself
  struct sigaction before {};
  sigaction(SIGINT, nullptr, &before);
  std::ostringstream out;
  InterruptingBuf err_buf;
  std::ostream err(&err_buf);
  const int code = cli::run({"--db", test::cli_db().path, "export", "-o", target}, out, err, env);
  const std::string err_text = err_buf.str();
  INFO(err_text);
  CHECK(code == 1);
  CHECK(contains(err_text, "export interrupted: " + target + " was not written"));
  CHECK(test::read_file(target) == "previous contents");
  CHECK(partial_files(test::temp_dir()) == 0);
  // The handler was only there during the export: the previous one is back.
  struct sigaction now {};
  sigaction(SIGINT, nullptr, &now);
  CHECK(now.sa_handler == before.sa_handler);
}

TEST_CASE("export help lists every option", "[cli][export]") {
  const CliResult r = run_cli({"export", "--help"});
  REQUIRE(r.code == 0);
  for (const char* option : {"-o, --output FILE", "--format", "--compress", "--compress-level N", "--days", "--since", "--until",
                             "--trace", "--filter", "--conversations", "--limit", "--error-status"})
    CHECK(contains(r.out, option));
  CHECK(contains(run_cli({"--help"}).out, "export"));
}
