// TF-IDF as scikit-learn's TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).

#include "baseline/tfidf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace emotune::baseline {
namespace {

std::map<std::string, double> row_of(const SparseMatrix& m, const TfidfVectorizer& v,
                                     std::size_t r) {
  std::map<std::string, double> row;
  for (std::size_t i = m.row_offsets[r]; i < m.row_offsets[r + 1]; ++i)
    row[v.terms()[static_cast<std::size_t>(m.columns[i])]] = m.values[i];
  return row;
}

TEST(WordTokens, TwoOrMoreWordCharactersLowerCased) {
  EXPECT_EQ(word_tokens("I can't BELIEVE it -- a 2nd time, x_y!"),
            (std::vector<std::string>{"can", "believe", "it", "2nd", "time", "x_y"}));
  EXPECT_EQ(word_tokens("Ça  ÉTÉ naïve"), (std::vector<std::string>{"ça", "été", "naïve"}));
  EXPECT_EQ(word_tokens("Keep Case", false), (std::vector<std::string>{"Keep", "Case"}));
  EXPECT_TRUE(word_tokens("a b c ! ?").empty());
  EXPECT_THROW(word_tokens("bad \xFF"), Error);
}

TEST(Tfidf, IdfSublinearTfL2NormAndMinDf) {
  // 3 documents; min_df 2 keeps: "the" (df 3), "cat" (df 2), "sat" (df 2), "the cat" (df 2).
  const std::vector<std::string> docs = {"the cat sat", "the cat the cat", "the dog sat"};
  TfidfVectorizer vectorizer;
  const auto m = vectorizer.fit_transform(docs);
  EXPECT_EQ(vectorizer.terms(), (std::vector<std::string>{"cat", "sat", "the", "the cat"}));
  ASSERT_EQ(m.rows, 3u);
  ASSERT_EQ(m.cols, 4u);
  const double idf2 = std::log(4.0 / 3.0) + 1.0;
  const double idf3 = std::log(4.0 / 4.0) + 1.0;
  EXPECT_NEAR(vectorizer.idf()[0], idf2, 1e-12);
  EXPECT_NEAR(vectorizer.idf()[2], idf3, 1e-12);

  // Document 2: cat x2, the x2, "the cat" x2 ("cat the" has df 1): tf = 1 + ln 2 each.
  const double tf = 1.0 + std::log(2.0);
  const double a = tf * idf2, b = tf * idf3, c = tf * idf2;
  const double norm = std::sqrt(a * a + b * b + c * c);
  const auto row = row_of(m, vectorizer, 1);
  ASSERT_EQ(row.size(), 3u);
  EXPECT_NEAR(row.at("cat"), a / norm, 1e-12);
  EXPECT_NEAR(row.at("the"), b / norm, 1e-12);
  EXPECT_NEAR(row.at("the cat"), c / norm, 1e-12);
  for (std::size_t r = 0; r < m.rows; ++r) {
    double squared = 0;
    for (const auto& [term, value] : row_of(m, vectorizer, r)) squared += value * value;
    EXPECT_NEAR(squared, 1.0, 1e-12) << r;
  }
}

TEST(Tfidf, TransformIgnoresUnknownTermsAndKeepsEmptyRowsZero) {
  TfidfVectorizer vectorizer;
  vectorizer.fit_transform({"good day", "good night", "bad day"});
  const auto m = vectorizer.transform({"unseen words only", "good good good"});
  EXPECT_EQ(m.row_offsets[1], 0u);  // first row empty
  ASSERT_EQ(m.row_offsets[2], 1u);
  EXPECT_NEAR(m.values[0], 1.0, 1e-12);
}

TEST(Tfidf, RejectsACorpusWithoutFrequentTerms) {
  TfidfVectorizer vectorizer;
  EXPECT_THROW(vectorizer.fit_transform({"alpha beta", "gamma delta"}), Error);
  EXPECT_THROW(vectorizer.transform({"x"}), Error);
  EXPECT_THROW(TfidfVectorizer(TfidfOptions{2, 1}), Error);
}

}  // namespace
}  // namespace emotune::baseline
