// Shared fixtures for the unit tests: databases made by the project's generator (once per
// process, in a temporary directory) and models built from them.
#pragma once

#include <memory>
#include <string>

#include "generator.h"
#include "tracedrop/export.h"
#include "tracedrop/model.h"
#include "tracedrop/store.h"

namespace tracedrop::test {

struct Loaded {
  std::string path;
  std::unique_ptr<Store> store;
  std::unique_ptr<Model> model;
  testdata::GenSummary summary;
};

// A fresh temporary directory for this test process (removed at exit).
const std::string& temp_dir();

// The standard generated database (200 traces, all quirks, seed 42), loaded once and shared.
// Attributes in memory unless `on_demand`.
const Loaded& standard_db(bool on_demand = false);

// Generates a database with the given options at temp_dir()/name and loads it.
Loaded generate_and_load(const testdata::GenOptions& options, const std::string& name,
                         const LoadOptions& load = {});

// Opens `path` and builds its model (REQUIREs both to succeed).
Loaded load_db(const std::string& path, const LoadOptions& options);

// A private copy of the standard database at temp_dir()/name, loaded with attributes on
// demand: for tests that change the file behind the model's back.
Loaded on_demand_copy(const std::string& name);
// Runs SQL on the database file at `path` with a plain read-write connection (REQUIREs success):
// to make the odd files tests need, or to change a file as another program would.
void exec_sql(const std::string& path, const std::string& sql);
// Deletes the spans row with this rowid from the file at `path`, as another program would.
void delete_span_row(const std::string& path, int64_t rowid);

// Path of the real-world sample next to the repository, or "" when it is absent.
std::string shared_fixture();

// Writes `bytes` to temp_dir()/name and returns the path.
std::string write_file(const std::string& name, const std::string& bytes);
std::string read_file(const std::string& path);

// The strict export checkers in ../shared/validators (otlp_check.py, jaeger_check.mjs), when
// they are beside the repository.
bool validators_present();
// Runs the checker for `format` on `file` (plain, gzip or JSON Lines) and CHECKs that it
// passes, with its output as the failure message; WARNs when the checkers are absent.
void check_with_validator(ExportFormat format, const std::string& file);
// Decompresses gzip (or zlib) bytes; REQUIREs a whole, valid stream.
std::string gunzip(const std::string& bytes);

}  // namespace tracedrop::test
