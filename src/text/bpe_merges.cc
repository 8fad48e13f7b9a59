#include "text/bpe_merges.h"

#include <functional>
#include <queue>
#include <tuple>

namespace emotune::text {

void BpeMergeTable::apply_by_rescanning(std::vector<SymbolId>& symbols) const {
  while (symbols.size() > 1) {
    const Merge* best = nullptr;
    SymbolId best_left = 0;
    SymbolId best_right = 0;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
      const Merge* merge = find(symbols[i], symbols[i + 1]);
      if (merge != nullptr && (best == nullptr || merge->rank < best->rank)) {
        best = merge;
        best_left = symbols[i];
        best_right = symbols[i + 1];
      }
    }
    if (best == nullptr) return;
    std::size_t out = 0;
    for (std::size_t i = 0; i < symbols.size();) {
      if (i + 1 < symbols.size() && symbols[i] == best_left && symbols[i + 1] == best_right) {
        symbols[out++] = best->result;
        i += 2;
      } else {
        symbols[out++] = symbols[i++];
      }
    }
    symbols.resize(out);
  }
}

void BpeMergeTable::apply_with_heap(std::vector<SymbolId>& symbols) const {
  const auto n = static_cast<std::int64_t>(symbols.size());
  if (n < 2) return;
  constexpr std::int64_t kNone = -1;
  std::vector<std::int64_t> prev(static_cast<std::size_t>(n));
  std::vector<std::int64_t> next(static_cast<std::size_t>(n));
  std::vector<bool> alive(static_cast<std::size_t>(n), true);
  for (std::int64_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : kNone;
  }
  // (rank, position of the left symbol, left, right); smallest rank, then leftmost, first.
  using Candidate = std::tuple<std::int32_t, std::int64_t, SymbolId, SymbolId>;
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto push = [&](std::int64_t left) {
    if (left == kNone || next[left] == kNone) return;
    const SymbolId a = symbols[left];
    const SymbolId b = symbols[next[left]];
    if (const Merge* merge = find(a, b)) queue.emplace(merge->rank, left, a, b);
  };
  for (std::int64_t i = 0; i + 1 < n; ++i) push(i);
  std::vector<std::int64_t> merged_at;
  while (!queue.empty()) {
    // One HF pass: every valid occurrence of the pair with this rank, leftmost first. Pairs
    // the pass creates are queued only after it, as HF looks at them in its next step.
    const auto pass_rank = std::get<0>(queue.top());
    merged_at.clear();
    while (!queue.empty() && std::get<0>(queue.top()) == pass_rank) {
      const auto [rank, left, a, b] = queue.top();
      queue.pop();
      const auto right = next[left];
      // Skip entries made stale by earlier merges (or by an overlapping one in this pass).
      if (!alive[left] || right == kNone || symbols[left] != a || symbols[right] != b) continue;
      symbols[left] = find(a, b)->result;
      alive[right] = false;
      next[left] = next[right];
      if (next[right] != kNone) prev[next[right]] = left;
      merged_at.push_back(left);
    }
    for (const auto position : merged_at) {
      push(prev[position]);
      push(position);
    }
  }
  std::size_t out = 0;
  for (std::int64_t i = 0; i != kNone; i = next[i]) symbols[out++] = symbols[i];
  symbols.resize(out);
}

}  // namespace emotune::text
