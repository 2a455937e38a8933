#include "store/table_scan.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "store/sqlite_util.h"
#include "text/fold.h"

namespace tracedrop {
namespace {

uint32_t be16(const unsigned char* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// SQLite varint (1-9 bytes, big-endian base 128, the ninth byte whole). False when it would
// run past `end`.
bool get_varint(const unsigned char*& p, const unsigned char* end, uint64_t& out) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    if (p >= end) return false;
    const unsigned char c = *p++;
    v = (v << 7) | (c & 0x7f);
    if (!(c & 0x80)) {
      out = v;
      return true;
    }
  }
  if (p >= end) return false;
  out = (v << 8) | *p++;
  return true;
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (text::ascii_lower(a[i]) != text::ascii_lower(b[i])) return false;
  return true;
}

}  // namespace

std::string_view DirectRow::other_text(int i) const {
  const Field& f = f_[static_cast<size_t>(i)];
  switch (f.type) {
    case SQLITE_TEXT:
    case SQLITE_BLOB:
      return f.in_chain ? std::string_view() : std::string_view(f.p, f.n);
    case SQLITE_INTEGER: {
      std::string& s = number_text_[static_cast<size_t>(i)];
      s = std::to_string(f.i);
      return s;
    }
    case SQLITE_FLOAT:
      unsupported_ = true;
      return {};
    default:
      return {};
  }
}

int64_t DirectRow::int64(int i) const {
  const Field& f = f_[static_cast<size_t>(i)];
  if (f.type == SQLITE_INTEGER) return f.i;
  if (f.type != SQLITE_NULL) unsupported_ = true;  // SQLite's text/real conversions: not here
  return 0;
}

double DirectRow::real(int i) const {
  const Field& f = f_[static_cast<size_t>(i)];
  if (f.type == SQLITE_FLOAT) return f.d;
  if (f.type == SQLITE_INTEGER) return static_cast<double>(f.i);
  if (f.type != SQLITE_NULL) unsupported_ = true;
  return 0;
}

bool resolve_table_layout(sqlite3* db, const std::string& table, const std::vector<std::string>& columns,
                          TableLayout& out, std::string& why) {
  out = TableLayout();
  int64_t root = 0;
  std::string sql;
  Status st = for_each_row(db, "SELECT rootpage, sql FROM sqlite_schema WHERE type='table' AND name='" + table + "'",
                           "schema", [&](sqlite3_stmt* s) {
                             root = sqlite3_column_int64(s, 0);
                             sql = column_text(s, 1);
                             return false;
                           });
  if (!st.is_ok() || root <= 0 || root > int64_t{UINT32_MAX}) {
    why = "no root page for " + table;
    return false;
  }
  // WITHOUT ROWID tables are index B-trees; the page type check would catch them too.
  std::string lower = sql;
  for (char& c : lower) c = text::ascii_lower(c);
  if (lower.find("without") != std::string::npos) {
    why = table + " may be WITHOUT ROWID";
    return false;
  }
  struct Col {
    std::string name, type, dflt;
    bool dflt_null = true;
    int pk = 0, hidden = 0;
  };
  std::vector<Col> cols;
  st = for_each_row(db, "PRAGMA table_xinfo('" + table + "')", "schema", [&](sqlite3_stmt* s) {
    Col c;
    c.name = column_text(s, 1);
    c.type = column_text(s, 2);
    c.dflt_null = sqlite3_column_type(s, 4) == SQLITE_NULL;
    c.pk = sqlite3_column_int(s, 5);
    c.hidden = sqlite3_column_int(s, 6);
    cols.push_back(std::move(c));
    return true;
  });
  if (!st.is_ok() || cols.empty()) {
    why = "no column list for " + table;
    return false;
  }
  int pk_count = 0;
  for (const Col& c : cols) {
    if (c.hidden != 0) {
      why = table + " has hidden or generated columns";
      return false;
    }
    if (c.pk) ++pk_count;
  }
  out.root_page = static_cast<uint32_t>(root);
  out.record_fields = static_cast<int>(cols.size());
  for (size_t i = 0; i < cols.size(); ++i)
    if (cols[i].pk && pk_count == 1 && ieq(cols[i].type, "INTEGER")) out.rowid_alias_field = static_cast<int>(i);
  for (const std::string& name : columns) {
    if (name == "rowid") {
      out.sources.push_back(TableLayout::kRowid);
      out.has_default.push_back(false);
      continue;
    }
    if (name == "NULL") {
      out.sources.push_back(TableLayout::kNull);
      out.has_default.push_back(false);
      continue;
    }
    int found = -1;
    for (size_t i = 0; i < cols.size(); ++i)
      if (ieq(cols[i].name, name)) found = static_cast<int>(i);
    if (found < 0) {
      why = "no column " + name + " in " + table;
      return false;
    }
    // An INTEGER PRIMARY KEY is stored as NULL in the record (its value is the rowid).
    const Col& c = cols[static_cast<size_t>(found)];
    if (c.pk && pk_count == 1 && ieq(c.type, "INTEGER")) {
      why = table + "." + name + " may be the rowid";
      return false;
    }
    // A record written before an ALTER TABLE ADD COLUMN is shorter; the missing value is the
    // column's default, which is only known here when it is NULL: a short record that lacks
    // a column with another default ends the scan (kUnsupported) when it is met.
    out.sources.push_back(found);
    out.has_default.push_back(!cols[static_cast<size_t>(found)].dflt_null);
  }
  return true;
}

namespace {

// Up to three consecutive slices of the file, each a whole number of pages (PageSweep), and
// the pages of the current overflow chain read from the file apart from them (a chain that
// reaches past the slices at hand): a run of up to kRunPages pages where the chain goes on
// from the last run read (chains are mostly consecutive pages), else a single page, so what
// is held stays within the chain's length plus one run.
struct PageWindow {
  uint32_t slice_pages = 0;      // pages per slice
  uint64_t lo = 0, hi = 0;       // slices [lo, hi] are at hand
  const unsigned char* ptr[3] = {nullptr, nullptr, nullptr};  // slice k at ptr[k % 3]
  uint32_t count[3] = {0, 0, 0};  // pages in slice k (the last may be short)

  static constexpr uint32_t kRunPages = 16;
  const PageSweep::ReadFile* read_file = nullptr;  // none: pages not at hand are not read
  struct Run {
    uint32_t first = 0, count = 0;
    std::unique_ptr<unsigned char[]> bytes;
  };
  mutable std::vector<Run> runs;

  // Page n (page_size bytes) read from the file apart from the slices, or nullptr when it
  // cannot be (no reader, a read error, a short read).
  const unsigned char* read_apart(uint32_t n, uint32_t page_size, uint32_t page_count) const {
    for (const Run& r : runs)
      if (n >= r.first && n - r.first < r.count) return r.bytes.get() + uint64_t{n - r.first} * page_size;
    if (!read_file || !*read_file) return nullptr;
    Run r;
    r.first = n;
    const bool goes_on = runs.empty() || n == runs.back().first + runs.back().count;
    r.count = goes_on ? std::min(kRunPages, page_count - n + 1) : 1;
    const size_t bytes = size_t{r.count} * page_size;
    r.bytes.reset(new unsigned char[bytes]);
    std::string error;
    const int64_t got = (*read_file)(uint64_t{n - 1} * page_size, bytes, reinterpret_cast<char*>(r.bytes.get()), error);
    if (got < 0 || static_cast<uint64_t>(got) != bytes) return nullptr;
    runs.push_back(std::move(r));
    return runs.back().bytes.get();
  }
};

// Page size, usable size and page count of an image, and bounds-checked page access. With a
// window, pages are looked up in the slices at hand instead, or read from the file apart
// (nullptr when that fails).
struct PageGeometry {
  const unsigned char* img = nullptr;
  size_t size = 0;
  uint32_t page_size = 0, usable = 0, page_count = 0;
  const PageWindow* window = nullptr;
  bool in_place = true;  // pages stay where they are as long as the image (not so in a window)

  // False (with the reason) for what the direct reader does not read.
  bool init(const FileImage& image, const char*& why) {
    return init(reinterpret_cast<const unsigned char*>(image.data()), image.size(), image.size(), why);
  }
  // `header`: the file's first `header_bytes` bytes (at least its first page); `file_size`
  // bytes in all.
  bool init(const unsigned char* header, size_t header_bytes, uint64_t file_size, const char*& why) {
    img = header;
    size = static_cast<size_t>(std::min<uint64_t>(file_size, SIZE_MAX));
    if (size < 100 || header_bytes < 100) return why = "image smaller than the header", false;
    page_size = be16(img + 16);
    if (page_size == 1) page_size = 65536;
    if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1))) return why = "page size", false;
    usable = page_size - img[20];
    if (usable < 480) return why = "usable page size", false;
    if (be32(img + 56) != 1) return why = "text encoding is not UTF-8", false;
    page_count = static_cast<uint32_t>(std::min<uint64_t>(size / page_size, UINT32_MAX));
    return true;
  }

  const unsigned char* page(uint32_t n) const {
    if (n == 0 || n > page_count) return nullptr;
    if (!window) return img + uint64_t{n - 1} * page_size;
    const uint64_t k = (n - 1) / window->slice_pages;
    const uint32_t i = (n - 1) % window->slice_pages;
    if (k < window->lo || k > window->hi || i >= window->count[k % 3]) return window->read_apart(n, page_size, page_count);
    return window->ptr[k % 3] + uint64_t{i} * page_size;
  }

  // The overflow pages holding the `bytes` of a payload past its part on the page, in order,
  // starting at page `first`. False when the chain is broken or too short.
  bool chain_pages(uint32_t first, uint64_t bytes, std::vector<const unsigned char*>& pages) const {
    pages.clear();
    if (window) window->runs.clear();  // the pages of the chain before are done with
    const uint32_t cap = usable - 4;
    uint32_t next = first;
    while (bytes > 0) {
      const unsigned char* op = page(next);
      if (!op || next == 1 || pages.size() >= page_count) return false;
      pages.push_back(op);
      bytes -= std::min<uint64_t>(bytes, cap);
      next = be32(op);
    }
    return true;
  }

  // Bytes [off, off + len) of a payload whose first `local` bytes are at `local_ptr` and whose
  // rest is on `pages` (chain_pages), appended to `out`.
  void copy_range(const unsigned char* local_ptr, uint32_t local, const std::vector<const unsigned char*>& pages,
                  uint64_t off, uint64_t len, std::string& out) const {
    if (off < local) {
      const uint64_t take = std::min<uint64_t>(len, local - off);
      out.append(reinterpret_cast<const char*>(local_ptr + off), static_cast<size_t>(take));
      off += take;
      len -= take;
    }
    const uint32_t cap = usable - 4;
    while (len > 0) {
      const uint64_t k = (off - local) / cap, start = (off - local) % cap;
      const uint64_t take = std::min<uint64_t>(len, cap - start);
      out.append(reinterpret_cast<const char*>(pages[static_cast<size_t>(k)] + 4 + start), static_cast<size_t>(take));
      off += take;
      len -= take;
    }
  }
};

// One leaf cell: where its payload is, and the offset and length of each record field.
struct Cell {
  uint64_t payload = 0, rowid = 0;
  const unsigned char* local_ptr = nullptr;
  uint32_t local = 0;
  uint32_t first_overflow = 0;  // 0 when the payload is all on the page
  struct Field {
    uint64_t t = 0;
    uint64_t off = 0;  // from the start of the payload
    uint32_t len = 0;
  };
};

// Reads the cell at `p` (on a page ending at `page_end`) and the serial types of its first
// `max_fields` fields, whose header must lie in the part on the page.
const char* parse_cell(const PageGeometry& g, const unsigned char* p, const unsigned char* page_end, Cell& c,
                       std::vector<Cell::Field>& fields, int max_fields, int& nfields) {
  if (!get_varint(p, page_end, c.payload) || !get_varint(p, page_end, c.rowid)) return "cell header";
  if (c.payload > (uint64_t{1} << 31) || c.payload > g.size) return "payload size";
  const uint32_t u = g.usable;
  const uint32_t x = u - 35;
  c.local_ptr = p;
  c.first_overflow = 0;
  if (c.payload > x) {
    const uint32_t m = ((u - 12) * 32 / 255) - 23;
    uint32_t local = m + static_cast<uint32_t>((c.payload - m) % (u - 4));
    if (local > x) local = m;
    if (p + local + 4 > page_end) return "overflow cell";
    c.local = local;
    c.first_overflow = be32(p + local);
    if (c.first_overflow == 0) return "overflow page 0";
  } else {
    if (p + c.payload > page_end) return "cell runs past its page";
    c.local = static_cast<uint32_t>(c.payload);
  }
  const unsigned char* h = p;
  const unsigned char* local_end = p + c.local;
  uint64_t header_size = 0;
  if (!get_varint(h, local_end, header_size) || header_size < 1 || header_size > c.local) return "record header";
  const unsigned char* hend = p + header_size;
  uint64_t off = header_size;
  nfields = 0;
  while (h < hend && nfields < max_fields) {
    uint64_t t = 0;
    if (!get_varint(h, hend, t)) return "serial type";
    uint64_t len = 0;
    if (t <= 4) len = t;
    else if (t == 5) len = 6;
    else if (t == 6 || t == 7) len = 8;
    else if (t == 8 || t == 9) len = 0;
    else if (t == 10 || t == 11) return "reserved serial type";
    else len = (t - 12) / 2;
    if (len > c.payload - off) return "field runs past its record";
    fields[static_cast<size_t>(nfields)] = {t, off, static_cast<uint32_t>(len)};
    off += len;
    ++nfields;
  }
  return nullptr;
}

}  // namespace

bool read_overflow_field(const FileImage& image, uint64_t cell_offset, int field, std::string& out) {
  out.clear();
  PageGeometry g;
  const char* why = nullptr;
  if (!g.init(image, why) || field < 0 || cell_offset >= g.size) return false;
  const uint64_t page_start = cell_offset / g.page_size * g.page_size;
  const unsigned char* page_end = g.img + page_start + g.usable;
  if (cell_offset >= page_start + g.usable || page_start + g.page_size > g.size) return false;
  Cell c;
  std::vector<Cell::Field> fields(static_cast<size_t>(field) + 1);
  int n = 0;
  if (parse_cell(g, g.img + cell_offset, page_end, c, fields, field + 1, n) || n <= field) return false;
  const Cell::Field& f = fields[static_cast<size_t>(field)];
  std::vector<const unsigned char*> pages;
  if (c.first_overflow && !g.chain_pages(c.first_overflow, c.payload - c.local, pages)) return false;
  g.copy_range(c.local_ptr, c.local, pages, f.off, f.len, out);
  return true;
}

class TableScanner {
 public:
  TableScanner(const FileImage& image, const TableLayout& layout, std::string& why)
      : image_(&image), layout_(layout), why_(why) {}
  // Over pages of a geometry set up by the caller (a window of PageSweep).
  TableScanner(const PageGeometry& g, const TableLayout& layout, std::string& why)
      : layout_(layout), why_(why), g_(g) {
    prepare();
  }

  // `part`: only the root's children [first_child, end_child) (the right-most child being
  // number ncells); nullptr for the whole table.
  ScanOutcome run(const std::function<bool(const DirectRow&)>& fn, const TablePart* part = nullptr) {
    const char* bad = nullptr;
    if (!g_.init(*image_, bad)) return fail(bad);
    prepare();

    // Depth-first over the B-tree with an explicit stack: (page, next child to visit).
    struct Frame {
      uint32_t page;
      uint32_t next;
    };
    std::vector<Frame> stack;
    stack.push_back({layout_.root_page, part ? part->first_child : 0});
    uint64_t visited = 0;
    while (!stack.empty()) {
      Frame& fr = stack.back();
      const unsigned char* page = g_.page(fr.page);
      if (!page) return fail("page number out of range");
      const unsigned char* hdr = fr.page == 1 ? page + 100 : page;
      const uint32_t ncells = be16(hdr + 3);
      if (hdr[0] == 0x0d) {  // table leaf
        if (++visited > g_.page_count) return fail("more pages than the file has");
        const ScanOutcome o = leaf_page(fr.page, page, fn);
        if (o != ScanOutcome::kDone) return o;
        stack.pop_back();
        continue;
      }
      if (hdr[0] != 0x05) return fail("not a table B-tree page");
      if ((fr.next == 0 || (part && stack.size() == 1 && fr.next == part->first_child)) && ++visited > g_.page_count)
        return fail("more pages than the file has");
      const unsigned char* ptrs = hdr + 12;
      const auto first_cell = static_cast<uint64_t>(ptrs - page) + 2 * uint64_t{ncells};
      if (first_cell > g_.usable) return fail("cell pointer array");
      uint32_t child = 0;
      if (part && stack.size() == 1 && (fr.next >= part->end_child || (part->claim && !part->claim(fr.next)))) {
        stack.pop_back();
        continue;
      }
      if (fr.next < ncells) {
        const uint32_t off = be16(ptrs + 2 * fr.next);
        if (off < first_cell || off + 4 > g_.usable) return fail("cell offset");
        child = be32(page + off);
      } else if (fr.next == ncells) {
        child = be32(hdr + 8);
      } else {
        stack.pop_back();
        continue;
      }
      ++fr.next;
      if (stack.size() >= 64) return fail("B-tree too deep");
      stack.push_back({child, 0});
    }
    return ScanOutcome::kDone;
  }

  // Every cell of the table leaf page `number` (at `page`), in order.
  ScanOutcome leaf_page(uint32_t number, const unsigned char* page, const std::function<bool(const DirectRow&)>& fn) {
    const unsigned char* hdr = number == 1 ? page + 100 : page;
    const uint32_t ncells = be16(hdr + 3);
    const unsigned char* ptrs = hdr + 8;
    const auto first_cell = static_cast<uint64_t>(ptrs - page) + 2 * uint64_t{ncells};
    if (first_cell > g_.usable) return fail("cell pointer array");
    const uint64_t page_offset = uint64_t{number - 1} * g_.page_size;
    for (uint32_t c = 0; c < ncells; ++c) {
      const uint32_t off = be16(ptrs + 2 * c);
      if (off < first_cell || off >= g_.usable) return fail("cell offset");
      const ScanOutcome o = leaf_cell(page, off, page_offset, fn);
      if (o != ScanOutcome::kDone) return o;
    }
    return ScanOutcome::kDone;
  }

  int64_t last_rowid() const { return row_.rowid_; }

 private:
  void prepare() {
    max_field_ = -1;
    for (int s : layout_.sources) max_field_ = std::max(max_field_, s);
    row_.f_.resize(layout_.sources.size());
    row_.number_text_.resize(layout_.sources.size());
    copies_.resize(layout_.sources.size());
    fields_.resize(static_cast<size_t>(max_field_ + 1));
  }

  ScanOutcome fail(const char* what) {
    why_ = what;
    return ScanOutcome::kUnsupported;
  }

  ScanOutcome leaf_cell(const unsigned char* page, uint32_t off, uint64_t page_offset,
                        const std::function<bool(const DirectRow&)>& fn) {
    Cell c;
    int nfields = 0;
    if (const char* bad = parse_cell(g_, page + off, page + g_.usable, c, fields_, max_field_ + 1, nfields)) return fail(bad);
    // The whole chain must be there (and end where the payload does) before any part of it
    // is handed out: later reads of a lazy value then cannot fail on a sound file.
    chain_.clear();
    if (c.first_overflow && !g_.chain_pages(c.first_overflow, c.payload - c.local, chain_)) return fail("overflow chain");

    row_.rowid_ = static_cast<int64_t>(c.rowid);
    row_.cell_offset_ = page_offset + off;
    row_.unsupported_ = false;
    for (size_t i = 0; i < layout_.sources.size(); ++i) {
      DirectRow::Field& out = row_.f_[i];
      out = DirectRow::Field();
      const int src = layout_.sources[i];
      if (src == TableLayout::kRowid) {
        out.type = SQLITE_INTEGER;
        out.i = row_.rowid_;
        continue;
      }
      if (src >= nfields && layout_.has_default[i]) return fail("a short record lacks a column that has a default value");
      if (src == TableLayout::kNull || src >= nfields) continue;  // short record: NULL default
      const Cell::Field& f = fields_[static_cast<size_t>(src)];
      const uint64_t t = f.t;
      if (t == 0) continue;
      if (t == 8 || t == 9) {
        out.type = SQLITE_INTEGER;
        out.i = static_cast<int64_t>(t - 8);
        continue;
      }
      // Where the value's bytes are: on the page, or (partly) on overflow pages.
      const bool on_page = f.off + f.len <= c.local;
      const bool lazy = !on_page && static_cast<int>(i) == layout_.lazy_column && t >= 12;
      const unsigned char* bytes = nullptr;
      if (on_page) {
        bytes = c.local_ptr + f.off;
      } else if (!lazy) {
        std::string& copy = copies_[i];
        copy.clear();
        g_.copy_range(c.local_ptr, c.local, chain_, f.off, f.len, copy);
        bytes = reinterpret_cast<const unsigned char*>(copy.data());
      }
      if (t <= 6) {
        uint64_t v = (bytes[0] & 0x80) ? ~uint64_t{0} : 0;  // sign extension
        for (uint32_t k = 0; k < f.len; ++k) v = (v << 8) | bytes[k];
        out.type = SQLITE_INTEGER;
        out.i = static_cast<int64_t>(v);
      } else if (t == 7) {
        uint64_t v = 0;
        for (uint32_t k = 0; k < 8; ++k) v = (v << 8) | bytes[k];
        double d;
        std::memcpy(&d, &v, sizeof d);
        if (d != d) continue;  // SQLite reads a stored NaN as NULL
        out.type = SQLITE_FLOAT;
        out.d = d;
      } else {
        out.type = (t & 1) ? SQLITE_TEXT : SQLITE_BLOB;
        out.p = reinterpret_cast<const char*>(bytes);
        out.n = f.len;
        out.in_image = on_page && g_.in_place;
        out.in_chain = lazy;
      }
    }
    const bool more = fn(row_);
    if (row_.unsupported_) return fail("a value SQLite would convert (REAL read as text)");
    return more ? ScanOutcome::kDone : ScanOutcome::kStopped;
  }

  const FileImage* image_ = nullptr;
  const TableLayout& layout_;
  std::string& why_;
  PageGeometry g_;
  int max_field_ = -1;
  std::vector<Cell::Field> fields_;
  std::vector<std::string> copies_;  // per selected column: a value copied off overflow pages
  std::vector<const unsigned char*> chain_;  // the current cell's overflow pages
  DirectRow row_;
};

ScanOutcome scan_table(const FileImage& image, const TableLayout& layout,
                       const std::function<bool(const DirectRow&)>& fn, std::string& why, const TablePart* part) {
  TableScanner scanner(image, layout, why);
  return scanner.run(fn, part);
}

uint32_t root_children(const FileImage& image, const TableLayout& layout) {
  PageGeometry g;
  const char* why = nullptr;
  if (!g.init(image, why)) return 0;
  const unsigned char* page = g.page(layout.root_page);
  if (!page) return 0;
  const unsigned char* hdr = layout.root_page == 1 ? page + 100 : page;
  if (hdr[0] != 0x05) return 0;  // a leaf (or not a table page: the scan itself will say)
  return be16(hdr + 3) + 1u;
}

// ---------------------------------------------------------------- PageSweep

struct PageSweep::Impl {
  struct Entry {
    Table table;
    std::unique_ptr<TableScanner> scanner;
    std::string why;
    std::vector<uint32_t> pages;  // leaf pages read, in the order read
    int64_t last_rowid = 0;
    bool any = false;
  };
  std::vector<Entry> tables;
  uint64_t file_size = 0;
  size_t slice_bytes = 0;
  std::unique_ptr<char[]> buffers[3];
  uint64_t fed = 0;  // slices handed over
  uint64_t fed_bytes = 0;
  PageGeometry g;
  PageWindow window;
  std::unordered_map<uint32_t, std::string> interior;  // table interior pages, by number
  std::vector<uint32_t> empty_leaves;                  // table leaf pages without cells
  std::vector<Cell::Field> fields = std::vector<Cell::Field>(kMaxFields);
  bool failed = false;
  static constexpr int kMaxFields = 64;

  ScanOutcome fail(std::string& why, const std::string& what) {
    failed = true;
    why = what;
    return ScanOutcome::kUnsupported;
  }

  // Reads the leaf pages of slice k (slices k - 1 .. k + 1 at hand, as far as they exist) and
  // keeps its interior pages.
  ScanOutcome read_slice(uint64_t k, std::string& why) {
    window.lo = k > 0 ? k - 1 : 0;
    window.hi = std::min(k + 1, fed - 1);
    const uint32_t first = static_cast<uint32_t>(k * window.slice_pages) + 1;
    for (uint32_t i = 0; i < window.count[k % 3]; ++i) {
      const uint32_t number = first + i;
      if (number == 1) continue;  // the schema's root (and the file header)
      const unsigned char* page = g.page(number);
      if (page[0] == 0x05) {
        interior[number].assign(reinterpret_cast<const char*>(page), g.page_size);
        continue;
      }
      if (page[0] != 0x0d) continue;  // index pages, overflow pages, free pages
      const uint32_t ncells = be16(page + 3);
      if (ncells == 0) {
        empty_leaves.push_back(number);
        continue;
      }
      // Whose page it is, by the field count of its first record.
      const uint32_t off = 8 + 2 * ncells <= g.usable ? be16(page + 8) : 0;
      if (off < 8 + 2 * ncells || off >= g.usable) return fail(why, "page " + std::to_string(number) + ": cell offset");
      Cell c;
      int nfields = 0;
      if (parse_cell(g, page + off, page + g.usable, c, fields, kMaxFields, nfields))
        continue;  // not a record of ours (the tree walk at the end says if it should have been)
      // A rowid alias (INTEGER PRIMARY KEY) is always stored as NULL: that tells span_events
      // from the schema table, which has as many columns.
      Entry* owner = nullptr;
      for (Entry& e : tables) {
        const TableLayout& l = e.table.layout;
        if (l.record_fields == nfields && (l.rowid_alias_field < 0 || fields[static_cast<size_t>(l.rowid_alias_field)].t == 0))
          owner = &e;
      }
      // Not ours, or not in rowid order: left out (if the table's tree holds it after all, the
      // check in finish() says so).
      if (!owner || (owner->any && static_cast<int64_t>(c.rowid) <= owner->last_rowid)) continue;
      const ScanOutcome o = owner->scanner->leaf_page(number, page, owner->table.fn);
      if (o == ScanOutcome::kUnsupported) return fail(why, "page " + std::to_string(number) + ": " + owner->why);
      if (o != ScanOutcome::kDone) return o;
      owner->last_rowid = owner->scanner->last_rowid();
      owner->any = true;
      owner->pages.push_back(number);
    }
    return ScanOutcome::kDone;
  }

  // The leaf pages of the tree at `root`, in order, from the kept interior pages.
  bool tree_leaves(uint32_t root, std::vector<uint32_t>& out) const {
    struct Frame {
      const unsigned char* page;
      uint32_t next;
    };
    std::vector<Frame> stack;
    auto visit = [&](uint32_t number) {
      auto it = interior.find(number);
      if (it == interior.end()) {
        out.push_back(number);
        return;
      }
      stack.push_back({reinterpret_cast<const unsigned char*>(it->second.data()), 0});
    };
    visit(root);
    uint64_t steps = 0;
    while (!stack.empty()) {
      if (++steps > 2 * uint64_t{g.page_count} + 2 || stack.size() > 64) return false;
      Frame& fr = stack.back();
      const uint32_t ncells = be16(fr.page + 3);
      if (12 + 2 * uint64_t{ncells} > g.usable) return false;
      uint32_t child = 0;
      if (fr.next < ncells) {
        const uint32_t off = be16(fr.page + 12 + 2 * fr.next);
        if (off + 4 > g.usable) return false;
        child = be32(fr.page + off);
      } else if (fr.next == ncells) {
        child = be32(fr.page + 8);
      } else {
        stack.pop_back();
        continue;
      }
      ++fr.next;
      visit(child);
    }
    return true;
  }
};

PageSweep::PageSweep(std::vector<Table> tables, uint64_t file_size, size_t slice_bytes) : impl_(new Impl) {
  impl_->file_size = file_size;
  // Whole 64 KiB units (the largest page size), so every slice holds whole pages.
  impl_->slice_bytes = std::max<size_t>(1, slice_bytes >> 16) << 16;
  for (Table& t : tables) {
    Impl::Entry e;
    e.table = std::move(t);
    impl_->tables.push_back(std::move(e));
  }
}

PageSweep::~PageSweep() = default;

size_t PageSweep::slice_bytes() const { return impl_->slice_bytes; }

void PageSweep::set_read_file(const ReadFile* read_file) { impl_->window.read_file = read_file; }

char* PageSweep::buffer() {
  std::unique_ptr<char[]>& b = impl_->buffers[impl_->fed % 3];
  if (!b) b.reset(new char[impl_->slice_bytes]);
  return b.get();
}

ScanOutcome PageSweep::feed(size_t n, std::string& why) {
  Impl& s = *impl_;
  if (s.failed) return ScanOutcome::kUnsupported;
  if (n > s.slice_bytes || n == 0) return s.fail(why, "slice size");
  const auto* data = reinterpret_cast<const unsigned char*>(s.buffers[s.fed % 3].get());
  if (s.fed == 0) {
    const char* bad = nullptr;
    if (!s.g.init(data, n, s.file_size, bad)) return s.fail(why, bad);
    if (s.slice_bytes % s.g.page_size != 0) return s.fail(why, "page size");
    s.g.window = &s.window;
    s.g.in_place = false;
    s.window.slice_pages = static_cast<uint32_t>(s.slice_bytes / s.g.page_size);
    // Two tables of the same width could not be told apart by their records.
    for (size_t i = 0; i < s.tables.size(); ++i) {
      const int w = s.tables[i].table.layout.record_fields;
      if (w <= 0 || w >= Impl::kMaxFields) return s.fail(why, "a table too wide");
      for (size_t j = 0; j < i; ++j)
        if (s.tables[j].table.layout.record_fields == w) return s.fail(why, "two tables of the same width");
    }
    for (Impl::Entry& e : s.tables) e.scanner = std::make_unique<TableScanner>(s.g, e.table.layout, e.why);
  } else if (s.fed_bytes % s.slice_bytes != 0) {
    return s.fail(why, "a short slice before the end");
  }
  s.window.ptr[s.fed % 3] = data;
  s.window.count[s.fed % 3] = static_cast<uint32_t>(n / s.g.page_size);
  ++s.fed;
  s.fed_bytes += n;
  if (s.fed >= 2) return s.read_slice(s.fed - 2, why);
  return ScanOutcome::kDone;
}

ScanOutcome PageSweep::finish(std::string& why) {
  Impl& s = *impl_;
  if (s.failed) return ScanOutcome::kUnsupported;
  if (s.fed == 0) return s.fail(why, "nothing read");
  if (s.fed_bytes < s.file_size) return s.fail(why, "the file was not read to its end");
  const ScanOutcome o = s.read_slice(s.fed - 1, why);
  if (o != ScanOutcome::kDone) return o;
  // Each table's tree must lead to exactly the pages read as its own, in that order (leaves
  // without cells aside): anything else (a free page that looked like a leaf, a page of another
  // table of the same width, rows that came in another order) and the rows are not the table.
  std::sort(s.empty_leaves.begin(), s.empty_leaves.end());
  std::vector<uint32_t> leaves;
  for (Impl::Entry& e : s.tables) {
    leaves.clear();
    if (!s.tree_leaves(e.table.layout.root_page, leaves)) return s.fail(why, "a damaged B-tree");
    size_t j = 0;
    for (uint32_t page : leaves) {
      if (j < e.pages.size() && e.pages[j] == page) {
        ++j;
      } else if (!std::binary_search(s.empty_leaves.begin(), s.empty_leaves.end(), page)) {
        return s.fail(why, "page " + std::to_string(page) + " of the table was not read as its own");
      }
    }
    if (j != e.pages.size()) return s.fail(why, "page " + std::to_string(e.pages[j]) + " read as the table's is not in it");
  }
  return ScanOutcome::kDone;
}

}  // namespace tracedrop
