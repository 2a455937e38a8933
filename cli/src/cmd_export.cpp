// `tracedrop export`: the selected traces as OTLP JSON, OTLP JSON Lines or Jaeger JSON in a
// file (gzip on request), written through FileSink so only a complete file ever appears under
// the requested name; a progress bar on a terminal, then a summary (text or --json).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "commands.h"
#include "database.h"
#include "tracedrop/export.h"
#include "tracedrop/query.h"

namespace tracedrop::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------- options

struct ExportPlan {
  std::string path;          // the file finally written
  bool gzip = false;
  bool gz_added = false;     // --compress appended ".gz" to the name given
  int gzip_level = 1;        // --compress-level
  ExportOptions options;
  ExportSelection selection;  // trace ids are resolved once the model is loaded
  std::vector<std::string> trace_args;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A time given by the user: an ISO date, or a date and time, with or without an offset
// (without one it is UTC: the user's own clock is not the writer's, and --naive-tz is about
// the stored data).
std::optional<TimeNs> parse_user_time(const std::string& text) {
  // Nanoseconds in 64 bits end in April 2262: later (or very early) years cannot be compared.
  if (text.size() < 4 || text.find_first_not_of("0123456789") < 4) return std::nullopt;
  const int year = std::atoi(text.substr(0, 4).c_str());
  if (year < 1900 || year > 2261) return std::nullopt;
  std::string full = text;
  if (full.size() == 10) full += "T00:00:00";
  auto parsed = parse_timestamp(full, 0);
  if (!parsed) return std::nullopt;
  return parsed->ns;
}

// "KEY=VALUE" (as `list --filter`), or "KEY eq VALUE" with Llama Stack's operator names.
Result<AttributeFilter> parse_export_filter(const std::string& text) {
  const size_t space = text.find(' ');
  if (space != std::string::npos && text.find_first_of("=!<>") > space) {
    const size_t op_start = text.find_first_not_of(' ', space);
    const size_t op_end = op_start == std::string::npos ? std::string::npos : text.find(' ', op_start);
    if (op_end != std::string::npos) {
      if (auto op = parse_filter_op(text.substr(op_start, op_end - op_start))) {
        static const char* const kSymbol[] = {"=", "!=", ">", "<"};
        return parse_filter_expression(text.substr(0, space) + kSymbol[static_cast<int>(*op)] +
                                       text.substr(op_end + 1));
      }
    }
  }
  return parse_filter_expression(text);
}

// Reads the options into a plan; a usage error (exit 2) as text otherwise.
std::optional<std::string> read_options(const Invocation& inv, TimeNs now, ExportPlan& plan) {
  if (!inv.has("--output")) return std::string("export needs the file to write: -o FILE (or --output FILE)");
  plan.path = inv.all("--output").back();
  if (plan.path.empty() || plan.path == "-") {
    return std::string("export writes to a file, not to standard output: give a file name with -o FILE");
  }
  std::optional<ExportFormat> format;
  if (inv.has("--format")) {
    const std::string& name = inv.all("--format").back();
    format = parse_export_format(name);
    if (!format) return "unknown --format '" + name + "': use otlp-json, otlp-jsonl or jaeger";
  }
  plan.gzip = ends_with(plan.path, ".gz");
  if (inv.has("--compress") && !plan.gzip) {
    plan.path += ".gz";
    plan.gzip = plan.gz_added = true;
  } else if (inv.has("--compress")) {
    plan.gzip = true;
  }
  if (inv.has("--compress-level")) {
    const uint64_t level = inv.number("--compress-level", 1);
    if (level < 1 || level > 9) {
      return "--compress-level must be 1 (fast, the default) to 9 (smallest), not " + std::to_string(level);
    }
    if (!plan.gzip) return std::string("--compress-level applies to gzip output: add --compress or name the file .gz");
    plan.gzip_level = static_cast<int>(level);
  }
  const std::string stem = plan.gzip ? plan.path.substr(0, plan.path.size() - 3) : plan.path;
  plan.options.format = format ? *format : ends_with(stem, ".jsonl") ? ExportFormat::kOtlpJsonLines
                                                                     : ExportFormat::kOtlpJson;
  plan.options.error_attribute_as_status = inv.has("--error-status");

  ExportSelection& sel = plan.selection;
  sel.now = now;
  sel.limit = static_cast<size_t>(inv.number("--limit", 0));
  sel.conversations_only = inv.has("--conversations");
  if (inv.has("--days")) {
    const std::string& text = inv.all("--days").back();
    char* end = nullptr;
    const double days = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(days) || days <= 0 || days > 1e6) {
      return "option --days needs a number of days > 0 (such as 7 or 0.5), not '" + text + "'";
    }
    sel.days = days;
  }
  for (const char* option : {"--since", "--until"}) {
    if (!inv.has(option)) continue;
    const std::string& text = inv.all(option).back();
    const auto t = parse_user_time(text);
    if (!t) {
      return std::string("invalid ") + option + " '" + text +
             "': give a date or a time between the years 1900 and 2261, such as 2025-06-02, 2025-06-02T08:00:00 or "
             "2025-06-02T10:00:00+02:00";
    }
    (std::string(option) == "--since" ? sel.since : sel.until) = *t;
  }
  for (const auto& text : inv.all("--filter")) {
    auto filter = parse_export_filter(text);
    if (!filter.is_ok()) return "invalid --filter '" + text + "': " + filter.status().message();
    sel.filters.push_back(std::move(filter).value());
  }
  plan.trace_args = inv.all("--trace");
  return std::nullopt;
}

// ---------------------------------------------------------------------------- the output file

// Checks up front (before the model is built) that the file can be created, so the user
// learns at once what is wrong with the path and what to do.
Status check_output_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status(ErrorCode::kIsDirectory, path + " is a directory: give the name of the file to write, such as -o " +
                                               (ends_with(path, "/") ? path : path + "/") + "traces.json");
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Status(ErrorCode::kFileNotFound, "cannot write " + path + ": the folder " + dir +
                                                  " does not exist. Create it first (mkdir -p " + dir +
                                                  ") or choose another path with -o.");
    }
    return Status(ErrorCode::kIoError, "cannot write " + path + ": " + dir + " cannot be read (" +
                                           std::strerror(errno) + "). Choose another path with -o.");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status(ErrorCode::kIoError,
                  "cannot write " + path + ": " + dir + " is a file, not a folder. Choose another path with -o.");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Status(ErrorCode::kPermissionDenied,
                  "cannot write " + path + ": you have no permission to create files in " + dir +
                      ". Choose a folder you can write to with -o (or change the folder's permissions).");
  }
  return Status::ok();
}

// ---------------------------------------------------------------------------- progress, interrupts

volatile std::sig_atomic_t g_interrupted = 0;

void on_interrupt(int) { g_interrupted = 1; }

// Catches SIGINT and SIGTERM while it lives (when asked), so an interrupted export stops at
// the next trace and its temporary file is removed; the previous handlers come back after.
class InterruptGuard {
 public:
  explicit InterruptGuard(bool enable) : active_(enable) {
    g_interrupted = 0;
    if (!active_) return;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~InterruptGuard() {
    if (!active_) return;
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  bool interrupted() const { return g_interrupted != 0; }

 private:
  bool active_;
  struct sigaction old_int_ {}, old_term_ {};
};

// "exporting  1234/10000 traces  [#####---------------]  12%" redrawn in place on a terminal.
class ProgressBar {
 public:
  ProgressBar(std::ostream& err, bool enabled) : err_(err), enabled_(enabled) {}
  void update(uint64_t done, uint64_t total) {
    if (!enabled_ || total == 0) return;
    const int percent = static_cast<int>(done * 100 / total);
    if (percent == last_percent_ && done != total) return;
    last_percent_ = percent;
    constexpr int kWidth = 24;
    const int filled = percent * kWidth / 100;
    err_ << "\rexporting " << done << '/' << total << " traces  [" << std::string(static_cast<size_t>(filled), '#')
         << std::string(static_cast<size_t>(kWidth - filled), '-') << "] " << percent << '%' << std::flush;
    shown_ = true;
  }
  void clear() {
    if (shown_) err_ << "\r\x1b[K" << std::flush;
    shown_ = false;
  }

 private:
  std::ostream& err_;
  bool enabled_;
  int last_percent_ = -1;
  bool shown_ = false;
};

// ---------------------------------------------------------------------------- summary

struct Outcome {
  ExportSummary summary;
  uint64_t file_bytes = 0;
  size_t selected = 0;
  double load_seconds = 0, export_seconds = 0;
};

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

nlohmann::json summary_json(const ExportPlan& plan, const Outcome& o) {
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& s : o.summary.skipped) skipped.push_back({{"trace_id", s.trace_id}, {"reason", s.reason}});
  return {{"path", plan.path},
          {"format", export_format_name(plan.options.format)},
          {"gzip", plan.gzip},
          {"selected", o.selected},
          {"traces", o.summary.traces},
          {"spans", o.summary.spans},
          {"events", o.summary.events},
          {"bytes", o.file_bytes},
          {"uncompressed_bytes", o.summary.bytes},
          {"load_seconds", o.load_seconds},
          {"export_seconds", o.export_seconds},
          {"skipped_count", o.summary.skipped.size()},
          {"skipped", skipped}};
}

void print_summary(Context& ctx, const ExportPlan& plan, const Outcome& o) {
  const Style& st = ctx.style;
  const ExportSummary& s = o.summary;
  ctx.out << "Exported " << s.traces << " trace" << (s.traces == 1 ? "" : "s") << " (" << s.spans << " spans, "
          << s.events << " events) to " << printable(plan.path) << '\n';
  ctx.out << st.bold(pad("Format", 9)) << export_format_name(plan.options.format) << (plan.gzip ? ", gzip" : "")
          << '\n';
  ctx.out << st.bold(pad("Size", 9)) << format_size(o.file_bytes);
  if (plan.gzip) ctx.out << "; " << format_size(s.bytes) << " uncompressed";
  ctx.out << '\n';
  const double rate = o.export_seconds > 0 ? static_cast<double>(s.spans) / o.export_seconds : 0;
  ctx.out << st.bold(pad("Time", 9)) << fixed(o.export_seconds, 2) << " s export (" << fixed(rate, 0)
          << " spans/s), " << fixed(o.load_seconds, 2) << " s loading the file\n";
  ctx.out << st.bold(pad("Skipped", 9));
  if (s.skipped.empty()) {
    ctx.out << "none\n";
    return;
  }
  ctx.out << st.yellow(std::to_string(s.skipped.size())) << " trace" << (s.skipped.size() == 1 ? "" : "s")
          << " that could not be read:\n";
  for (const auto& k : s.skipped) ctx.out << "  " << printable(k.trace_id) << ": " << printable(k.reason) << '\n';
}

// ---------------------------------------------------------------------------- the run

Result<std::vector<uint32_t>> selected_traces(const OpenDatabase& db, ExportPlan& plan) {
  for (const auto& id : plan.trace_args) {
    auto t = resolve_trace(*db.model, id, db.path);
    if (!t.is_ok()) return t.status();
    plan.selection.trace_ids.push_back(db.model->traces[*t].id);
  }
  auto traces = select_traces(*db.model, plan.selection);
  if (traces.is_ok() && traces->empty()) {
    // An empty file would only puzzle its reader (Jaeger UI refuses one with no trace).
    return Status(ErrorCode::kNotFound,
                  "no trace matches the selection (" + std::to_string(db.model->trace_count()) + " traces in " +
                      db.path + "), so nothing was written. Widen --days, --since/--until or --filter, or drop "
                      "--conversations (`tracedrop list` shows what is there).");
  }
  return traces;
}

// Streams the export into the file; nothing appears under plan.path unless all went well.
Status write_export(Context& ctx, const Model& model, const std::vector<uint32_t>& traces, ExportPlan& plan,
                    Outcome& outcome) {
  auto file = FileSink::create(plan.path);
  if (!file.is_ok()) return Status(file.status().code(), file.status().message() + " Nothing was written.");
  std::unique_ptr<GzipSink> gzip;
  if (plan.gzip) {
    auto gz = GzipSink::create(**file, plan.gzip_level);
    if (!gz.is_ok()) return gz.status();
    gzip = std::move(gz).value();
  }
  Sink& sink = gzip ? static_cast<Sink&>(*gzip) : static_cast<Sink&>(**file);
  InterruptGuard interrupts(ctx.env.catch_interrupts);
  ProgressBar bar(ctx.err, ctx.env.err_is_tty);
  plan.options.progress = [&](uint64_t done, uint64_t total) {
    bar.update(done, total);
    return !interrupts.interrupted();
  };
  auto result = export_traces(model, traces, plan.options, sink);
  bar.clear();
  Status st = result.status();
  if (st.is_ok()) st = sink.close();
  if (st.is_ok()) st = (*file)->commit();
  if (!st.is_ok()) {
    if (st.code() == ErrorCode::kCancelled) {
      return Status(st.code(), "export interrupted: " + plan.path + " was not written (no partial file is left).");
    }
    return Status(st.code(), "export failed: " + st.message() + " " + plan.path + " was not written.");
  }
  outcome.summary = std::move(result).value();
  outcome.file_bytes = (*file)->bytes_written();
  return Status::ok();
}

}  // namespace

int run_export(Context& ctx) {
  ExportPlan plan;
  if (auto error = read_options(ctx.inv, ctx.env.now, plan)) return usage_error(ctx, *error);
  if (Status st = check_output_path(plan.path); !st.is_ok()) return fail(ctx, st);
  if (plan.gz_added) ctx.err << "note: --compress writes gzip, so the file is " << printable(plan.path) << '\n';

  Outcome outcome;
  const auto load_start = SteadyClock::now();
  auto db = open_database(ctx, true);
  if (!db.is_ok()) return fail(ctx, db.status());
  auto traces = selected_traces(*db, plan);
  if (!traces.is_ok()) return fail(ctx, traces.status());
  outcome.selected = traces->size();
  outcome.load_seconds = seconds_since(load_start);

  const auto export_start = SteadyClock::now();
  if (Status st = write_export(ctx, *db->model, *traces, plan, outcome); !st.is_ok()) return fail(ctx, st);
  outcome.export_seconds = seconds_since(export_start);
  if (ctx.inv.json) print_json(ctx, summary_json(plan, outcome));
  else print_summary(ctx, plan, outcome);
  return kExitOk;
}

}  // namespace tracedrop::cli
