#include "baseline/tfidf.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <utf8proc.h>

#include "common/error.h"
#include "text/unicode.h"

namespace emotune::baseline {
namespace {

bool is_word_character(utf8proc_int32_t cp) {
  if (cp == '_') return true;
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::vector<std::string> word_tokens(std::string_view text, bool lowercase) {
  std::vector<std::string> tokens;
  std::string current;
  std::size_t current_length = 0;
  auto finish = [&] {
    if (current_length >= 2) tokens.push_back(current);
    current.clear();
    current_length = 0;
  };
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  std::size_t pos = 0;
  while (pos < text.size()) {
    utf8proc_int32_t cp = 0;
    const auto length =
        utf8proc_iterate(bytes + pos, static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
    if (length < 0) throw Error(fmt::format("invalid UTF-8 at byte {}", pos));
    pos += static_cast<std::size_t>(length);
    // Lower-casing comes first (as str.lower() before the regex); it never changes whether a
    // character is a word character, but it can lengthen one (İ -> i̇).
    std::string lowered;
    if (lowercase) {
      text::append_python_lower(static_cast<char32_t>(cp), lowered);
    } else {
      text::append_utf8(static_cast<char32_t>(cp), lowered);
    }
    const auto* lowered_bytes = reinterpret_cast<const utf8proc_uint8_t*>(lowered.data());
    for (std::size_t i = 0; i < lowered.size();) {
      utf8proc_int32_t piece = 0;
      const auto n = utf8proc_iterate(lowered_bytes + i,
                                      static_cast<utf8proc_ssize_t>(lowered.size() - i), &piece);
      if (is_word_character(piece)) {
        current.append(lowered, i, static_cast<std::size_t>(n));
        ++current_length;
      } else {
        finish();
      }
      i += static_cast<std::size_t>(n);
    }
  }
  finish();
  return tokens;
}

TfidfVectorizer::TfidfVectorizer(TfidfOptions options) : options_(options) {
  if (options_.min_n < 1 || options_.max_n < options_.min_n)
    throw Error(fmt::format("tf-idf: bad n-gram range ({}, {})", options_.min_n, options_.max_n));
}

TfidfVectorizer TfidfVectorizer::from_vocabulary(TfidfOptions options,
                                                 std::vector<std::string> terms,
                                                 std::vector<double> idf) {
  if (terms.empty() || terms.size() != idf.size()) {
    throw Error(fmt::format("tf-idf: {} terms and {} idf values (expected as many, at least one)",
                            terms.size(), idf.size()));
  }
  TfidfVectorizer vectorizer(options);
  vectorizer.terms_ = std::move(terms);
  vectorizer.idf_ = std::move(idf);
  for (std::size_t t = 0; t < vectorizer.terms_.size(); ++t) {
    if (!vectorizer.index_.emplace(vectorizer.terms_[t], static_cast<std::int64_t>(t)).second)
      throw Error(fmt::format("tf-idf: term '{}' is repeated", vectorizer.terms_[t]));
  }
  return vectorizer;
}

std::vector<std::string> TfidfVectorizer::ngrams(std::string_view document) const {
  const auto words = word_tokens(document, options_.lowercase);
  std::vector<std::string> grams;
  if (options_.characters) {
    for (const auto& word : words) {
      // Code point boundaries of " word ".
      const std::string padded = " " + word + " ";
      std::vector<std::size_t> starts;
      const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(padded.data());
      for (std::size_t i = 0; i < padded.size();) {
        starts.push_back(i);
        utf8proc_int32_t piece = 0;
        const auto n = utf8proc_iterate(bytes + i,
                                        static_cast<utf8proc_ssize_t>(padded.size() - i), &piece);
        i += static_cast<std::size_t>(n > 0 ? n : 1);
      }
      starts.push_back(padded.size());
      const std::size_t length = starts.size() - 1;
      for (std::size_t n = options_.min_n; n <= options_.max_n; ++n) {
        for (std::size_t start = 0; start + n <= length; ++start)
          grams.push_back(padded.substr(starts[start], starts[start + n] - starts[start]));
        if (n >= length) break;  // scikit-learn's char_wb: a short word gives itself once
      }
    }
    return grams;
  }
  for (std::size_t n = options_.min_n; n <= options_.max_n; ++n) {
    for (std::size_t start = 0; start + n <= words.size(); ++start) {
      std::string gram = words[start];
      for (std::size_t k = 1; k < n; ++k) {
        gram += ' ';
        gram += words[start + k];
      }
      grams.push_back(std::move(gram));
    }
  }
  return grams;
}

std::vector<std::string> TfidfVectorizer::document_ngrams(const std::vector<std::string>& documents,
                                                          std::size_t d) const {
  try {
    return ngrams(documents[d]);
  } catch (const Error& e) {
    throw Error(fmt::format("tf-idf: document {}: {}", d + 1, e.what()));
  }
}

SparseMatrix TfidfVectorizer::fit_transform(const std::vector<std::string>& documents) {
  std::unordered_map<std::string, std::size_t> document_frequency;
  for (std::size_t d = 0; d < documents.size(); ++d) {
    const auto grams = document_ngrams(documents, d);
    std::unordered_set<std::string> seen(grams.begin(), grams.end());
    for (const auto& gram : seen) ++document_frequency[gram];
  }
  terms_.clear();
  for (const auto& [term, df] : document_frequency) {
    if (df >= options_.min_df) terms_.push_back(term);
  }
  if (terms_.empty()) {
    throw Error(fmt::format("tf-idf: no term occurs in at least {} of the {} documents",
                            options_.min_df, documents.size()));
  }
  std::sort(terms_.begin(), terms_.end());
  index_.clear();
  idf_.assign(terms_.size(), 0.0);
  const double n = static_cast<double>(documents.size());
  for (std::size_t t = 0; t < terms_.size(); ++t) {
    index_.emplace(terms_[t], static_cast<std::int64_t>(t));
    const double df = static_cast<double>(document_frequency.at(terms_[t]));
    idf_[t] = std::log((1.0 + n) / (1.0 + df)) + 1.0;
  }
  return transform(documents);
}

SparseMatrix TfidfVectorizer::transform(const std::vector<std::string>& documents) const {
  if (terms_.empty()) throw Error("tf-idf: transform before fit");
  SparseMatrix matrix;
  matrix.rows = documents.size();
  matrix.cols = terms_.size();
  matrix.row_offsets.push_back(0);
  std::map<std::int64_t, double> counts;
  for (std::size_t d = 0; d < documents.size(); ++d) {
    const auto grams = document_ngrams(documents, d);
    counts.clear();
    for (const auto& gram : grams) {
      const auto it = index_.find(gram);
      if (it != index_.end()) counts[it->second] += 1.0;
    }
    double squared_norm = 0;
    const std::size_t begin = matrix.values.size();
    for (const auto& [column, count] : counts) {
      const double tf = options_.sublinear_tf ? 1.0 + std::log(count) : count;
      const double value = tf * idf_[static_cast<std::size_t>(column)];
      matrix.columns.push_back(column);
      matrix.values.push_back(value);
      squared_norm += value * value;
    }
    if (squared_norm > 0) {
      const double scale = 1.0 / std::sqrt(squared_norm);
      for (std::size_t i = begin; i < matrix.values.size(); ++i) matrix.values[i] *= scale;
    }
    matrix.row_offsets.push_back(matrix.values.size());
  }
  return matrix;
}

}  // namespace emotune::baseline
