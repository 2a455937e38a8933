// Which trace_store.db to read (--db, $TRACEDROP_DB, or the newest one under
// ~/.llama/distributions), and opening it: store warnings go to stderr as "warning: ...".
#pragma once

#include "context.h"

namespace tracedrop::cli {

struct DatabaseChoice {
  std::string path;
  std::string note;  // why this file ("" when given with --db)
};

// Result of the search for the default database (exposed for tests and `check`).
Result<DatabaseChoice> choose_database(const Invocation& inv, const CliEnv& env);

// Chooses, opens and (when build_model) loads the database, telling the user on err which
// file was picked and what the store warns about.
Result<OpenDatabase> open_database(Context& ctx, bool build_model);

}  // namespace tracedrop::cli
