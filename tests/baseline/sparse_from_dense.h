#pragma once

// Small dense test matrices in the CSR form the baseline solvers take.

#include <cstdint>
#include <vector>

#include "baseline/tfidf.h"

namespace emotune::baseline::testing {

inline SparseMatrix from_dense(const std::vector<std::vector<double>>& rows) {
  SparseMatrix m;
  m.rows = rows.size();
  m.cols = rows.front().size();
  m.row_offsets.push_back(0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (row[c] != 0) {
        m.columns.push_back(static_cast<std::int64_t>(c));
        m.values.push_back(row[c]);
      }
    }
    m.row_offsets.push_back(m.values.size());
  }
  return m;
}

}  // namespace emotune::baseline::testing
