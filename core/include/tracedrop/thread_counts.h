// How many helper threads the core has started (and been refused) in this process: the model
// build, the exporters and gzip each run part of their work on a second thread where they can
// (natively, and in the threaded WebAssembly module). Diagnostics for tests and benchmarks.
#pragma once

#include <cstdint>

namespace tracedrop {

struct ThreadCounts {
  uint64_t started = 0;  // threads started
  uint64_t refused = 0;  // threads wanted that could not be created (the work ran on the caller's)
};

ThreadCounts helper_thread_counts();

}  // namespace tracedrop
