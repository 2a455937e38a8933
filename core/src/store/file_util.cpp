#include "store/file_util.h"

#include <dirent.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace tracedrop {
namespace {

struct FileCloser {
  void operator()(FILE* f) const {
    if (f) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

Status copy_file(const std::string& from, const std::string& to) {
  FilePtr in(std::fopen(from.c_str(), "rb"));
  if (!in) return {ErrorCode::kIoError, "cannot read " + from + ": " + std::strerror(errno)};
  FilePtr out(std::fopen(to.c_str(), "wb"));
  if (!out) return {ErrorCode::kIoError, "cannot write a temporary copy at " + to + ": " + std::strerror(errno)};
  std::vector<char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), in.get())) > 0) {
    if (std::fwrite(buf.data(), 1, n, out.get()) != n) {
      return {ErrorCode::kIoError, "cannot write a temporary copy at " + to +
                                       " (disk full?). Free some space in " + to.substr(0, to.rfind('/')) +
                                       " or set TMPDIR."};
    }
  }
  if (std::ferror(in.get())) return {ErrorCode::kIoError, "error while reading " + from};
  return Status::ok();
}

}  // namespace

FileProbe probe_file(const std::string& path) {
  FileProbe probe;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == EACCES) {
      probe.status = {ErrorCode::kPermissionDenied,
                      "Cannot reach " + path + ": permission denied on a folder in its path."};
    } else {
      probe.status = {ErrorCode::kFileNotFound,
                      path + " does not exist. Check the path; Llama Stack writes the file to "
                             "~/.llama/distributions/<name>/trace_store.db."};
    }
    return probe;
  }
  if (S_ISDIR(st.st_mode)) {
    std::string hint = path_exists(path + "/trace_store.db")
                           ? " It contains trace_store.db: open " + path + "/trace_store.db."
                           : " Give the path of the trace_store.db file itself.";
    probe.status = {ErrorCode::kIsDirectory, path + " is a directory, not a database file." + hint};
    return probe;
  }
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    probe.status = {errno == EACCES ? ErrorCode::kPermissionDenied : ErrorCode::kIoError,
                    "Cannot read " + path + ": " + std::strerror(errno) +
                        (errno == EACCES ? ". Check the file's permissions (it only needs to be readable)." : ".")};
    return probe;
  }
  probe.size = static_cast<uint64_t>(st.st_size);
  probe.header.resize(100);
  probe.header.resize(std::fread(probe.header.data(), 1, probe.header.size(), f.get()));
  if (std::ferror(f.get())) {
    probe.status = {ErrorCode::kIoError, "Cannot read " + path + ": " + std::strerror(errno) + "."};
  }
  return probe;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

uint64_t file_size_or_zero(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  return static_cast<uint64_t>(st.st_size);
}

Result<PrivateCopy> make_private_copy(const std::string& path, const std::string& sidecar_suffix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/tracedrop-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) {
    return Status(ErrorCode::kIoError, "cannot create a temporary directory in " + templ.substr(0, templ.rfind('/')) +
                                           ": " + std::strerror(errno) + ". Set TMPDIR to a writable folder.");
  }
  PrivateCopy copy{buf.data(), std::string(buf.data()) + "/trace_store.db"};
  Status st = copy_file(path, copy.db_path);
  if (st.is_ok()) st = copy_file(path + sidecar_suffix, copy.db_path + sidecar_suffix);
  if (!st.is_ok()) {
    remove_tree(copy.dir);
    return st;
  }
  return copy;
}

void remove_tree(const std::string& dir) {
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") ::unlink((dir + "/" + name).c_str());
    }
    ::closedir(d);
  }
  ::rmdir(dir.c_str());
}

Result<VfsHeader> read_header_via_vfs(const std::string& name, const std::string& vfs_name) {
  sqlite3_vfs* vfs = sqlite3_vfs_find(vfs_name.c_str());
  if (!vfs) return Status(ErrorCode::kInternal, "no SQLite VFS named " + vfs_name);
  std::unique_ptr<char[]> mem(new char[static_cast<size_t>(vfs->szOsFile)]());
  auto* file = reinterpret_cast<sqlite3_file*>(mem.get());
  int out_flags = 0;
  int rc = vfs->xOpen(vfs, name.c_str(), file, SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_DB, &out_flags);
  if (rc != SQLITE_OK) {
    return Status(ErrorCode::kIoError, "Cannot read " + name + " (the browser refused access to the file).");
  }
  VfsHeader header;
  sqlite3_int64 size = 0;
  rc = file->pMethods->xFileSize(file, &size);
  if (rc == SQLITE_OK) {
    header.size = static_cast<uint64_t>(size);
    header.bytes.resize(static_cast<size_t>(std::min<sqlite3_int64>(size, 100)));
    if (!header.bytes.empty()) {
      rc = file->pMethods->xRead(file, header.bytes.data(), static_cast<int>(header.bytes.size()), 0);
    }
  }
  file->pMethods->xClose(file);
  if (rc != SQLITE_OK) return Status(ErrorCode::kIoError, "Cannot read " + name + ".");
  return header;
}

}  // namespace tracedrop
