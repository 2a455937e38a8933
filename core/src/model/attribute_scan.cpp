#include "model/attribute_scan.h"

#include <utility>

#include "json/json_scan.h"
#include "store/table_scan.h"
#include "tracedrop/model.h"

namespace tracedrop {
namespace {
// A batch is handed over once it holds this much text: big enough that hand-overs cost
// nothing, small enough that the last one (checked after the scan ends) is short.
constexpr uint64_t kBatchBytes = 4u << 20;
// Without a helper thread a batch is checked by the scanning thread as soon as it is full:
// small enough that the text just read is still in the core's cache.
constexpr uint64_t kInlineBatchBytes = 128u << 10;
// Batches queued at most: the scan waits rather than copying ahead without bound.
constexpr size_t kMaxInFlight = 4;
}  // namespace

uint32_t attribute_flags(std::string_view text) {
  if (text.empty()) return 0;
  uint32_t flags = 0;
  const json::ScanResult r = json::scan_object(text, [&](const json::Member& mem) {
    if (mem.key_escaped) return true;
    if (mem.key == "error") {
      const bool empty = mem.type == json::ValueType::kNull || mem.type == json::ValueType::kFalse ||
                         (mem.type == json::ValueType::kString && mem.value.size() == 2);
      if (!empty) flags |= kSpanErrorAttribute;
    } else if (mem.key == "__root_span__" || mem.key == "__local_root_span__" || mem.key == "__root__") {
      if (mem.type == json::ValueType::kTrue) flags |= kSpanMarkedRoot;
    }
    return true;
  });
  if (!r.valid || !r.is_object) flags |= kSpanBadAttributes;
  if (r.has_non_finite) flags |= kSpanNonJsonNumber;
  return flags;
}

AttributeScanner::AttributeScanner(const std::string* arena, bool use_thread)
    : arena_(arena), open_(new Batch()) {
  // Without a helper thread each batch is checked in place.
  worker_.start(use_thread, [this] { worker_loop(); });
}

AttributeScanner::~AttributeScanner() { worker_.stop(mu_, cv_, stop_); }

void AttributeScanner::open_batch(Where where) {
  if (!open_->items.empty() && open_->where != where) submit();
  open_->where = where;
}

void AttributeScanner::added(uint32_t len) {
  open_bytes_ += len;
  if (open_bytes_ >= (worker_.running() ? kBatchBytes : kInlineBatchBytes)) submit();
}

void AttributeScanner::add_in_arena(uint32_t span, uint64_t offset, uint32_t len) {
  if (len == 0) return;
  open_batch(Where::kArena);
  open_->items.push_back({span, len, offset});
  added(len);
}

void AttributeScanner::add_copy(uint32_t span, std::string_view text) {
  if (text.empty()) return;
  if (!worker_.running()) {
    // Nobody to hand it to: checked now, while it is in cache, instead of copied for later.
    if (const uint32_t f = attribute_flags(text)) checked_now_.emplace_back(span, f);
    return;
  }
  open_batch(Where::kCopy);
  open_->items.push_back({span, static_cast<uint32_t>(text.size()), open_->bytes.size()});
  open_->bytes.append(text.data(), text.size());
  added(static_cast<uint32_t>(text.size()));
}

void AttributeScanner::add_in_place(uint32_t span, std::string_view text) {
  if (text.empty()) return;
  open_batch(Where::kInPlace);
  open_->items.push_back({span, static_cast<uint32_t>(text.size()), reinterpret_cast<uintptr_t>(text.data())});
  added(static_cast<uint32_t>(text.size()));
}

void AttributeScanner::add_in_chain(uint32_t span, uint64_t cell_offset, uint32_t len) {
  if (len == 0) return;
  open_batch(Where::kInChain);
  open_->items.push_back({span, len, cell_offset});
  added(len);
}

void AttributeScanner::check(Batch& b) const {
  const char* base = b.where == Where::kArena ? b.base : b.where == Where::kCopy ? b.bytes.data() : nullptr;
  b.flags.resize(b.items.size());
  if (b.where == Where::kInChain) {
    std::string text;
    for (size_t i = 0; i < b.items.size(); ++i) {
      const bool read = read_overflow_field(*image_, b.items[i].offset, field_, text) && text.size() == b.items[i].len;
      b.flags[i] = read ? attribute_flags(text) : kSpanBadAttributes;
    }
    return;
  }
  for (size_t i = 0; i < b.items.size(); ++i) {
    const Item& it = b.items[i];
    const char* p = base ? base + it.offset : reinterpret_cast<const char*>(static_cast<uintptr_t>(it.offset));
    b.flags[i] = attribute_flags(std::string_view(p, it.len));
  }
  std::string().swap(b.bytes);  // the copy is not needed once checked
}

void AttributeScanner::submit() {
  open_bytes_ = 0;
  if (open_->items.empty()) return;
  std::unique_ptr<Batch> b = std::move(open_);
  open_.reset(new Batch());
  // Taken here, on the scanning thread: the worker never touches the arena string itself.
  if (b->where == Where::kArena) b->base = arena_->data();
  if (worker_.running()) {
    std::unique_lock<std::mutex> lock(mu_);
    // While the worker is behind, the scanning thread checks batches itself instead of
    // waiting: both cores check text and neither waits for the other.
    if (in_flight_ < kMaxInFlight) {
      ++in_flight_;
      queue_.push_back(std::move(b));
      cv_.notify_all();
      return;
    }
  }
  check(*b);
  std::lock_guard<std::mutex> lock(mu_);
  done_.push_back(std::move(b));
}

void AttributeScanner::worker_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left
    std::unique_ptr<Batch> b = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    check(*b);
    lock.lock();
    done_.push_back(std::move(b));
    --in_flight_;
    cv_.notify_all();
  }
}

void AttributeScanner::wait() {
  if (!worker_.running()) return;
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return in_flight_ == 0; });
}

void AttributeScanner::finish(std::vector<uint32_t>& flags) {
  submit();
  if (worker_.running()) {
    // Help with what is still queued, then wait for the batch the worker is on.
    for (;;) {
      std::unique_ptr<Batch> b;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.empty()) break;
        b = std::move(queue_.back());
        queue_.pop_back();
      }
      check(*b);
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(std::move(b));
      --in_flight_;
      cv_.notify_all();
    }
  }
  wait();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& b : done_)
    for (size_t i = 0; i < b->items.size(); ++i) flags[b->items[i].span] |= b->flags[i];
  done_.clear();
  for (const auto& [span, f] : checked_now_) flags[span] |= f;
  checked_now_.clear();
}

}  // namespace tracedrop
