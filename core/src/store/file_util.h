// Small file-system helpers for opening databases without ever writing to the user's files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tracedrop/status.h"

namespace tracedrop {

struct FileProbe {
  Status status;                     // not found / directory / permission problems
  uint64_t size = 0;
  std::vector<unsigned char> header;  // up to the first 100 bytes
};

// Checks that `path` is a readable regular file and reads its first 100 bytes.
FileProbe probe_file(const std::string& path);
bool path_exists(const std::string& path);
uint64_t file_size_or_zero(const std::string& path);

struct PrivateCopy {
  std::string dir;      // temporary directory holding the copy
  std::string db_path;  // the copied database
};
// Copies `path` and `path + sidecar_suffix` into a new temporary directory.
Result<PrivateCopy> make_private_copy(const std::string& path, const std::string& sidecar_suffix);
void remove_tree(const std::string& dir);

struct VfsHeader {
  uint64_t size = 0;
  std::vector<unsigned char> bytes;  // up to the first 100 bytes
};
// Reads the header of `name` through the named SQLite VFS (the browser's file reader).
Result<VfsHeader> read_header_via_vfs(const std::string& name, const std::string& vfs);

}  // namespace tracedrop
