// What every command receives: the parsed command line, the streams, the environment, and
// the helpers for the shared ways of answering (JSON, errors).
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "args.h"
#include "cli.h"
#include "text.h"
#include "tracedrop/model.h"
#include "tracedrop/status.h"
#include "tracedrop/store.h"

namespace tracedrop::cli {

struct Context {
  const Invocation& inv;
  std::ostream& out;
  std::ostream& err;
  const CliEnv& env;
  Style style;                      // colours for `out` (off for JSON)
  int64_t naive_utc_offset_seconds = 0;
};

// An open trace store and, unless only SQL is needed, its model.
struct OpenDatabase {
  std::string path;
  std::unique_ptr<Store> store;
  std::unique_ptr<Model> model;
};

// "tracedrop: <message>" on err; returns kExitFailure.
int fail(Context& ctx, const Status& status);
int fail(Context& ctx, const std::string& message);
// A bad option value found after parsing: message plus the command's usage on err; kExitUsage.
int usage_error(Context& ctx, const std::string& message);
// Pretty JSON (2-space indent) on out; invalid UTF-8 in stored text is replaced, never thrown.
void print_json(Context& ctx, const nlohmann::json& value);

}  // namespace tracedrop::cli
