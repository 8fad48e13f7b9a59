#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace emotune::text {

using SymbolId = std::int32_t;

// BPE merge ranks over interned symbol ids: (left, right) -> (rank, merged symbol).
// apply() repeats HF's step "merge every occurrence of the lowest-ranked adjacent pair, left to
// right, without overlaps" until no pair has a rank.
class BpeMergeTable {
 public:
  struct Merge {
    std::int32_t rank = 0;
    SymbolId result = 0;
  };

  // A later add() of the same pair replaces its rank, as Python's dict(zip(merges, ranks)) does.
  void add(SymbolId left, SymbolId right, std::int32_t rank, SymbolId result) {
    merges_[key(left, right)] = Merge{rank, result};
  }
  void reserve(std::size_t count) { merges_.reserve(count); }
  std::size_t size() const { return merges_.size(); }

  const Merge* find(SymbolId left, SymbolId right) const {
    const auto it = merges_.find(key(left, right));
    return it == merges_.end() ? nullptr : &it->second;
  }

  // Picks the rescanning form for short words and the heap form for long ones.
  void apply(std::vector<SymbolId>& symbols) const {
    if (symbols.size() <= kShortWord) {
      apply_by_rescanning(symbols);
    } else {
      apply_with_heap(symbols);
    }
  }

  // HF's loop as written: O(n) per merge step, fastest for ordinary words.
  void apply_by_rescanning(std::vector<SymbolId>& symbols) const;
  // Same result in O(n log n): a priority queue of (rank, position) over a linked list,
  // drained one rank at a time. A rank names one pair, and a merge never creates a new
  // occurrence of its own pair (the result is longer than either part), so leftmost-first
  // order within a rank reproduces HF's left-to-right, non-overlapping pass.
  void apply_with_heap(std::vector<SymbolId>& symbols) const;

  static constexpr std::size_t kShortWord = 48;

 private:
  static std::uint64_t key(SymbolId left, SymbolId right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
  }
  std::unordered_map<std::uint64_t, Merge> merges_;
};

}  // namespace emotune::text
