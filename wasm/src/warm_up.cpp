#include "warm_up.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "tracedrop/model.h"
#include "tracedrop/store.h"

namespace tracedrop::wasm {
namespace {

// The Llama Stack schema and rows of its usual shapes: spans of a few names under traces,
// nested JSON in escaped strings, non-ASCII escapes, metric events.
constexpr const char* kSchema = R"sql(
CREATE TABLE traces (trace_id TEXT PRIMARY KEY, service_name TEXT, root_span_id TEXT, start_time TIMESTAMP,
  end_time TIMESTAMP, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE spans (span_id TEXT PRIMARY KEY, trace_id TEXT REFERENCES traces(trace_id), parent_span_id TEXT,
  name TEXT, start_time TIMESTAMP, end_time TIMESTAMP, attributes TEXT, status TEXT, kind TEXT);
CREATE TABLE span_events (id INTEGER PRIMARY KEY AUTOINCREMENT, span_id TEXT REFERENCES spans(span_id), name TEXT,
  timestamp TIMESTAMP, attributes TEXT);
)sql";

constexpr const char* kRows = R"sql(
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
INSERT INTO spans SELECT printf('%016x', i * 2654435761 + 1), printf('%032x', i / 8 + 1),
  CASE WHEN i % 8 = 1 THEN NULL ELSE printf('%016x', (i - i % 8 + 1) * 2654435761 + 1) END,
  CASE i % 4 WHEN 0 THEN 'InferenceRouter.chat_completion' WHEN 1 THEN 'Agents.create_agent_turn'
             WHEN 2 THEN 'ToolRuntime.invoke_tool' ELSE 'SafetyRouter.run_shield' END,
  printf('2025-06-02T08:%02d:%02d.%06d+00:00', i / 60 % 60, i % 60, i * 7919 % 1000000),
  printf('2025-06-02T08:%02d:%02d.%06d+00:00', i / 60 % 60, i % 60, (i * 7919 + 5000) % 1000000),
  printf('{"__location__": "server", "request": "{\"messages\": [{\"role\": \"user\", \"content\": \"What is the weather in Z\\u00fcrich on day %d? \\ud83c\\udf24\\n\"}], \"model_id\": \"llama-%d\", \"stream\": false, \"sampling_params\": {\"temperature\": 0.%d}}", "output": "{\"completion_message\": {\"role\": \"assistant\", \"content\": \"%s\", \"stop_reason\": \"end_of_turn\"}}", "error": %s, "__root_span__": %s}',
         i, i % 3, i % 10, substr(replace(hex(zeroblob(40 + i % 300)), '00', 'ab '), 1, 60 + i % 900),
         CASE WHEN i % 17 = 0 THEN '"failed"' ELSE 'null' END, CASE WHEN i % 8 = 1 THEN 'true' ELSE 'false' END),
  CASE WHEN i % 17 = 0 THEN 'ERROR' ELSE 'OK' END, CASE WHEN i % 8 = 1 THEN 'SERVER' ELSE 'INTERNAL' END
FROM n;
INSERT INTO traces(trace_id, service_name, root_span_id, start_time, end_time)
  SELECT trace_id, 'llama-stack', min(span_id), min(start_time), max(end_time) FROM spans GROUP BY trace_id;
INSERT INTO span_events(span_id, name, timestamp, attributes)
  SELECT span_id, 'metric.prompt_tokens', start_time,
         printf('{"value": %d, "unit": "tokens", "model_id": "llama-%d"}', rowid % 500, rowid % 3)
  FROM spans WHERE rowid % 4 = 0;
)sql";

Status sqlite_error(sqlite3* db, const char* what) {
  return Status(ErrorCode::kInternal, std::string("warm-up: ") + what + ": " + sqlite3_errmsg(db));
}

}  // namespace

Result<std::string> warm_up(int spans, int rounds) {
  spans = std::clamp(spans, 16, 200000);
  rounds = std::clamp(rounds, 1, 100);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return Status(ErrorCode::kInternal, "warm-up: no in-memory database");
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> owner(db, sqlite3_close);
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) return sqlite_error(db, "schema");
  sqlite3_stmt* insert = nullptr;
  const char* rest = kRows;
  while (rest && *rest) {
    if (sqlite3_prepare_v2(db, rest, -1, &insert, &rest) != SQLITE_OK) return sqlite_error(db, "rows");
    if (!insert) break;
    if (sqlite3_bind_parameter_count(insert) > 0) sqlite3_bind_int(insert, 1, spans);
    const int rc = sqlite3_step(insert);
    sqlite3_finalize(insert);
    if (rc != SQLITE_DONE) return sqlite_error(db, "rows");
  }
  sqlite3_int64 size = 0;
  unsigned char* image = sqlite3_serialize(db, "main", &size, 0);
  if (!image || size <= 0) return sqlite_error(db, "serialize");
  owner.reset();  // the database's own pages, before the copy
  std::unique_ptr<char[]> bytes(new char[static_cast<size_t>(size)]);
  std::memcpy(bytes.get(), image, static_cast<size_t>(size));
  sqlite3_free(image);
  const char* data = bytes.get();
  const auto total = static_cast<uint64_t>(size);
  auto store = Store::open_bytes(std::move(bytes), static_cast<size_t>(size), "warm-up.db");
  if (!store.is_ok()) return store.status();

  // The bytes path: pages read in place.
  LoadOptions in_place;
  for (int r = 0; r < rounds; ++r) {
    auto a = Model::build(**store, in_place);
    if (!a.is_ok()) return a.status();
  }
  // The large-file path: one pass over slices, attributes on demand.
  LoadOptions one_pass;
  one_pass.direct = false;
  one_pass.attributes = AttributeStorage::kOnDemand;
  one_pass.read_slice_bytes = 1 << 16;
  one_pass.read_file = [data, total](uint64_t offset, size_t n, char* out, std::string&) -> int64_t {
    const size_t got = offset >= total ? 0 : static_cast<size_t>(std::min<uint64_t>(n, total - offset));
    std::memcpy(out, data + offset, got);
    return static_cast<int64_t>(got);
  };
  Result<std::unique_ptr<Model>> b = Status(ErrorCode::kInternal, "warm-up: no round");
  for (int r = 0; r < rounds; ++r) {
    b = Model::build(**store, one_pass);
    if (!b.is_ok()) return b.status();
  }
  const Model& m = **b;
  uint32_t bad = 0, errors = 0;
  for (uint32_t s = 0; s < m.span_count(); ++s) {
    if (m.spans.flags[s] & kSpanBadAttributes) ++bad;
    if (m.spans.flags[s] & kSpanErrorAttribute) ++errors;
  }
  return "{\"spans\":" + std::to_string(m.span_count()) + ",\"events\":" + std::to_string(m.event_count()) +
         ",\"bad_attributes\":" + std::to_string(bad) + ",\"error_attributes\":" + std::to_string(errors) +
         ",\"one_pass\":" + (m.read_in_one_pass() ? "true" : "false") + "}";
}

}  // namespace tracedrop::wasm
