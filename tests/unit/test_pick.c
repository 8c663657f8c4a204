/* The parts of assignment that need no server: staff profiles and the candidate pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nodes/pick_filter.h"
#include "tests/helpers.h"
#include "tests/test.h"

TEST(assign_profile_lifts_attrs_without_overriding_the_standard_fields) {
  cJSON *staff = cJSON_Parse("{\"id\":\"s_a\",\"name\":\"An\",\"online\":true,"
                             "\"attrs\":{\"city\":\"Hue\",\"name\":\"not this\"}}");
  cJSON *p = pick_profile(staff);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(p, "city")), "Hue");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")), "An");
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(
                    cJSON_GetObjectItem(p, "attrs"), "city")), "Hue");
  ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(p, "online")));
  cJSON_Delete(p);
  cJSON_Delete(staff);
  p = pick_profile(NULL); /* a row without a profile: an empty one */
  ASSERT_INT_EQ(cJSON_GetArraySize(p), 0);
  cJSON_Delete(p);
}

TEST(assign_pool_keeps_the_online_and_the_least_loaded_in_order) {
  struct pick_cand v[4] = {{"s_a", NULL, 1, 3, NULL}, {"s_b", NULL, 0, 1, NULL},
                           {"s_c", NULL, 1, 1, NULL}, {"s_d", NULL, 1, 2, NULL}};
  struct pick_pool pool = {malloc(sizeof v), 4};
  memcpy(pool.v, v, sizeof v);
  ASSERT_STR_EQ(pick_pool_find(&pool, "s_c")->id, "s_c");
  ASSERT(pick_pool_find(&pool, "s_x") == NULL);
  ASSERT(pick_pool_find(&pool, NULL) == NULL);
  pick_pool_keep_least_loaded(&pool);
  ASSERT_INT_EQ(pool.n, 2);
  ASSERT_STR_EQ(pool.v[0].id, "s_b");
  ASSERT_STR_EQ(pool.v[1].id, "s_c");
  ASSERT_INT_EQ(pick_pool_keep_online(&pool), 1);
  ASSERT_STR_EQ(pool.v[0].id, "s_c");
  pick_pool_free(&pool);
  ASSERT(pool.v == NULL && pool.n == 0);
}
