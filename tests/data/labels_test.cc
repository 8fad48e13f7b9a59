#include "data/labels.h"

#include <gmock/gmock.h>

#include "data/test_support.h"

namespace emotune::data {
namespace {

using ::testing::HasSubstr;

TEST(Labels, OrderIsTheClassId) {
  EXPECT_EQ(kNumEmotions, 7u);
  EXPECT_EQ(emotion_index("anger"), 0);
  EXPECT_EQ(emotion_index("disgust"), 1);
  EXPECT_EQ(emotion_index("fear"), 2);
  EXPECT_EQ(emotion_index("joy"), 3);
  EXPECT_EQ(emotion_index("neutral"), 4);
  EXPECT_EQ(emotion_index("sadness"), 5);
  EXPECT_EQ(emotion_index("surprise"), 6);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(emotion_index(emotion_name(i)), i);
}

TEST(Labels, UnknownNamesAndIdsAreErrors) {
  EXPECT_FALSE(find_emotion("happiness"));
  EXPECT_FALSE(find_emotion("Anger"));
  EXPECT_THAT(error_of([] { emotion_index("happiness"); }),
              HasSubstr("unknown emotion label 'happiness' (expected one of anger, disgust, "
                        "fear, joy, neutral, sadness, surprise)"));
  EXPECT_THAT(error_of([] { emotion_name(7); }), HasSubstr("outside 0..6"));
  EXPECT_THAT(error_of([] { emotion_name(-1); }), HasSubstr("outside 0..6"));
}

}  // namespace
}  // namespace emotune::data
