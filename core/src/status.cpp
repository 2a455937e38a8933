#include "tracedrop/status.h"

namespace tracedrop {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kFileNotFound: return "file_not_found";
    case ErrorCode::kIsDirectory: return "is_directory";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kEmptyFile: return "empty_file";
    case ErrorCode::kNotSqlite: return "not_sqlite";
    case ErrorCode::kCorrupt: return "corrupt";
    case ErrorCode::kTruncated: return "truncated";
    case ErrorCode::kNotTraceStore: return "not_trace_store";
    case ErrorCode::kIoError: return "io_error";
    case ErrorCode::kTooLarge: return "too_large";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kSqlError: return "sql_error";
    case ErrorCode::kReadOnly: return "read_only";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

}  // namespace tracedrop
