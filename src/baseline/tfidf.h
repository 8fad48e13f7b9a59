#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace emotune::baseline {

// Rows of a sparse matrix, compressed (CSR); within a row the columns ascend.
struct SparseMatrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<std::size_t> row_offsets;  // rows + 1 entries
  std::vector<std::int64_t> columns;
  std::vector<double> values;

  std::size_t nonzeros() const { return values.size(); }
};

// The products the dual solvers need (defined in linear.cc), all row-major:
// x [rows, cols] times dense [cols, k] -> [rows, k];
std::vector<double> sparse_times_dense(const SparseMatrix& x, const double* dense, std::size_t k);
// xᵀ times dense [rows, k] -> [cols, k];
std::vector<double> sparse_transpose_times_dense(const SparseMatrix& x, const double* dense,
                                                 std::size_t k);
// X Xᵀ -> [rows, rows].
std::vector<double> gram_matrix(const SparseMatrix& x);

// scikit-learn's default analyzer: Python's str.lower(), then the maximal runs of at least two
// word characters (Unicode letters, numbers, '_'), i.e. the token_pattern (?u)\b\w\w+\b.
// Throws Error on invalid UTF-8.
std::vector<std::string> word_tokens(std::string_view text, bool lowercase = true);

struct TfidfOptions {
  std::size_t min_n = 1;  // n-gram range over word_tokens, words joined by one space
  std::size_t max_n = 2;
  std::size_t min_df = 2;  // keep terms found in at least this many training documents
  bool lowercase = true;
  bool sublinear_tf = true;  // tf -> 1 + ln(tf)
  // Character n-grams instead of word n-grams, as scikit-learn's analyzer="char_wb" over the
  // word tokens: each token padded with one space each side, n-grams of its code points
  // (min_n..max_n).
  bool characters = false;
};

// TfidfVectorizer(ngram_range=(min_n, max_n), min_df=min_df, sublinear_tf=..., smooth_idf=True,
// norm="l2"): idf(t) = ln((1 + n) / (1 + df(t))) + 1 from the fitted documents, features in
// the sorted order of the terms, rows scaled to unit Euclidean length (all-zero rows stay 0).
class TfidfVectorizer {
 public:
  explicit TfidfVectorizer(TfidfOptions options = {});

  // Learns the vocabulary and idf from `documents` and returns their matrix. Throws Error when
  // no term reaches min_df.
  SparseMatrix fit_transform(const std::vector<std::string>& documents);
  // Terms not in the fitted vocabulary are ignored.
  SparseMatrix transform(const std::vector<std::string>& documents) const;

  // A vectorizer fitted before (terms sorted as fit_transform leaves them, one idf each).
  static TfidfVectorizer from_vocabulary(TfidfOptions options, std::vector<std::string> terms,
                                         std::vector<double> idf);

  const std::vector<std::string>& terms() const { return terms_; }
  const std::vector<double>& idf() const { return idf_; }
  const TfidfOptions& options() const { return options_; }

 private:
  std::vector<std::string> ngrams(std::string_view document) const;
  // ngrams() of documents[d], with errors naming the document (1-based).
  std::vector<std::string> document_ngrams(const std::vector<std::string>& documents,
                                           std::size_t d) const;

  TfidfOptions options_;
  std::vector<std::string> terms_;
  std::map<std::string, std::int64_t, std::less<>> index_;
  std::vector<double> idf_;
};

}  // namespace emotune::baseline
