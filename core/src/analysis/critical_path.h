// Timing helpers of the conversation analysis: the critical path through a span tree, and the
// time covered by a set of intervals.
//
// Critical path: the chain of work that decided when the trace ended. Start at a span with the
// cursor at its end; repeatedly choose the child that ends last at or before the cursor and
// move the cursor to that child's start; stop when no child is left. The time of the span not
// covered by its chosen children is its self time; then do the same inside each chosen child.
// Children overlapping a chosen child (parallel work that finished earlier) are off the path.
// Children are clipped to their parent's window, so the self times along the path add up to
// the duration of the span we started from. Iterative (explicit stack), O(n log n).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "tracedrop/model.h"

namespace tracedrop::analysis {

struct PathEntry {
  uint32_t span = 0;
  uint32_t depth = 0;   // 0 for the span the walk started from (or a top-level span)
  int64_t self_ns = 0;  // time on the path inside this span not covered by a chosen child
};

// The critical path under `root`, in pre-order: each span before its path children, siblings
// in time order (so entry starts never decrease).
std::vector<PathEntry> critical_path(const Model& model, uint32_t root);

// The same walk over `tops` as the children of a virtual span covering [lo, hi] (a trace
// without a root). The virtual span is not an entry; the chosen tops have depth 0.
std::vector<PathEntry> critical_path_of(const Model& model, const std::vector<uint32_t>& tops, TimeNs lo, TimeNs hi);

// Total length of the union of the intervals, each clipped to [lo, hi].
int64_t covered_ns(std::vector<std::pair<TimeNs, TimeNs>> intervals, TimeNs lo, TimeNs hi);

}  // namespace tracedrop::analysis
