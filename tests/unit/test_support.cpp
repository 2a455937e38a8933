#include "test_support.h"

#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace tracedrop::test {
namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string templ = "/tmp/tracedrop-test-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("cannot create a temporary directory");
    path = buf.data();
  }
  ~TempDir() {
    if (!std::getenv("TRACEDROP_KEEP_TEST_FILES")) {
      std::string cmd = "rm -rf '" + path + "'";
      if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path.c_str());
    }
  }
};

}  // namespace

const std::string& temp_dir() {
  static TempDir dir;
  return dir.path;
}

Loaded generate_and_load(const testdata::GenOptions& options, const std::string& name, const LoadOptions& load) {
  Loaded out;
  out.path = temp_dir() + "/" + name;
  std::string error;
  if (!testdata::generate(options, out.path, &out.summary, &error)) {
    throw std::runtime_error("generator failed: " + error);
  }
  auto store = Store::open_path(out.path);
  if (!store.is_ok()) throw std::runtime_error("open failed: " + store.status().message());
  out.store = std::move(store).value();
  auto model = Model::build(*out.store, load);
  if (!model.is_ok()) throw std::runtime_error("model failed: " + model.status().message());
  out.model = std::move(model).value();
  return out;
}

const Loaded& standard_db(bool on_demand) {
  static Loaded in_memory = [] {
    LoadOptions load;
    load.attributes = AttributeStorage::kInMemory;
    return generate_and_load(testdata::GenOptions{}, "standard.db", load);
  }();
  if (!on_demand) return in_memory;
  static Loaded lazy = [] {
    Loaded l;
    l.path = in_memory.path;
    l.summary = in_memory.summary;
    l.store = std::move(Store::open_path(l.path)).value();
    LoadOptions load;
    load.attributes = AttributeStorage::kOnDemand;
    l.model = std::move(Model::build(*l.store, load)).value();
    return l;
  }();
  return lazy;
}

Loaded load_db(const std::string& path, const LoadOptions& options) {
  Loaded out;
  out.path = path;
  auto store = Store::open_path(path);
  INFO(path << ": " << (store.is_ok() ? std::string() : store.status().message()));
  REQUIRE(store.is_ok());
  out.store = std::move(store).value();
  auto model = Model::build(*out.store, options);
  INFO((model.is_ok() ? std::string() : model.status().message()));
  REQUIRE(model.is_ok());
  out.model = std::move(model).value();
  return out;
}

Loaded on_demand_copy(const std::string& name) {
  LoadOptions on_demand;
  on_demand.attributes = AttributeStorage::kOnDemand;
  Loaded out = load_db(write_file(name, read_file(standard_db().path)), on_demand);
  out.summary = standard_db().summary;
  return out;
}

void exec_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO(sql << " -> " << (err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

void delete_span_row(const std::string& path, int64_t rowid) {
  exec_sql(path, "DELETE FROM spans WHERE rowid = " + std::to_string(rowid));
}

std::string shared_fixture() {
  const char* path = TRACEDROP_SHARED_FIXTURE;
  struct stat st {};
  return ::stat(path, &st) == 0 ? std::string(path) : std::string();
}

std::string write_file(const std::string& name, const std::string& bytes) {
  const std::string path = temp_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

const std::string kValidators = std::string(TRACEDROP_SOURCE_DIR) + "/../shared/validators";

// Runs a validator on a file; returns its exit code and keeps its output for the failure message.
int run_validator(const std::string& command, const std::string& file, std::string& output) {
  const std::string log = temp_dir() + "/" + file.substr(file.rfind('/') + 1) + ".validator.txt";
  const int rc = std::system((command + " '" + file + "' > '" + log + "' 2>&1").c_str());
  output = read_file(log);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

bool validators_present() {
  std::ifstream f(kValidators + "/otlp_check.py");
  return f.good();
}

void check_with_validator(ExportFormat format, const std::string& file) {
  if (!validators_present()) {
    WARN("shared validators not present: only the round-trip checks ran for " << file);
    return;
  }
  std::string output;
  const int rc = format == ExportFormat::kJaegerJson
                     ? run_validator("node '" + kValidators + "/jaeger_check.mjs'", file, output)
                     : run_validator("python3 '" + kValidators + "/otlp_check.py'", file, output);
  INFO(output);
  CHECK(rc == 0);
}

std::string gunzip(const std::string& bytes) {
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, 15 + 32) == Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  char buf[65536];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) inflateEnd(&zs);
    REQUIRE((rc == Z_OK || rc == Z_STREAM_END));
    out.append(buf, sizeof buf - zs.avail_out);
  } while (rc != Z_STREAM_END);
  inflateEnd(&zs);
  return out;
}

}  // namespace tracedrop::test
