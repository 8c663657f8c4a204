/* Tests of JavaScript-compatible number formatting. */
#include "graph/jsonnum.h"
#include "tests/test.h"

static const char *fmt(double n) {
  static char buf[JSONNUM_BUFSIZE];
  return jsonnum_format(n, buf);
}

TEST(jsonnum_prints_integers_without_fraction) {
  ASSERT_STR_EQ(fmt(85), "85");
  ASSERT_STR_EQ(fmt(-3), "-3");
  ASSERT_STR_EQ(fmt(0), "0");
  ASSERT_STR_EQ(fmt(-0.0), "0");
  ASSERT_STR_EQ(fmt(1e20), "100000000000000000000");
  ASSERT_STR_EQ(fmt(1000000), "1000000");
}

TEST(jsonnum_prints_shortest_round_trip_fractions) {
  ASSERT_STR_EQ(fmt(1.21), "1.21");
  ASSERT_STR_EQ(fmt(0.1 + 0.2), "0.30000000000000004");
  ASSERT_STR_EQ(fmt(0.5), "0.5");
  ASSERT_STR_EQ(fmt(3.14), "3.14");
  ASSERT_STR_EQ(fmt(123.456), "123.456");
  ASSERT_STR_EQ(fmt(0.000001), "0.000001");
}

TEST(jsonnum_uses_exponents_where_javascript_does) {
  ASSERT_STR_EQ(fmt(1e21), "1e+21");
  ASSERT_STR_EQ(fmt(1.5e21), "1.5e+21");
  ASSERT_STR_EQ(fmt(1e-7), "1e-7");
  ASSERT_STR_EQ(fmt(-2.5e-8), "-2.5e-8");
}
