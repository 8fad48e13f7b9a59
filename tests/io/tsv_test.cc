#include "io/tsv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/error_of.h"
#include "common/files.h"
#include "common/test_paths.h"
#include "io/utf8.h"

namespace emotune::io {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

using emotune::testing::error_of;

TEST(Tsv, SplitsOnTabsAndTracksLines) {
  const auto table = parse_tsv("a\tb\tc\n1\t2\t3\nx\t\tz\n", "mem.tsv");
  ASSERT_EQ(table.header, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0].line, 2u);
  EXPECT_EQ(table.rows[1].line, 3u);
  EXPECT_EQ(table.rows[1].fields, (std::vector<std::string>{"x", "", "z"}));
  EXPECT_EQ(table.column("c"), 2u);
  EXPECT_FALSE(table.find_column("d"));
}

TEST(Tsv, LastLineWithoutNewlineAndCrlf) {
  const auto table = parse_tsv("a\tb\r\n1\t2\r\n3\t4", "mem.tsv");
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0].fields[1], "2");
  EXPECT_EQ(table.rows[1].fields[1], "4");
}

TEST(Tsv, UnquotesRfc4180Fields) {
  const auto table = parse_tsv(
      "t\tn\n\"He said \"\"hi\"\" \"\t1\n\"plain quoted\"\t2\n"
      "mid \"quote\" stays\t3\n\"\"\t4\n",
      "mem.tsv");
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_EQ(table.rows[0].fields[0], "He said \"hi\" ");
  EXPECT_EQ(table.rows[1].fields[0], "plain quoted");
  EXPECT_EQ(table.rows[2].fields[0], "mid \"quote\" stays");
  EXPECT_EQ(table.rows[3].fields[0], "");
}

TEST(Tsv, HeaderlessUsesFirstRowOrGivenCount) {
  const auto table = parse_tsv("a\tb\nc\td\n", "mem.tsv",
                               TsvOptions{.has_header = false, .field_count = std::nullopt});
  EXPECT_TRUE(table.header.empty());
  EXPECT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0].line, 1u);
  const auto message = error_of(
      [] { parse_tsv("a\tb\n", "three.tsv", TsvOptions{.has_header = false, .field_count = 3}); });
  EXPECT_THAT(message,
              AllOf(HasSubstr("three.tsv:1:"), HasSubstr("expected 3"), HasSubstr("found 2")));
}

TEST(Tsv, WrongFieldCountNamesFileAndLine) {
  const auto message = error_of([] { parse_tsv("a\tb\n1\t2\n1\t2\t3\n", "bad.tsv"); });
  EXPECT_THAT(message,
              AllOf(HasSubstr("bad.tsv:3:"), HasSubstr("expected 2"), HasSubstr("found 3")));
  const auto empty_line = error_of([] { parse_tsv("a\tb\n1\t2\n\n3\t4\n", "gap.tsv"); });
  EXPECT_THAT(empty_line, AllOf(HasSubstr("gap.tsv:3:"), HasSubstr("empty line")));
}

TEST(Tsv, BadQuotingNamesFileAndLine) {
  EXPECT_THAT(error_of([] { parse_tsv("a\n\"open\n", "q.tsv"); }),
              AllOf(HasSubstr("q.tsv:2:"), HasSubstr("closing quote")));
  EXPECT_THAT(error_of([] { parse_tsv("a\nok\n\"a\"b\"\n", "q.tsv"); }),
              AllOf(HasSubstr("q.tsv:3:"), HasSubstr("lone")));
  EXPECT_THAT(error_of([] { parse_tsv("a\n\"\n", "q.tsv"); }), HasSubstr("q.tsv:2:"));
}

TEST(Tsv, InvalidUtf8NamesFileLineAndByte) {
  EXPECT_THAT(error_of([] {
                parse_tsv(
                    "a\nok\nab\xFF"
                    "c\n",
                    "u.tsv");
              }),
              AllOf(HasSubstr("u.tsv:3:"), HasSubstr("invalid UTF-8"), HasSubstr("byte 3"),
                    HasSubstr("0xFF")));
  // A truncated sequence, an overlong encoding and a UTF-16 surrogate are all rejected.
  EXPECT_THAT(error_of([] { parse_tsv("a\n\xC3\n", "u.tsv"); }), HasSubstr("u.tsv:2:"));
  EXPECT_THAT(error_of([] { parse_tsv("a\n\xC0\xAF\n", "u.tsv"); }), HasSubstr("u.tsv:2:"));
  EXPECT_THAT(error_of([] { parse_tsv("a\n\xED\xA0\x80\n", "u.tsv"); }), HasSubstr("u.tsv:2:"));
  EXPECT_FALSE(first_invalid_utf8("caf\xC3\xA9 \xE2\x80\x9Cquoted\xE2\x80\x9D \xF0\x9F\x98\x80"));
}

TEST(Tsv, HeaderProblems) {
  EXPECT_THAT(error_of([] { parse_tsv("a\ta\n1\t2\n", "h.tsv"); }),
              AllOf(HasSubstr("h.tsv:1:"), HasSubstr("duplicate header column 'a'")));
  EXPECT_THAT(error_of([] { parse_tsv("", "e.tsv"); }),
              AllOf(HasSubstr("e.tsv"), HasSubstr("empty")));
  const auto table = parse_tsv("a\tb\n", "h.tsv");
  EXPECT_THAT(error_of([&] { table.column("essay"); }),
              AllOf(HasSubstr("h.tsv:1:"), HasSubstr("missing column 'essay'")));
}

TEST(Tsv, MissingFileIsAnError) {
  testing::TempDir dir;
  const auto path = dir / "absent.tsv";
  EXPECT_THAT(error_of([&] { read_tsv(path); }),
              AllOf(HasSubstr(path.string()), HasSubstr("no such file")));
}

TEST(Tsv, ReadsFromDisk) {
  testing::TempDir dir;
  const auto path = dir / "t.tsv";
  write_file_atomic(path, "x\ty\n\"q\"\"\"\t1.5\n");
  const auto table = read_tsv(path);
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0].fields[0], "q\"");
  EXPECT_EQ(table.file, path);
}

TEST(TsvNumbers, ParsesPandasArtefacts) {
  EXPECT_DOUBLE_EQ(parse_double("5.667000000000001", "f", 1, "x"), 5.667000000000001);
  EXPECT_DOUBLE_EQ(parse_double("2.8569999999999998", "f", 1, "x"), 2.8569999999999998);
  EXPECT_DOUBLE_EQ(parse_double("4.428999999999999", "f", 1, "x"), 4.428999999999999);
  EXPECT_DOUBLE_EQ(parse_double("7", "f", 1, "x"), 7.0);
  EXPECT_DOUBLE_EQ(parse_double("1.0", "f", 1, "x"), 1.0);
  EXPECT_EQ(parse_integer("50000", "f", 1, "x"), 50000);
  EXPECT_EQ(parse_integer("24000.0", "f", 1, "x"), 24000);
  EXPECT_EQ(parse_integer("1.0", "f", 1, "x"), 1);
  EXPECT_EQ(parse_integer("-3", "f", 1, "x"), -3);
}

TEST(TsvNumbers, RejectsNonNumbers) {
  EXPECT_THAT(error_of([] { parse_double("high", "s.tsv", 7, "empathy"); }),
              AllOf(HasSubstr("s.tsv:7:"), HasSubstr("empathy"), HasSubstr("'high'")));
  EXPECT_THAT(error_of([] { parse_double("", "s.tsv", 7, "empathy"); }), HasSubstr("s.tsv:7:"));
  EXPECT_THAT(error_of([] { parse_double("4.5x", "s.tsv", 7, "empathy"); }), HasSubstr("s.tsv:7:"));
  EXPECT_THAT(error_of([] { parse_double("nan", "s.tsv", 7, "empathy"); }), HasSubstr("s.tsv:7:"));
  EXPECT_THAT(error_of([] { parse_double(" 4", "s.tsv", 7, "empathy"); }), HasSubstr("s.tsv:7:"));
  EXPECT_THAT(error_of([] { parse_integer("4.5", "s.tsv", 9, "age"); }),
              AllOf(HasSubstr("s.tsv:9:"), HasSubstr("age"), HasSubstr("integer")));
  EXPECT_THAT(error_of([] { parse_integer("x", "s.tsv", 9, "age"); }), HasSubstr("s.tsv:9:"));
}

}  // namespace
}  // namespace emotune::io
