#include "util/helper_thread.h"

#include "tracedrop/thread_counts.h"

namespace tracedrop {

ThreadCounts helper_thread_counts() {
  const auto& c = HelperThread::counts();
  return {c.started.load(std::memory_order_relaxed), c.refused.load(std::memory_order_relaxed)};
}

}  // namespace tracedrop
