// One function per command; each returns the process exit code.
#pragma once

#include "context.h"

namespace tracedrop::cli {

int run_list(Context& ctx);
int run_show(Context& ctx);
int run_conversation(Context& ctx);
int run_search(Context& ctx);
int run_stats(Context& ctx);
int run_sql(Context& ctx);
int run_check(Context& ctx);
int run_export(Context& ctx);

// Prints the model's diagnostics (code, count, message, examples); nothing when there are none.
void print_diagnostics(Context& ctx, const std::vector<Diagnostic>& diagnostics);

// Resolves a trace id or a unique prefix (>= 6 characters) to a trace index; the error
// says what was looked for, where, and what to do.
Result<uint32_t> resolve_trace(const Model& model, const std::string& id, const std::string& path);

}  // namespace tracedrop::cli
