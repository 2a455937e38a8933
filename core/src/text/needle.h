// A search needle, folded once, that finds itself in plain text and in JSON-escaped text
// (attribute JSON as Python's json.dumps wrote it) without decoding more than it must.
//
// Raw-text prefilter: json.dumps (ensure_ascii) never escapes printable ASCII other than '"'
// and '\\' (JSON also allows "\/"), so a decoded text can only contain such an ASCII run if the
// raw text contains it (ignoring case). A non-ASCII character can only come from its UTF-8
// bytes or its \uXXXX escape (either hex case; a surrogate pair above U+FFFF), for itself or
// for any character folding to it. These necessary conditions are the "groups" below.
//
// Escaped search: occurrences of one group (the anchor) in the raw text mark where a match can
// be. Each is first checked by decoding forward from it (does the text go on as the needle
// does from the anchor?); then a small window around it, starting and ending at escape
// boundaries, is decoded and searched. A 100 KB value with one match costs about a kilobyte
// of decoding. Visiting occurrences in raw order finds the first match: each match holds the
// anchor at its first offset in the needle, as a real token that passes the forward check,
// and the window around any occurrence covers every match holding it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tracedrop::text {

class Needle {
 public:
  explicit Needle(std::string_view text);

  size_t size() const { return folded_.size(); }
  const std::string& folded() const { return folded_; }

  // False only when the decoded form of `raw` (JSON text, or a piece of it) cannot contain
  // the needle.
  bool may_match_raw(std::string_view raw) const;
  // npos when may_match_raw is false; else where the anchor first occurs in `raw`. Every
  // match holds an anchor occurrence, so a part of `raw` ending at or before this holds none.
  size_t first_candidate(std::string_view raw) const;

  // Position of the needle in plain (already decoded) text, or npos.
  size_t find(std::string_view plain);

  // Looks for the needle in the decoded form of `escaped` (a JSON string body, or any JSON
  // value text whose string escapes are to be decoded). On success sets `snippet` (as
  // make_snippet would give on the fully decoded text) and returns true.
  bool find_escaped(std::string_view escaped, std::string& snippet);

 private:
  void build_prefilter();
  void add_group(std::vector<std::string> patterns, size_t offset);
  std::string longest_safe_ascii_run(size_t& pos) const;
  void add_non_ascii_groups();
  bool continues_at(std::string_view escaped, size_t r);
  bool find_in_full_decoding(std::string_view escaped, std::string& snippet);
  bool decode_window(std::string_view escaped, size_t from, size_t to);

  std::string folded_;
  bool ascii_ = true;
  size_t max_raw_len_ = 0;  // raw bytes a match can span at most (12 per code point)
  std::vector<std::vector<std::string>> groups_;  // every group must have a pattern present
  std::vector<size_t> group_offsets_;  // where each group's text first occurs in folded_
  std::string anchor_rest_;            // folded_ from the anchor (group 0) on
  size_t anchor_rest_raw_max_ = 0;     // raw bytes that anchor_rest_ can span at most
  std::string fold_buffer_, decoded_, probe_;
};

}  // namespace tracedrop::text
