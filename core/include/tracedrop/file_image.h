// The bytes of an open database file as one read-only block of memory: a read-only mapping of
// the file (native) or the image handed to Store::open_bytes (the browser's small-file path).
// The model keeps attribute text as views into it instead of copying it, so it is shared
// between the Store and every Model built from it and lives as long as the last of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace tracedrop {

class FileImage {
 public:
  FileImage(const char* data, size_t size, std::function<void()> release)
      : data_(data), size_(size), release_(std::move(release)) {}
  ~FileImage() {
    if (release_) release_();
  }
  FileImage(const FileImage&) = delete;
  FileImage& operator=(const FileImage&) = delete;

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view bytes() const { return {data_, size_}; }
  // Whether [p, p + n) lies inside the image.
  bool contains(const char* p, size_t n) const {
    const auto a = reinterpret_cast<uintptr_t>(p), b = reinterpret_cast<uintptr_t>(data_);
    return a >= b && a - b <= size_ && n <= size_ - (a - b);
  }

 private:
  const char* data_;
  size_t size_;
  std::function<void()> release_;
};

}  // namespace tracedrop
