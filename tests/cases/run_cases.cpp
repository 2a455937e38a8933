// tracedrop-cases: runs the shared behaviour cases (tests/cases/cases.json) on the native core.
//
//   tracedrop-cases --cases tests/cases/cases.json --work DIR
//
// Generates each case's database into DIR/db, resolves every case to concrete arguments
// (DIR/cases.resolved.json, read by the Node runner tests/wasm/run_cases.mjs) and writes each
// answer to DIR/out/<case>.<mode>.txt (plus .export for export bytes), for the modes "bytes"
// (Store::open_bytes) and "vfs" (Store::open_vfs through wasm/src/file_vfs over a POSIX file).
// It also checks, natively, that the answers agree across open_path, bytes and vfs, and that
// the Session's JSON equals the CLI's `--json` output for the same request. Exit 1 on any
// disagreement, with the differing texts named.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "file_vfs.h"
#include "generator.h"
#include "tracedrop/session.h"

namespace {

using Json = nlohmann::json;
using tracedrop::Result;
using tracedrop::Session;
using tracedrop::Status;
namespace td = tracedrop;
namespace tdw = tracedrop::wasm;

// What the harness's file sources say when the file is absent (the Node runner's test source
// throws the same name and message, as a browser's File would throw NotFoundError).
constexpr const char* kMissingDetail = "NotFoundError: the file was not found";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

std::string error_text(const Status& st) {
  return "error " + std::to_string(static_cast<int>(st.code())) + " " + td::error_code_name(st.code()) + "\n" +
         st.message() + "\n";
}

class PosixSource : public tdw::FileSource {
 public:
  explicit PosixSource(std::string path) : path_(std::move(path)) {}
  ~PosixSource() override {
    if (fd_ >= 0) ::close(fd_);
  }
  int64_t read(uint64_t offset, uint32_t len, unsigned char* dest, std::string& error) override {
    if (fd_ < 0) fd_ = ::open(path_.c_str(), O_RDONLY);
    if (fd_ < 0) {
      error = kMissingDetail;
      return -1;
    }
    uint64_t done = 0;
    while (done < len) {
      const ssize_t n = ::pread(fd_, dest + done, len - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        error = "NotReadableError: the file could not be read";
        return -1;
      }
      if (n == 0) break;
      done += static_cast<uint64_t>(n);
    }
    return static_cast<int64_t>(done);
  }

 private:
  std::string path_;
  int fd_ = -1;
};

struct Database {
  std::string name, file;
  bool missing = false, path_differs = false;
  bool warnings_differ = false;  // open warnings (also in stats) name the way it was opened
  td::testdata::GenSummary summary;
  bool generated = false;
};

// ------------------------------------------------------------------ preparing the databases

bool fail(const std::string& message) {
  std::cerr << "tracedrop-cases: " << message << '\n';
  return false;
}

bool generate(const Json& spec, const std::string& path, Database& db) {
  td::testdata::GenOptions options;
  const auto& args = spec["generate"];
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string a = args[i].get<std::string>();
    auto next = [&]() { return args.at(++i).get<std::string>(); };
    if (a == "--traces") options.traces = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--seed") options.seed = std::stoull(next());
    else if (a == "--clean") options.quirks = false;
    else if (a == "--variant") {
      if (!td::testdata::parse_variant(next(), &options.variant)) return fail("unknown variant in " + db.name);
    } else {
      return fail("unknown generator option " + a + " in " + db.name);
    }
  }
  std::string error;
  if (!td::testdata::generate(options, path, &db.summary, &error)) return fail(db.name + ": " + error);
  db.generated = true;
  return true;
}

bool make_sql_db(const Json& statements, const std::string& path) {
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  bool ok = sqlite3_open(path.c_str(), &db) == SQLITE_OK;
  for (const auto& s : statements) {
    ok = ok && sqlite3_exec(db, s.get<std::string>().c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  sqlite3_close(db);
  return ok || fail("cannot write " + path);
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

bool prepare(const Json& specs, const std::string& dir, std::map<std::string, Database>& dbs) {
  // Generated databases first: truncated copies are cut from them.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [name, spec] : specs.items()) {
      const bool derived = spec.contains("truncate");
      if ((pass == 0) == derived) continue;
      Database& db = dbs[name];
      db.name = name;
      db.file = dir + "/" + name + ".db";
      db.path_differs = spec.value("path_differs", false);
      db.warnings_differ = spec.value("warnings_differ", false);
      if (spec.contains("generate")) {
        if (!generate(spec, db.file, db)) return false;
      } else if (spec.contains("text")) {
        if (!write_file(db.file, spec["text"].get<std::string>())) return fail("cannot write " + db.file);
      } else if (spec.contains("hex")) {
        if (!write_file(db.file, from_hex(spec["hex"].get<std::string>()))) return fail("cannot write " + db.file);
      } else if (spec.contains("sql")) {
        if (!make_sql_db(spec["sql"], db.file)) return false;
      } else if (derived) {
        const auto& t = spec["truncate"];
        const std::string whole = read_file(dbs.at(t["of"].get<std::string>()).file);
        if (!write_file(db.file, whole.substr(0, t["bytes"].get<size_t>()))) return fail("cannot write " + db.file);
      } else if (spec.value("missing", false)) {
        db.missing = true;
        std::remove(db.file.c_str());
      } else {
        return fail("database " + name + " has no recipe");
      }
    }
  }
  return true;
}

// ------------------------------------------------------------------ resolving the cases

struct Opened {
  std::unique_ptr<Session> session;
  Status status;
  std::string vfs_name;  // set in vfs mode
};

Result<std::unique_ptr<td::Store>> open_store(const Database& db, const std::string& mode, std::string* vfs_name) {
  const std::string display = db.name + ".db";
  if (mode == "path") return td::Store::open_path(db.file);
  if (mode == "bytes") return td::Store::open_bytes(read_file(db.file), display);
  struct stat st {};
  // A missing file still has the size it had when it was chosen (as a browser File does).
  const uint64_t size = ::stat(db.file.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 4096;
  *vfs_name = tdw::add_file(std::make_shared<PosixSource>(db.file), size);
  return td::Store::open_vfs(*vfs_name, tdw::kFileVfsName, display);
}

// The bridge's rule, repeated: once the file failed to read, that is the answer (even when
// the core completed the request around the unreadable parts).
Status with_file_error(const Status& st, const std::string& vfs_name) {
  if (vfs_name.empty()) return st;
  const std::string problem = tdw::file_error(vfs_name);
  return problem.empty() ? st : Status(td::ErrorCode::kIoError, problem);
}

Opened open_session(const Database& db, const std::string& mode, const std::string& options) {
  Opened o;
  auto load = td::parse_open_options(options);
  if (!load.is_ok()) {
    o.status = load.status();
    return o;
  }
  auto store = open_store(db, mode, &o.vfs_name);
  if (store.is_ok()) {
    auto session = Session::open(std::move(store).value(), *load);
    if (session.is_ok()) o.session = std::move(session).value();
    else o.status = session.status();
  } else {
    o.status = store.status();
  }
  o.status = with_file_error(o.status, o.vfs_name);
  return o;
}

std::string resolve_trace(const Json& ref, const Database& db, Session* default_session) {
  if (ref.is_string()) return ref.get<std::string>();
  if (ref.contains("special")) {
    const auto& special = db.summary.special;
    auto it = special.find(ref["special"].get<std::string>());
    return it == special.end() ? "(no such special trace)" : it->second;
  }
  const Json list = Json::parse(default_session->trace_list("{\"limit\":0}").value());
  return list.at(ref["index"].get<size_t>())["trace_id"].get<std::string>();
}

// The case with every reference replaced by a concrete id and every request as text.
Json resolve(const Json& c, const Database& db, Session* session) {
  Json r = {{"name", c["name"]}, {"db", c["db"]}, {"op", c["op"]}};
  r["modes"] = c.value("modes", Json::array({"bytes", "vfs"}));
  r["open_options"] = c.contains("open_options") ? c["open_options"].dump() : "";
  r["cancel"] = c.value("cancel", false);
  if (c.contains("options_text")) r["options"] = c["options_text"];
  else if (c.contains("options")) r["options"] = c["options"].dump();
  if (c.contains("trace")) r["trace"] = resolve_trace(c["trace"], db, session);
  if (c.contains("span")) {
    const Json& s = c["span"];
    if (s.is_string()) {
      r["span"] = s;
    } else {
      const std::string trace = resolve_trace(s["root_of"], db, session);
      const Json tree = Json::parse(session->trace_tree(trace).value());
      r["span"] = tree["tree"][0]["span_id"];
    }
  }
  for (const char* key : {"text", "statement"}) {
    if (c.contains(key)) r[key] = c[key];
  }
  for (const char* key : {"limit", "max_rows"}) r[key] = c.value(key, 0);
  if (c.contains("request")) {
    Json req = c["request"];
    if (req.contains("trace_ids")) {
      for (auto& id : req["trace_ids"]) id = resolve_trace(id, db, session);
    }
    r["request"] = req.dump();
  }
  return r;
}

// ------------------------------------------------------------------ running

struct Answer {
  std::string text;    // the JSON answer, or the error
  std::string export_bytes;
};

Answer run_op(const Json& c, Opened& o) {
  Answer a;
  if (!o.status.is_ok()) {
    a.text = "open " + error_text(o.status);
    return a;
  }
  Session& s = *o.session;
  const std::string op = c["op"];
  Result<std::string> r = Status(td::ErrorCode::kInternal, "unknown op " + op);
  if (op == "open") r = s.summary();
  else if (op == "stats") r = s.stats();
  else if (op == "list") r = s.trace_list(c.value("options", ""));
  else if (op == "show") r = s.trace_tree(c["trace"].get<std::string>());
  else if (op == "span") r = s.span(c["span"].get<std::string>());
  else if (op == "conversation") r = s.conversation(c["trace"].get<std::string>());
  else if (op == "search") {
    const bool cancel = c["cancel"];
    r = s.search(c["text"].get<std::string>(), c["limit"].get<size_t>(), [cancel](double) { return !cancel; });
  } else if (op == "query_traces") r = s.query_traces(c["request"].get<std::string>());
  else if (op == "query_spans") r = s.query_spans(c["request"].get<std::string>());
  else if (op == "query_metrics") r = s.query_metrics(c["request"].get<std::string>());
  else if (op == "sql") r = s.sql(c["statement"].get<std::string>(), c["max_rows"].get<size_t>());
  else if (op == "export") {
    td::StringSink sink;
    const bool cancel = c["cancel"];
    r = s.export_traces(c["request"].get<std::string>(), sink, [cancel](uint64_t, uint64_t) { return !cancel; });
    a.export_bytes = sink.str();
  }
  const Status st = with_file_error(r.status(), o.vfs_name);
  a.text = st.is_ok() ? r.value() : error_text(st);
  return a;
}

// The `tracedrop` command line equivalent to a case, when there is one (else empty).
std::vector<std::string> cli_args(const Json& c, const std::string& path) {
  const std::string op = c["op"];
  std::vector<std::string> args;
  if (op == "stats") args = {"stats"};
  else if (op == "conversation") args = {"conversation", c["trace"].get<std::string>()};
  else if (op == "search") args = {"search", c["text"].get<std::string>(), "--limit", std::to_string(c["limit"].get<size_t>())};
  else if (op == "sql") args = {"sql", c["statement"].get<std::string>(), "--max-rows", std::to_string(c["max_rows"].get<size_t>())};
  else if (op == "list") {
    const Json options = Json::parse(c.value("options", std::string("{}")), nullptr, false);
    if (options.is_discarded()) return {};
    args = {"list"};
    for (const auto& [key, value] : options.items()) {
      if (key == "limit" || key == "offset") {
        if (!value.is_number_unsigned()) return {};
        args.insert(args.end(), {"--" + key, std::to_string(value.get<uint64_t>())});
      } else if (key == "order_by") {
        for (const auto& f : value) args.insert(args.end(), {"--order-by", f.get<std::string>()});
      } else if (key == "filters") {
        for (const auto& f : value) {
          if (!f.is_string()) return {};
          args.insert(args.end(), {"--filter", f.get<std::string>()});
        }
      }
    }
  } else {
    return {};
  }
  if (c["open_options"] != "" || c["cancel"] == true) return {};
  args.insert(args.end(), {"--json", "--db", path});
  return args;
}

struct Checker {
  int failures = 0;
  void expect_same(const std::string& what, const std::string& a, const std::string& b) {
    if (a == b) return;
    ++failures;
    size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    const size_t from = i > 60 ? i - 60 : 0;
    std::cerr << "MISMATCH " << what << " (first difference at byte " << i << ")\n  one:   "
              << a.substr(from, 160) << "\n  other: " << b.substr(from, 160) << '\n';
  }
};

}  // namespace

int run(int argc, char** argv) {
  std::string cases_path, work;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--cases") cases_path = argv[i + 1];
    else if (a == "--work") work = argv[i + 1];
  }
  if (cases_path.empty() || work.empty()) {
    std::cerr << "usage: tracedrop-cases --cases tests/cases/cases.json --work DIR\n";
    return 2;
  }
  const Json spec = Json::parse(read_file(cases_path), nullptr, false);
  if (spec.is_discarded()) return fail("cannot read " + cases_path), 1;
  ::mkdir(work.c_str(), 0755);
  ::mkdir((work + "/db").c_str(), 0755);
  ::mkdir((work + "/out").c_str(), 0755);
  if (!tdw::register_file_vfs().is_ok()) return 1;

  std::map<std::string, Database> dbs;
  if (!prepare(spec["databases"], work + "/db", dbs)) return 1;

  Checker check;
  Json resolved_cases = Json::array();
  std::map<std::string, std::unique_ptr<Session>> default_sessions;
  for (const Json& c : spec["cases"]) {
    const Database& db = dbs.at(c["db"].get<std::string>());
    Opened base = open_session(db, "bytes", "");
    const Json r = resolve(c, db, base.session.get());
    resolved_cases.push_back(r);
    const std::string name = r["name"];
    std::map<std::string, Answer> answers;
    for (const std::string mode : {"bytes", "vfs", "path"}) {
      const bool wanted = mode == "path" ? !db.missing : r["modes"].dump().find(mode) != std::string::npos;
      if (!wanted) continue;
      Opened o = open_session(db, mode, r["open_options"].get<std::string>());
      answers[mode] = run_op(r, o);
      if (!o.vfs_name.empty()) tdw::remove_file(o.vfs_name);
      if (mode == "path") continue;
      const std::string base_path = work + "/out/" + name + "." + mode;
      write_file(base_path + ".txt", answers[mode].text);
      if (r["op"] == "export") write_file(base_path + ".export", answers[mode].export_bytes);
    }
    // Same answers whichever way the file was opened (the open summary names the way).
    const bool shows_warnings = r["op"] == "open" || (r["op"] == "stats" && db.warnings_differ);
    if (!shows_warnings && answers.count("bytes") && answers.count("vfs")) {
      check.expect_same(name + ": bytes vs vfs", answers["bytes"].text, answers["vfs"].text);
      check.expect_same(name + ": bytes vs vfs export", answers["bytes"].export_bytes, answers["vfs"].export_bytes);
    }
    const bool path_comparable = answers.count("path") && answers.count("bytes") && !db.path_differs &&
                                 !shows_warnings && answers["path"].text.rfind("error", 0) != 0 &&
                                 answers["path"].text.rfind("open error", 0) != 0;
    if (path_comparable) {
      check.expect_same(name + ": path vs bytes", answers["path"].text, answers["bytes"].text);
      check.expect_same(name + ": path vs bytes export", answers["path"].export_bytes, answers["bytes"].export_bytes);
      const std::vector<std::string> args = cli_args(r, db.file);
      if (!args.empty()) {
        std::ostringstream out, err;
        td::cli::CliEnv env;
        const int code = td::cli::run(args, out, err, env);
        if (code != 0) {
          check.expect_same(name + ": CLI exit code", "0", std::to_string(code) + " " + err.str());
        }
        check.expect_same(name + ": CLI --json vs Session", out.str(), answers["path"].text);
      }
    }
  }
  Json manifest = {{"databases", Json::object()}, {"cases", resolved_cases}};
  for (const auto& [name, db] : dbs) {
    manifest["databases"][name] = {{"file", "db/" + name + ".db"}, {"missing", db.missing}};
  }
  write_file(work + "/cases.resolved.json", manifest.dump(1) + "\n");
  std::cout << "tracedrop-cases: " << resolved_cases.size() << " cases written to " << work << "/out";
  if (check.failures) {
    std::cout << "; " << check.failures << " native disagreements\n";
    return 1;
  }
  std::cout << "; native open_path, bytes, vfs and CLI answers agree\n";
  return 0;
}

int main(int argc, char** argv) {
  // A malformed cases.json (a missing field, a wrong type) ends with its reason, not an abort.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "tracedrop-cases: " << e.what() << '\n';
    return 1;
  }
}
