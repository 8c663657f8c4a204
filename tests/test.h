/* test: flowd's test runner, in the style of libuv's.
 *
 * A test is a function registered by name: TEST(graph_validate_rejects_cycle) { ... }.
 * The runner forks once per test, so a crash, a failed assertion or a leak report ends only
 * that test. Assertions print both sides. TEST_PG marks a test that needs PostgreSQL: the
 * runner starts one private cluster (in a temporary folder, unix socket only) before the
 * first such test and gives each test a fresh database of its own (test_pg_conninfo()). */
#ifndef FLOWD_TEST_H
#define FLOWD_TEST_H
#include <stdint.h>
#include <string.h>

typedef void (*test_fn)(void);

enum test_flags {
  TEST_F_PG = 1, /* needs the shared PostgreSQL cluster and a database of its own */
  TEST_F_SLOW = 2 /* takes more than a few seconds; still part of the suite */
};

void test_register(const char *name, test_fn fn, const char *file, int flags);

#define TEST_DEFINE(name, flags)                                               \
  static void test_##name(void);                                               \
  __attribute__((constructor)) static void test_register_##name(void) {        \
    test_register(#name, test_##name, __FILE__, (flags));                      \
  }                                                                            \
  static void test_##name(void)

#define TEST(name) TEST_DEFINE(name, 0)
#define TEST_PG(name) TEST_DEFINE(name, TEST_F_PG)
#define TEST_SLOW(name) TEST_DEFINE(name, TEST_F_SLOW)
#define TEST_PG_SLOW(name) TEST_DEFINE(name, TEST_F_PG | TEST_F_SLOW)

/* Ends the current test as failed; prints file:line and the message. */
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

/* Prints a diagnostic line (shown with the test's output). */
void test_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ASSERT(x)                                                              \
  do {                                                                         \
    if (!(x))                                                                  \
      test_fail(__FILE__, __LINE__, "ASSERT(%s)", #x);                         \
  } while (0)

#define ASSERT_INT_EQ(a, b)                                                    \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    if (a_ != b_)                                                              \
      test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
  } while (0)

#define ASSERT_INT_NE(a, b)                                                    \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    if (a_ == b_)                                                              \
      test_fail(__FILE__, __LINE__, "%s != %s: both %lld", #a, #b, a_);        \
  } while (0)

#define ASSERT_INT_OP(a, op, b)                                                \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    if (!(a_ op b_))                                                           \
      test_fail(__FILE__, __LINE__, "%s %s %s: %lld vs %lld", #a, #op, #b, a_, \
                b_);                                                           \
  } while (0)

#define ASSERT_STR_EQ(a, b)                                                    \
  do {                                                                         \
    const char *a_ = (a), *b_ = (b);                                           \
    if (!a_ || !b_ || strcmp(a_, b_) != 0)                                     \
      test_fail(__FILE__, __LINE__, "%s == %s:\n  left:  \"%s\"\n  right: \"%s\"", \
                #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");              \
  } while (0)

#define ASSERT_STR_CONTAINS(hay, needle)                                       \
  do {                                                                         \
    const char *h_ = (hay), *n_ = (needle);                                    \
    if (!h_ || !n_ || !strstr(h_, n_))                                         \
      test_fail(__FILE__, __LINE__, "%s contains %s:\n  text: \"%s\"\n  missing: \"%s\"", \
                #hay, #needle, h_ ? h_ : "(null)", n_ ? n_ : "(null)");       \
  } while (0)

#define ASSERT_NOT_NULL(p)                                                     \
  do {                                                                         \
    if ((p) == NULL)                                                           \
      test_fail(__FILE__, __LINE__, "%s is NULL", #p);                         \
  } while (0)

/* The libpq connection string of this test's own database (TEST_PG tests only). */
const char *test_pg_conninfo(void);
/* The unix-socket folder and port of the shared cluster (TEST_PG tests only). */
const char *test_pg_host(void);
int test_pg_port(void);
/* The shared cluster's data folder, for tests that stop and start it (they must restart it). */
const char *test_pg_datadir(void);
/* Runs pg_ctl on the shared cluster: "start", "stop" (fast) or "kill" (immediate). Returns
 * pg_ctl's exit status. */
int test_pg_ctl(const char *action);

/* A new empty folder under the runner's scratch folder, removed when the runner ends. */
const char *test_tmpdir(void);

/* Source tree root (for ../shared/conformance and fixtures) and the flowd binary. */
const char *test_source_dir(void);
const char *test_flowd_binary(void);

#endif
