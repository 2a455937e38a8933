// Errors as values: every fallible call in the core returns a Status or a Result<T>.
// Codes are stable (tests, CLI exit codes and the browser worker rely on them).
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace tracedrop {

enum class ErrorCode : int {
  kOk = 0,
  // Opening a file.
  kFileNotFound = 10,
  kIsDirectory = 11,
  kPermissionDenied = 12,
  kEmptyFile = 13,
  kNotSqlite = 14,
  kCorrupt = 15,
  kTruncated = 16,
  kNotTraceStore = 17,
  kIoError = 18,
  kTooLarge = 19,
  // Requests.
  kInvalidArgument = 30,
  kNotFound = 31,
  kSqlError = 32,
  kReadOnly = 33,
  kCancelled = 34,
  kInternal = 40,
};

// A stable short name for the code ("file_not_found", ...), used in JSON output.
const char* error_code_name(ErrorCode code);

class Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool is_ok() const { return status_.is_ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

#define TRACEDROP_RETURN_IF_ERROR(expr)         \
  do {                                          \
    ::tracedrop::Status _st = (expr);           \
    if (!_st.is_ok()) return _st;               \
  } while (0)

}  // namespace tracedrop
