#include "database.h"

#include <dirent.h>
#include <sys/stat.h>

#include <vector>

namespace tracedrop::cli {
namespace {

struct Candidate {
  std::string path;
  TimeNs mtime = 0;
};

std::vector<Candidate> default_candidates(const std::string& dir) {
  std::vector<Candidate> found;
  DIR* d = opendir(dir.c_str());
  if (!d) return found;
  while (const dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name + "/trace_store.db";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    found.push_back({path, TimeNs{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec});
  }
  closedir(d);
  return found;
}

// The newest by modification time; ties go to the first name in sort order (stable runs).
Result<DatabaseChoice> find_default_database(const CliEnv& env) {
  if (env.home.empty()) {
    return Status(ErrorCode::kFileNotFound,
                  "no database given and HOME is not set, so ~/.llama/distributions/*/trace_store.db "
                  "cannot be searched: pass --db PATH (or set TRACEDROP_DB).");
  }
  const std::string dir = env.home + "/.llama/distributions";
  const std::vector<Candidate> found = default_candidates(dir);
  if (found.empty()) {
    return Status(ErrorCode::kFileNotFound,
                  "no trace store found: looked for " + dir +
                      "/*/trace_store.db (Llama Stack's default location) and found none. Pass --db "
                      "PATH to name the trace_store.db to read (or set TRACEDROP_DB).");
  }
  const Candidate* best = &found[0];
  for (const auto& c : found) {
    if (c.mtime > best->mtime || (c.mtime == best->mtime && c.path < best->path)) best = &c;
  }
  std::string note = "modified " + format_age(env.now - best->mtime) + " ago";
  if (found.size() > 1) {
    note = "the newest of " + std::to_string(found.size()) + " under " + dir + ", " + note +
           "; pass --db to choose another";
  }
  return DatabaseChoice{best->path, note};
}

}  // namespace

Result<DatabaseChoice> choose_database(const Invocation& inv, const CliEnv& env) {
  if (inv.db) return DatabaseChoice{*inv.db, ""};
  if (!env.tracedrop_db.empty()) return DatabaseChoice{env.tracedrop_db, "from TRACEDROP_DB"};
  return find_default_database(env);
}

Result<OpenDatabase> open_database(Context& ctx, bool build_model) {
  auto choice = choose_database(ctx.inv, ctx.env);
  if (!choice.is_ok()) return choice.status();
  if (!choice->note.empty()) ctx.err << "using " << choice->path << " (" << choice->note << ")\n";
  OpenDatabase db;
  db.path = choice->path;
  auto store = Store::open_path(db.path);
  if (!store.is_ok()) return store.status();
  db.store = std::move(store).value();
  for (const auto& w : db.store->warnings()) ctx.err << "warning: " << w.message << '\n';
  if (!build_model) return db;
  LoadOptions load;
  load.naive_utc_offset_seconds = ctx.naive_utc_offset_seconds;
  auto model = Model::build(*db.store, load);
  if (!model.is_ok()) return model.status();
  db.model = std::move(model).value();
  return db;
}

}  // namespace tracedrop::cli
