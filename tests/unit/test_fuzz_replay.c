/* The fuzz corpus in the ordinary (ASan/UBSan) test build: every seed of tests/fuzz/<target>/
 * and every input that once crashed a target (tests/fuzz/regressions/<target>-<what>) goes
 * through its target again, so a fixed crash stays fixed even where clang is not around. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tests/fuzz/fuzz_targets.h"
#include "tests/helpers.h"
#include "tests/test.h"

static const struct fuzz_target *target_named(const char *name, size_t len) {
  for (const struct fuzz_target *t = fuzz_targets; t->name; t++)
    if (strlen(t->name) == len && strncmp(t->name, name, len) == 0)
      return t;
  return NULL;
}

static int replay_file(const struct fuzz_target *t, const char *path) {
  FILE *f = fopen(path, "rb");
  ASSERT_NOT_NULL(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
  ASSERT_INT_EQ(fread(buf, 1, (size_t)n, f), n);
  fclose(f);
  t->fn(buf, (size_t)n); /* a crash, leak or sanitizer report fails the test */
  free(buf);
  return 1;
}

/* Replays every regular file of dir; with prefixed, a file's target is the part of its name
 * before the first '-'. Returns the number of files replayed. */
static int replay_dir(const char *dir, const struct fuzz_target *t) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    char path[1200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    const struct fuzz_target *ft = t;
    if (!ft) {
      const char *dash = strchr(e->d_name, '-');
      ft = dash ? target_named(e->d_name, (size_t)(dash - e->d_name)) : NULL;
      if (!ft)
        test_fail(__FILE__, __LINE__, "%s: a regression's name starts with its target "
                  "(graph-, cond-, domain-, tmpl- or intake-)", path);
    }
    n += replay_file(ft, path);
  }
  closedir(d);
  return n;
}

TEST(fuzz_seed_corpus_replays_cleanly) {
  for (const struct fuzz_target *t = fuzz_targets; t->name; t++) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s", test_source_dir(), t->name);
    int n = replay_dir(dir, t);
    if (n == 0)
      test_fail(__FILE__, __LINE__, "%s: the seed corpus of fuzz_%s is empty", dir, t->name);
  }
}

TEST(fuzz_regressions_replay_cleanly) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/tests/fuzz/regressions", test_source_dir());
  int n = replay_dir(dir, NULL);
  test_log("%d regression inputs replayed", n);
}
