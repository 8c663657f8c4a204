/* fuzz_targets: one entry per libFuzzer target, shared by the fuzzers (FLOWD_FUZZ=ON builds
 * fuzz_<name> from fuzz_targets.c) and by the unit test that replays the seed corpus and every
 * input that once made a target crash (tests/fuzz/regressions/<name>-*).
 *
 * Each entry takes arbitrary bytes, must never crash, leak, hang or trip a sanitizer, and
 * returns 0 (libFuzzer's convention). */
#ifndef FLOWD_FUZZ_TARGETS_H
#define FLOWD_FUZZ_TARGETS_H
#include <stddef.h>
#include <stdint.h>

/* A flow document: graph_parse (shape, node configs, edges, whole-graph checks). */
int fuzz_graph(const uint8_t *data, size_t size);
/* [condition, data] or a condition: cond_compile, then cond_eval / cond_test. */
int fuzz_cond(const uint8_t *data, size_t size);
/* [domain, record] or a domain: domain_compile, then domain_match. */
int fuzz_domain(const uint8_t *data, size_t size);
/* Template source: tmpl_compile, then tmpl_render against a fixed scope with partials. */
int fuzz_tmpl(const uint8_t *data, size_t size);
/* A POST /api/events body: http_json_limits, parsing, intake_check_event on each event. */
int fuzz_intake(const uint8_t *data, size_t size);

struct fuzz_target {
  const char *name;
  int (*fn)(const uint8_t *data, size_t size);
};

/* Every target, NULL-terminated. */
extern const struct fuzz_target fuzz_targets[];

#endif
