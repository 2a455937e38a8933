#include "analysis/critical_path.h"

#include <algorithm>

namespace tracedrop::analysis {
namespace {

// A span to walk, with its window clipped to its parent's.
struct Pending {
  uint32_t span;
  uint32_t depth;
  TimeNs lo, hi;
};

// Chooses the path children among [begin, end) inside the window [lo, hi], latest first.
// Sorting by end (descending) lets one scan do the walk: the cursor only moves back, so a
// child that ends after it now never fits later.
std::vector<uint32_t> choose_children(const Model& m, const uint32_t* begin, const uint32_t* end, TimeNs lo,
                                      TimeNs hi) {
  std::vector<uint32_t> by_end(begin, end);
  std::sort(by_end.begin(), by_end.end(), [&](uint32_t a, uint32_t b) {
    if (m.spans.end[a] != m.spans.end[b]) return m.spans.end[a] > m.spans.end[b];
    return m.spans.start[a] < m.spans.start[b];  // equal ends: the longer one covers more
  });
  std::vector<uint32_t> chosen;
  TimeNs cursor = hi;
  for (uint32_t c : by_end) {
    if (m.spans.end[c] > cursor || m.spans.end[c] < lo) continue;
    chosen.push_back(c);
    cursor = std::max(lo, m.spans.start[c]);
  }
  return chosen;
}

// Walks from the given starting spans (already chosen, latest first) and appends entries.
void walk(const Model& m, std::vector<Pending> stack, std::vector<PathEntry>& out) {
  // Each span is visited at most once in a forest; the bound guards against a linking bug.
  while (!stack.empty() && out.size() <= m.span_count()) {
    const Pending p = stack.back();
    stack.pop_back();
    const std::vector<uint32_t> chosen = choose_children(m, m.children_begin(p.span), m.children_end(p.span), p.lo, p.hi);
    int64_t self = p.hi - p.lo;
    for (uint32_t c : chosen) self -= m.spans.end[c] - std::max(p.lo, m.spans.start[c]);
    out.push_back(PathEntry{p.span, p.depth, std::max<int64_t>(0, self)});
    // Latest pushed first, so the earliest child is walked next (pre-order, time order).
    for (uint32_t c : chosen) stack.push_back(Pending{c, p.depth + 1, std::max(p.lo, m.spans.start[c]), m.spans.end[c]});
  }
}

}  // namespace

std::vector<PathEntry> critical_path(const Model& model, uint32_t root) {
  std::vector<PathEntry> out;
  walk(model, {Pending{root, 0, model.spans.start[root], model.spans.end[root]}}, out);
  return out;
}

std::vector<PathEntry> critical_path_of(const Model& model, const std::vector<uint32_t>& tops, TimeNs lo, TimeNs hi) {
  std::vector<PathEntry> out;
  if (tops.empty() || hi < lo) return out;
  std::vector<Pending> stack;
  for (uint32_t c : choose_children(model, tops.data(), tops.data() + tops.size(), lo, hi)) {
    stack.push_back(Pending{c, 0, std::max(lo, model.spans.start[c]), model.spans.end[c]});
  }
  walk(model, std::move(stack), out);
  return out;
}

int64_t covered_ns(std::vector<std::pair<TimeNs, TimeNs>> intervals, TimeNs lo, TimeNs hi) {
  for (auto& iv : intervals) {
    iv.first = std::max(iv.first, lo);
    iv.second = std::min(iv.second, hi);
  }
  std::sort(intervals.begin(), intervals.end());
  int64_t total = 0;
  TimeNs reached = lo;  // everything before `reached` is counted already
  for (const auto& iv : intervals) {
    const TimeNs from = std::max(iv.first, reached);
    if (iv.second > from) {
      total += iv.second - from;
      reached = iv.second;
    }
  }
  return total;
}

}  // namespace tracedrop::analysis
