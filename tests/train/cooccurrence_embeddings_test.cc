#include "train/cooccurrence_embeddings.h"

#include <cstdint>
#include <random>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/error_of.h"

namespace emotune::train {
namespace {

using ::testing::HasSubstr;

// Two topics that never meet: ids 2..9 and 10..17, each sequence drawn from one of them; 0 and 1
// play [CLS] and [SEP] and close every sequence.
constexpr std::int64_t kVocab = 18;
std::vector<std::vector<std::int64_t>> two_topic_corpus(std::uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<std::vector<std::int64_t>> corpus;
  for (int s = 0; s < 300; ++s) {
    const std::int64_t first = s % 2 == 0 ? 2 : 10;
    std::uniform_int_distribution<std::int64_t> token(first, first + 7);
    std::vector<std::int64_t> sequence{0};
    for (int i = 0; i < 20; ++i) sequence.push_back(token(random));
    sequence.push_back(1);
    corpus.push_back(sequence);
  }
  return corpus;
}

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  return (torch::dot(a, b) / (a.norm() * b.norm())).item<double>();
}

TEST(CooccurrenceEmbeddings, TokensThatShareContextsGetCloseVectors) {
  const auto table = ppmi_embeddings(two_topic_corpus(1), kVocab, 4, {0, 1});
  ASSERT_EQ(table.sizes(), (std::vector<std::int64_t>{kVocab, 4}));
  double within = 0, across = 0;
  int within_pairs = 0, across_pairs = 0;
  for (std::int64_t a = 2; a < kVocab; ++a) {
    for (std::int64_t b = a + 1; b < kVocab; ++b) {
      const double c = cosine(table[a], table[b]);
      if ((a < 10) == (b < 10)) {
        within += c;
        ++within_pairs;
      } else {
        across += c;
        ++across_pairs;
      }
    }
  }
  within /= within_pairs;
  across /= across_pairs;
  EXPECT_GT(within, 0.8) << "same topic";
  EXPECT_LT(across, 0.2) << "other topic";
  // The boundary tokens are never counted: their rows stay zero (to the SVD's rounding).
  const double largest = table.abs().max().item<double>();
  EXPECT_LT(table[0].abs().max().item<double>(), 1e-5 * largest);
  EXPECT_LT(table[1].abs().max().item<double>(), 1e-5 * largest);
}

TEST(CooccurrenceEmbeddings, TheSameCorpusAndSeedGiveTheSameTable) {
  const auto corpus = two_topic_corpus(2);
  const auto a = ppmi_embeddings(corpus, kVocab, 3, {0, 1});
  const auto b = ppmi_embeddings(corpus, kVocab, 3, {0, 1});
  EXPECT_TRUE(torch::equal(a, b));
}

TEST(CooccurrenceEmbeddings, BadInputIsANamedError) {
  const auto corpus = two_topic_corpus(3);
  EXPECT_THAT(emotune::testing::error_of([&] {
                ppmi_embeddings(corpus, 12, 4, {0, 1});
              }),
              HasSubstr("outside the vocabulary of 12"));
  EXPECT_THAT(emotune::testing::error_of([&] {
                ppmi_embeddings(corpus, kVocab, 0, {0, 1});
              }),
              HasSubstr("dimension 0 must be in [1, 18]"));
  EXPECT_THAT(emotune::testing::error_of([&] {
                ppmi_embeddings(corpus, kMaxCooccurrenceVocabulary + 1, 4, {0, 1});
              }),
              HasSubstr("vocabularies above"));
  const std::vector<std::vector<std::int64_t>> lone_tokens{{0, 5, 1}, {0, 7, 1}};
  EXPECT_THAT(emotune::testing::error_of([&] {
                ppmi_embeddings(lone_tokens, kVocab, 2, {0, 1});
              }),
              HasSubstr("no pair of neighbouring tokens"));
  CooccurrenceOptions no_window;
  no_window.window = 0;
  EXPECT_THAT(emotune::testing::error_of([&] {
                ppmi_embeddings(corpus, kVocab, 2, {0, 1}, no_window);
              }),
              HasSubstr("window must be ≥ 1"));
}

}  // namespace
}  // namespace emotune::train
