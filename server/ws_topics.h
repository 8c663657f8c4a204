/* ws_topics: who subscribes to what. A hash table of topics, each with its subscribers, and
 * each subscriber's own list of subscriptions (so that it can leave them all at once). A
 * topic exists while it has subscribers; subscribing twice to one topic is one subscription.
 * One table per process (the hub's). */
#ifndef FLOWD_WS_TOPICS_H
#define FLOWD_WS_TOPICS_H

struct ws_topic;

struct ws_sub {
  void *owner;                  /* the subscriber (a client of the hub) */
  struct ws_topic *topic;
  struct ws_sub *tprev, *tnext; /* the topic's subscribers */
  struct ws_sub *onext;         /* the owner's subscriptions */
};

struct ws_subs { /* one owner's subscriptions */
  struct ws_sub *head;
  int n;
};

/* The first subscriber of topic (the others follow through tnext), or NULL. */
struct ws_sub *ws_topic_subscribers(const char *topic);

/* The topic s subscribes to. */
const char *ws_sub_topic(const struct ws_sub *s);

/* Subscribes owner (whose subscriptions are subs) to topic. Returns 0 (also when it already
 * was), ERR_RANGE when subs already holds max, or ERR_NOMEM. */
int ws_subs_add(struct ws_subs *subs, void *owner, const char *topic, int max);

/* Ends one subscription (none: nothing happens), or all of them. */
void ws_subs_remove(struct ws_subs *subs, const char *topic);
void ws_subs_clear(struct ws_subs *subs);

/* Subscriptions of every owner together. */
long ws_topics_count(void);

#endif
