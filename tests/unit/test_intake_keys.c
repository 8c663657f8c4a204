/* Which groups of events flowd sends to the set-based intake, and which record updates are
 * plain patches (server/intake.h: intake_keys). A wrong "set-based" would apply two events of
 * one record as if each saw the record as it was before the group; a wrong "patch" would skip
 * the status rules. */
#include <stdarg.h>
#include <stdlib.h>
#include "server/intake.h"
#include "tests/helpers.h"
#include "tests/test.h"

/* Adds each of the JSON arrays (NULL-terminated) and returns intake_keys_set_based; *patches
 * receives whether every event was a plain patch. */
static int decide(int *patches, const char *first, ...) {
  struct intake_keys ks = {0};
  va_list ap;
  va_start(ap, first);
  for (const char *text = first; text; text = va_arg(ap, const char *)) {
    cJSON *events = cJSON_Parse(text);
    if (!events)
      test_fail(__FILE__, __LINE__, "test JSON does not parse: %s", text);
    intake_keys_add(&ks, events);
    cJSON_Delete(events);
  }
  va_end(ap);
  *patches = !ks.not_patch;
  return intake_keys_set_based(&ks);
}

TEST(intake_keys_distinct_records_are_set_based) {
  int patches;
  ASSERT_INT_EQ(decide(&patches,
                       "[{\"type\":\"order.created\",\"data\":{\"id\":\"o1\"}},"
                       " {\"type\":\"order.created\",\"data\":{\"id\":\"o2\"}},"
                       " {\"type\":\"lead.created\",\"data\":{\"id\":\"o1\"}},"
                       " {\"type\":\"ping\",\"data\":{}}]",
                       NULL),
                1);
  ASSERT_INT_EQ(patches, 0);
}

TEST(intake_keys_a_record_twice_goes_one_by_one) {
  int patches;
  ASSERT_INT_EQ(decide(&patches, "[{\"type\":\"order.created\",\"data\":{\"id\":\"o1\"}},"
                                 " {\"type\":\"order.updated\",\"data\":{\"id\":\"o1\"}}]",
                       NULL),
                0);
  /* across the arrays of one group too (two runs' record updates) */
  ASSERT_INT_EQ(decide(&patches, "[{\"type\":\"order.updated\",\"data\":{\"id\":\"o1\"}}]",
                       "[{\"type\":\"order.updated\",\"data\":{\"id\":\"o1\"}}]", NULL),
                0);
}

TEST(intake_keys_inline_customers) {
  int patches;
  /* one customer inline in two orders: its patches are folded, set-based */
  ASSERT_INT_EQ(
      decide(&patches,
             "[{\"type\":\"order.created\",\"data\":{\"id\":\"o1\",\"customer\":{\"id\":\"c\"}}},"
             " {\"type\":\"order.created\",\"data\":{\"id\":\"o2\",\"customer\":{\"id\":\"c\"}}}]",
             NULL),
      1);
  /* inline and as a customer event of its own: one by one */
  ASSERT_INT_EQ(
      decide(&patches,
             "[{\"type\":\"order.created\",\"data\":{\"id\":\"o1\",\"customer\":{\"id\":\"c\"}}},"
             " {\"type\":\"customer.updated\",\"data\":{\"id\":\"c\"}}]",
             NULL),
      0);
  /* a customer id that is not a string: the careful way */
  ASSERT_INT_EQ(
      decide(&patches,
             "[{\"type\":\"order.created\",\"data\":{\"id\":\"o1\",\"customer\":{\"id\":7}}}]",
             NULL),
      0);
}

TEST(intake_keys_fan_page_events_go_one_by_one) {
  int patches;
  ASSERT_INT_EQ(decide(&patches,
                       "[{\"type\":\"message.received\",\"data\":{\"page_id\":\"p\"}}]", NULL),
                0);
  ASSERT_INT_EQ(decide(&patches,
                       "[{\"type\":\"comment.created\",\"data\":{\"id\":\"x\",\"page_id\":\"p\"}}]",
                       NULL),
                0);
  /* no page: an ordinary event */
  ASSERT_INT_EQ(decide(&patches,
                       "[{\"type\":\"message.received\",\"data\":{\"page_id\":\"\"}}]", NULL),
                1);
}

TEST(intake_keys_plain_patches) {
  int patches;
  ASSERT_INT_EQ(decide(&patches,
                       "[{\"type\":\"order.updated\",\"data\":{\"id\":\"o1\",\"owner_id\":\"s\"}}]",
                       "[{\"type\":\"lead.updated\",\"data\":{\"id\":\"l1\",\"team_id\":\"t\"}}]",
                       NULL),
                1);
  ASSERT_INT_EQ(patches, 1);
  /* a status may change (status rules), a customer is upserted, replace is no patch */
  decide(&patches, "[{\"type\":\"order.updated\",\"data\":{\"id\":\"o1\",\"status\":\"x\"}}]",
         NULL);
  ASSERT_INT_EQ(patches, 0);
  decide(&patches,
         "[{\"type\":\"order.updated\",\"data\":{\"id\":\"o1\",\"customer\":{\"id\":\"c\"}}}]",
         NULL);
  ASSERT_INT_EQ(patches, 0);
  decide(&patches, "[{\"type\":\"order.updated\",\"replace\":true,\"data\":{\"id\":\"o1\"}}]",
         NULL);
  ASSERT_INT_EQ(patches, 0);
  decide(&patches, "[{\"type\":\"task.created\",\"data\":{\"id\":\"t1\"}}]", NULL);
  ASSERT_INT_EQ(patches, 0);
}
