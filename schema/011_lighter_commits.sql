-- Lighter intake and segment commits (per event, what PostgreSQL does less than in 008):
--   flowd_intake_set      the set-based intake of 008 without its first test (fan-page
--                         events, or a record touched twice: event by event instead), which
--                         flowd now makes itself (intake_keys_set_based, server/intake.c) and
--                         which cost ~60 µs per call; flowd_intake keeps the test and hands
--                         the groups that pass it to flowd_intake_set.
--   flowd_commit_segments gets three answers flowd knows: whether the record updates of
--                         the group pass that test (p_set_based), whether they are all plain
--                         patches (p_patches: flowd_patch_records takes them when nothing
--                         listens to them), and whether every segment is its run's first
--                         (p_fresh: no step row of these runs exists yet, so steps are
--                         inserted without ON CONFLICT). The segments also carry their
--                         assignments rows (one statement for the group instead of one per
--                         assignment). A run that succeeded sends only its vars as scope and
--                         no state (server/xrun.c).
--   steps                 lose their primary key (run_id, id): steps_attempt (run_id, node_id,
--                         attempt) is unique and is what every look-up uses, so each step row
--                         costs one index entry fewer.

-- The set-based intake: 008's flowd_intake after its test, unchanged.
CREATE FUNCTION flowd_intake_set(p_events jsonb, p_owner text, p_cause bigint, p_depth int,
                             p_max_depth int, p_lease_ms int)
RETURNS jsonb LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off AS $$
DECLARE
  v jsonb;
  v_keys text[];
  v_ids bigint[];
  v_types text[];
  v_woken jsonb := '[]';
BEGIN
  -- A repeated key is a duplicate: intakes of one key take turns on a lock of its hash (held
  -- to the commit), taken in one order so that two groups cannot deadlock.
  SELECT array_agg(DISTINCT e->>'key') INTO v_keys
  FROM jsonb_array_elements(p_events) e WHERE e->>'key' IS NOT NULL;
  IF v_keys IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(74635, h)
    FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest(v_keys) k ORDER BY 1) s;
  END IF;

  -- Joins between the statement's own intermediate results are avoided (their row counts
  -- are unknown to the planner, so it would nest loops over them): each record and customer
  -- is looked up by primary key, and what the runs need travels along the rows.
  WITH src AS MATERIALIZED (
    SELECT x.ord::int AS ord, flowd_day_id() AS id, x.value->>'type' AS type,
           x.value->>'key' AS key, coalesce(x.value->'data', '{}') AS data,
           coalesce((x.value->>'replace')::boolean, false) AS repl,
           coalesce((x.value->>'cause')::bigint, p_cause) AS cause,
           coalesce((x.value->>'depth')::int, p_depth) AS depth
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(value, ord)
  ), ev AS MATERIALIZED (
    SELECT e.*, CASE WHEN e.kind IS NOT NULL THEN e.data->>'id' END AS rid,
           CASE WHEN e.key IS NOT NULL THEN
             coalesce((SELECT x.id FROM events x WHERE x.key = e.key LIMIT 1),
                      nullif(e.first_id, e.id)) END AS dup_of
    FROM (SELECT s.*,
                 CASE WHEN s.type ~ '^[a-z][a-z0-9_]*\.(created|updated|deleted)$'
                           AND s.data ? 'id' THEN split_part(s.type, '.', 1) END AS kind,
                 split_part(s.type, '.', 2) AS verb,
                 first_value(s.id) OVER (PARTITION BY s.key ORDER BY s.ord) AS first_id
          FROM src s) e
  ), new_ev AS (
    SELECT * FROM ev WHERE dup_of IS NULL
  ), ins_ev AS (
    INSERT INTO events (id, type, key, data, record_kind, record_id, cause_run, depth)
    SELECT id, type, key, data, kind, rid, cause, depth FROM new_ev ORDER BY ord
  -- inline customers: one upsert per customer, its patches folded in event order; rows are
  -- locked in key order so that concurrent intakes cannot deadlock
  ), cust AS MATERIALIZED (
    SELECT c.cid, CASE WHEN o.found AND NOT o.deleted THEN o.data || c.patch
                       ELSE c.patch END AS data
    FROM (SELECT data->'customer'->>'id' AS cid,
                 flowd_merge(data->'customer' ORDER BY ord) AS patch
          FROM new_ev
          WHERE kind IS NOT NULL AND kind <> 'customer'
            AND jsonb_typeof(data->'customer') = 'object' AND data->'customer' ? 'id'
          GROUP BY 1 ORDER BY 1) c
    LEFT JOIN LATERAL (SELECT true AS found, r.data, r.deleted FROM records r
                       WHERE r.kind = 'customer' AND r.id = c.cid FOR UPDATE) o ON true
  ), cust_map AS (
    SELECT jsonb_object_agg(cid, data) AS m FROM cust
  ), cust_up AS (
    INSERT INTO records AS r (kind, id, data, status, owner_id, customer_id, deleted)
    SELECT 'customer', cid, data, data->>'status', data->>'owner_id', data->>'customer_id', false
    FROM cust ORDER BY cid
    ON CONFLICT (kind, id) DO UPDATE
      SET data = EXCLUDED.data, status = EXCLUDED.status, owner_id = EXCLUDED.owner_id,
          customer_id = EXCLUDED.customer_id, deleted = EXCLUDED.deleted,
          version = r.version + 1, updated_at = now()
  -- the records the events carry (each at most once in this group), locked in key order
  ), rec AS MATERIALIZED (
    SELECT i.*, CASE WHEN o.found AND NOT o.deleted THEN o.status END AS old_status,
           CASE WHEN o.found AND NOT o.deleted AND NOT i.repl THEN o.data || i.patch
                ELSE i.patch END AS new_data
    FROM (SELECT ord, id, type, key, data, kind, verb, rid, repl, cause, depth,
                 CASE WHEN kind <> 'customer' AND jsonb_typeof(data->'customer') = 'object'
                           AND data->'customer' ? 'id'
                      THEN (data - 'customer') || jsonb_build_object('customer_id',
                                                                     data->'customer'->>'id')
                      ELSE data END AS patch
          FROM new_ev WHERE kind IS NOT NULL ORDER BY kind, rid) i
    LEFT JOIN LATERAL (SELECT true AS found, r.data, r.status, r.deleted FROM records r
                       WHERE r.kind = i.kind AND r.id = i.rid FOR UPDATE) o ON true
  ), rec_up AS (
    INSERT INTO records AS r (kind, id, data, status, owner_id, customer_id, deleted)
    SELECT kind, rid, new_data, new_data->>'status', new_data->>'owner_id',
           new_data->>'customer_id', verb = 'deleted'
    FROM rec ORDER BY kind, rid
    ON CONFLICT (kind, id) DO UPDATE
      SET data = EXCLUDED.data, status = EXCLUDED.status, owner_id = EXCLUDED.owner_id,
          customer_id = EXCLUDED.customer_id, deleted = EXCLUDED.deleted,
          version = r.version + 1, updated_at = now()
  -- status rules: runs holding a record in another status are cancelled at once, and the
  -- change is an event of its own
  ), changes AS MATERIALIZED (
    SELECT n.*, n.new_data->>'status' AS new_status, flowd_day_id() AS sc_id,
           jsonb_build_object('id', n.rid, 'from', n.old_status,
                              'to', n.new_data->>'status') AS sc_data
    FROM (SELECT * FROM rec ORDER BY ord) n
    WHERE n.new_data->>'status' IS DISTINCT FROM n.old_status
      AND n.new_data->>'status' IS NOT NULL AND n.verb <> 'deleted'
  ), cancel AS (
    UPDATE runs SET status = 'cancelled', due_at = NULL, finished_at = now(), updated_at = now(),
           reason = format('%s %s left status "%s" (now "%s")', c.kind, c.rid, runs.hold_status,
                           c.new_status)
    FROM changes c
    WHERE runs.record_kind = c.kind AND runs.record_id = c.rid AND runs.hold_status IS NOT NULL
      AND runs.hold_status <> c.new_status AND runs.status IN ('running', 'waiting')
    RETURNING runs.id, runs.flow_id, runs.reason
  ), ins_sc AS (
    INSERT INTO events (id, type, data, record_kind, record_id, cause_run, depth)
    SELECT sc_id, kind || '.status_changed', sc_data, kind, rid, cause, depth
    FROM changes ORDER BY ord
  ), all_ev AS (
    SELECT ord, 0 AS sub, id, type, key, data, NULL::text AS kind, NULL::text AS rid, depth,
           NULL::text[] AS changed, NULL::jsonb AS record
    FROM new_ev WHERE kind IS NULL
    UNION ALL
    SELECT ord, 0, id, type, key, data, kind, rid, depth,
           ARRAY(SELECT jsonb_object_keys(data)), new_data
    FROM rec
    UNION ALL
    SELECT ord, 1, sc_id, kind || '.status_changed', NULL, sc_data, kind, rid, depth, NULL,
           new_data
    FROM changes
  -- the runs of every active trigger that matches, in priority order per event
  ), m AS MATERIALIZED (
    SELECT x.*, flowd_day_id() AS run_id
    FROM (SELECT a.ord, a.sub, a.id, a.type, a.key, a.data, a.kind, a.rid, a.depth, a.record,
                 t.flow_id, t.version, t.node_id, t.priority,
                 CASE WHEN t.hold THEN t.to_status END AS hold_status
          FROM all_ev a JOIN flow_triggers t ON t.event_type = a.type
          WHERE a.depth <= p_max_depth
            AND (t.from_status IS NULL OR t.from_status = a.data->>'from')
            AND (t.to_status IS NULL OR t.to_status = a.data->>'to')
            AND (t.fields IS NULL OR t.fields && a.changed)
          ORDER BY a.ord, a.sub, t.priority, t.flow_id) x
  ), ins_runs AS (
    INSERT INTO runs (id, flow_id, flow_version, trigger_node, event_id, record_kind, record_id,
                      hold_status, priority, depth, lease_owner, lease_until, due_at)
    SELECT run_id, flow_id, version, node_id, id, kind, rid, hold_status, priority, depth,
           p_owner, now() + p_lease_ms * interval '1 millisecond',
           now() + p_lease_ms * interval '1 millisecond'
    FROM m ORDER BY run_id
  )
  SELECT jsonb_build_object(
    'accepted', (SELECT jsonb_agg(jsonb_build_object('id', coalesce(dup_of, id),
                                                     'duplicate', dup_of IS NOT NULL)
                                  ORDER BY ord) FROM ev),
    'runs', (SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', m.run_id, 'flow_id', m.flow_id, 'version', m.version,
               'trigger', m.node_id, 'event_id', m.id, 'status', 'running',
               'test', false, 'depth', m.depth, 'state', '{}'::jsonb, 'scope', '{}'::jsonb,
               'record_kind', m.kind, 'record_id', m.rid,
               'event', jsonb_build_object('id', m.id, 'type', m.type, 'key', m.key,
                                           'at', now(), 'data', m.data),
               'record', m.record,
               'customer', coalesce((SELECT cm.m FROM cust_map cm) -> (m.record->>'customer_id'),
                                    (SELECT c.data FROM records c
                                     WHERE c.kind = 'customer'
                                       AND c.id = m.record->>'customer_id')),
               'signals', '[]'::jsonb, 'deliveries', '[]'::jsonb)
               ORDER BY m.run_id), '[]')
             FROM m),
    'cancelled', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'flow_id', flow_id,
                                                               'reason', reason)), '[]')
                  FROM cancel),
    'depth_limited', EXISTS (SELECT 1 FROM src WHERE depth > p_max_depth)),
    (SELECT array_agg(id ORDER BY id) FROM all_ev),
    (SELECT array_agg(type ORDER BY id) FROM all_ev)
  INTO v, v_ids, v_types;

  -- wait.event: leave a signal for every run waiting on these events and make it due now.
  IF EXISTS (SELECT 1 FROM run_waits WHERE event_type = ANY (v_types)) THEN
    WITH s AS (
      INSERT INTO run_signals (run_id, node_id, event_id)
      SELECT w.run_id, w.node_id, e.id
      FROM unnest(v_ids, v_types) AS e(id, type)
      JOIN run_waits w ON w.event_type = e.type AND w.since < e.id
      ORDER BY e.id
      RETURNING run_id
    ), u AS (
      UPDATE runs SET due_at = now() WHERE id IN (SELECT run_id FROM s)
        AND status IN ('running', 'waiting')
        AND (lease_until IS NULL OR lease_until < now())
      RETURNING id)
    SELECT coalesce(jsonb_agg(id), '[]') INTO v_woken FROM u;
  END IF;
  RETURN v || jsonb_build_object('woken', v_woken);
END $$;

-- 008's flowd_intake: the test, then event by event or flowd_intake_set.
CREATE OR REPLACE FUNCTION flowd_intake(p_events jsonb, p_owner text, p_cause bigint, p_depth int,
                             p_max_depth int, p_lease_ms int)
RETURNS jsonb LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off AS $$
DECLARE
  v jsonb;
  b record;
  r jsonb;
BEGIN
  -- Fan-page events (conversations) and groups that touch a record twice go event by event:
  -- each event must see the record as the one before it left it.
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) e
             WHERE e->>'type' IN ('message.received', 'comment.created', 'livestream.comment')
               AND coalesce(e->'data'->>'page_id', '') <> '')
     OR EXISTS (SELECT 1 FROM (
                  SELECT split_part(e->>'type', '.', 1) AS kind, e->'data'->>'id' AS rid
                  FROM jsonb_array_elements(p_events) e
                  WHERE e->>'type' ~ '^[a-z][a-z0-9_]*\.(created|updated|deleted)$'
                    AND e->'data' ? 'id'
                  UNION ALL
                  SELECT DISTINCT 'customer', e->'data'->'customer'->>'id'
                  FROM jsonb_array_elements(p_events) e
                  WHERE e->>'type' ~ '^[a-z][a-z0-9_]*\.(created|updated|deleted)$'
                    AND e->'data' ? 'id' AND split_part(e->>'type', '.', 1) <> 'customer'
                    AND jsonb_typeof(e->'data'->'customer') = 'object'
                    AND e->'data'->'customer' ? 'id') k
                GROUP BY kind, rid HAVING count(*) > 1) THEN
    -- One call per stretch of consecutive events with the same cause and depth, in order.
    v := '{"accepted": [], "runs": [], "cancelled": [], "woken": [], "depth_limited": false}';
    FOR b IN
      SELECT x.cause, x.depth, jsonb_agg(x.e - 'cause' - 'depth' ORDER BY x.ord) AS evs
      FROM (SELECT y.*, y.ord - row_number() OVER (PARTITION BY y.cause, y.depth
                                                   ORDER BY y.ord) AS stretch
            FROM (SELECT a.e, a.ord, coalesce((a.e->>'cause')::bigint, p_cause) AS cause,
                         coalesce((a.e->>'depth')::int, p_depth) AS depth
                  FROM jsonb_array_elements(p_events) WITH ORDINALITY AS a(e, ord)) y) x
      GROUP BY x.stretch, x.cause, x.depth ORDER BY min(x.ord)
    LOOP
      r := flowd_intake_loop(b.evs, p_owner, b.cause, b.depth, p_max_depth, p_lease_ms);
      v := jsonb_build_object(
        'accepted', (v->'accepted') || (r->'accepted'), 'runs', (v->'runs') || (r->'runs'),
        'cancelled', (v->'cancelled') || (r->'cancelled'), 'woken', (v->'woken') || (r->'woken'),
        'depth_limited', (v->'depth_limited')::boolean OR (r->'depth_limited')::boolean);
    END LOOP;
    RETURN v;
  END IF;
  RETURN flowd_intake_set(p_events, p_owner, p_cause, p_depth, p_max_depth, p_lease_ms);
END $$;

-- Record updates that are plain patches (p_events: "<kind>.updated" of one record each, by
-- id, none with "status", "customer" or "replace"; flowd's intake_keys tells) of event types
-- no active trigger and no waiting run listens to: what flowd_intake_set would do with them
-- (store the events, merge the patches into the records), in one small statement instead of
-- its whole plan. No status changes, so nothing to cancel; no listener, so no run. Such are
-- the owner changes of action.assign. Returns flowd_intake's answer.
CREATE FUNCTION flowd_patch_records(p_events jsonb, p_max_depth int) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  WITH e AS MATERIALIZED (
    SELECT x.ord, x.ev->>'type' AS type, x.ev->'data' AS data,
           split_part(x.ev->>'type', '.', 1) AS kind, x.ev->'data'->>'id' AS rid,
           (x.ev->>'cause')::bigint AS cause, coalesce((x.ev->>'depth')::int, 0) AS depth
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(ev, ord)
  ), ins AS (
    INSERT INTO events (id, type, data, record_kind, record_id, cause_run, depth)
    SELECT flowd_day_id(), type, data, kind, rid, cause, depth FROM e ORDER BY ord
  )
  -- locked in key order, as the intake does
  INSERT INTO records AS r (kind, id, data, status, owner_id, customer_id, deleted)
  SELECT kind, rid, data, NULL, data->>'owner_id', data->>'customer_id', false
  FROM e ORDER BY kind, rid
  ON CONFLICT (kind, id) DO UPDATE
    SET data = CASE WHEN r.deleted THEN EXCLUDED.data ELSE r.data || EXCLUDED.data END,
        status = CASE WHEN r.deleted THEN NULL ELSE r.status END,
        owner_id = (CASE WHEN r.deleted THEN EXCLUDED.data
                         ELSE r.data || EXCLUDED.data END)->>'owner_id',
        customer_id = (CASE WHEN r.deleted THEN EXCLUDED.data
                            ELSE r.data || EXCLUDED.data END)->>'customer_id',
        deleted = false, version = r.version + 1, updated_at = now();
  RETURN jsonb_build_object('accepted', '[]'::jsonb, 'runs', '[]'::jsonb,
    'cancelled', '[]'::jsonb, 'woken', '[]'::jsonb,
    'depth_limited', EXISTS (SELECT 1 FROM jsonb_array_elements(p_events) e
                             WHERE coalesce((e->>'depth')::int, 0) > p_max_depth));
END $$;

-- 008's flowd_commit_segments with p_set_based, p_patches, p_fresh and the assignments.
DROP FUNCTION flowd_commit_segments(jsonb, text, int, int);
CREATE FUNCTION flowd_commit_segments(p_segs jsonb, p_owner text, p_max_depth int,
                                      p_lease_ms int, p_set_based boolean,
                                      p_patches boolean, p_fresh boolean)
RETURNS jsonb LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off AS $$
DECLARE
  v_n int;
  v_ids bigint[];
  v_touched bigint[];
  v_due_now bigint[] := '{}';
  v_events jsonb;
  v_types text[];
  v jsonb;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  -- Record updates first (as flowd_commit_segment does): a run of this group that they
  -- cancel is then no longer held below, and the group falls back to one by one.
  SELECT jsonb_agg(ev || jsonb_build_object('cause', (g->>'run')::bigint,
                                            'depth', (g->>'depth')::int) ORDER BY go, eo),
         array_agg(DISTINCT ev->>'type')
  INTO v_events, v_types
  FROM jsonb_array_elements(p_segs) WITH ORDINALITY AS a(g, go),
       jsonb_array_elements(g->'events') WITH ORDINALITY AS b(ev, eo);
  IF v_events IS NOT NULL AND p_set_based AND p_patches
     AND NOT EXISTS (SELECT 1 FROM flow_triggers WHERE event_type = ANY (v_types))
     AND NOT EXISTS (SELECT 1 FROM run_waits WHERE event_type = ANY (v_types)) THEN
    v := flowd_patch_records(v_events, p_max_depth);
  ELSIF v_events IS NOT NULL AND p_set_based THEN
    v := flowd_intake_set(v_events, p_owner, NULL, 0, p_max_depth, p_lease_ms);
  ELSIF v_events IS NOT NULL THEN
    v := flowd_intake(v_events, p_owner, NULL, 0, p_max_depth, p_lease_ms);
  END IF;
  -- Waits, signals and wake-ups, for the runs that waited or wait now ("touched"): waits
  -- to add count events after the latest one, waits and signals of nodes no longer waiting
  -- go, signals taken go, and a run about to wait while something arrived for it (a
  -- signal, a delivery's outcome) stays due now.
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_segs) g WHERE g ? 'touched') THEN
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_segs) g
               WHERE jsonb_array_length(g->'waits') > 0) THEN
      INSERT INTO run_waits (run_id, node_id, event_type, since)
      SELECT (g->>'run')::bigint, w.node, w.type, coalesce((SELECT max(id) FROM events), 0)
      FROM jsonb_array_elements(p_segs) g,
           jsonb_to_recordset(g->'waits') AS w(node text, type text)
      WHERE g ? 'touched'
      ON CONFLICT DO NOTHING;
    END IF;
    SELECT array_agg((g->>'run')::bigint) INTO v_touched
    FROM jsonb_array_elements(p_segs) g WHERE g ? 'touched';
    DELETE FROM run_waits w
    USING (SELECT (g->>'run')::bigint AS run,
                  ARRAY(SELECT jsonb_array_elements_text(g->'waiting')) AS waiting
           FROM jsonb_array_elements(p_segs) g WHERE g ? 'touched') t
    WHERE w.run_id = ANY (v_touched) AND w.run_id = t.run AND NOT (w.node_id = ANY (t.waiting));
    DELETE FROM run_signals x
    USING (SELECT (g->>'run')::bigint AS run, (g->>'max_signal')::bigint AS max_signal,
                  ARRAY(SELECT jsonb_array_elements_text(g->'waiting')) AS waiting
           FROM jsonb_array_elements(p_segs) g WHERE g ? 'touched') t
    WHERE x.run_id = ANY (v_touched) AND x.run_id = t.run
      AND (x.id <= t.max_signal OR NOT (x.node_id = ANY (t.waiting)));
    SELECT array_agg(t.run) INTO v_due_now
    FROM (SELECT (g->>'run')::bigint AS run FROM jsonb_array_elements(p_segs) g
          WHERE g ? 'touched' AND g->>'status' = 'waiting') t
    WHERE EXISTS (SELECT 1 FROM run_signals x WHERE x.run_id = t.run)
       OR EXISTS (SELECT 1 FROM run_wakeups k WHERE k.run_id = t.run);
    DELETE FROM run_wakeups WHERE run_id = ANY (v_touched);
  END IF;
  -- The runs by primary key (id = ANY): a join alone may scan the partitions' running runs.
  SELECT array_agg((g->>'run')::bigint) INTO v_ids FROM jsonb_array_elements(p_segs) g;
  WITH s AS (
    SELECT * FROM jsonb_to_recordset(p_segs) AS x(run bigint, status text, state jsonb,
                                                  scope jsonb, due timestamptz, error text,
                                                  reason text)
  ), u AS (
    UPDATE runs r SET status = s.status, state = coalesce(s.state, r.state),
           scope = coalesce(s.scope, r.scope),
           due_at = CASE WHEN s.run = ANY (v_due_now) THEN now() ELSE s.due END,
           lease_owner = NULL,
           lease_until = NULL, error = s.error, reason = coalesce(s.reason, r.reason),
           updated_at = now(),
           finished_at = CASE WHEN s.status IN ('succeeded', 'failed') THEN now() END
    FROM s
    -- (NOT IN the final statuses: an IN list of the live ones would match the partial
    -- indexes' predicate and lure the planner into scanning every live run)
    WHERE r.id = ANY (v_ids) AND r.id = s.run AND r.lease_owner = p_owner
      AND r.status NOT IN ('succeeded', 'failed', 'cancelled')
    RETURNING r.id)
  SELECT count(*) INTO v_n FROM u;
  IF v_n <> jsonb_array_length(p_segs) THEN
    RAISE EXCEPTION '% of % runs are no longer held by %', jsonb_array_length(p_segs) - v_n,
      jsonb_array_length(p_segs), p_owner USING ERRCODE = 'FD001';
  END IF;
  IF p_fresh THEN
    INSERT INTO steps (run_id, node_id, status, attempt, port, started_at, finished_at, output,
                       error)
    SELECT (g->>'run')::bigint, x.node_id, x.status, x.attempt, x.port, x.started_at,
           x.finished_at, x.output, x.error
    FROM jsonb_array_elements(p_segs) AS g,
         jsonb_to_recordset(g->'steps') AS x(node_id text, status text, attempt int, port text,
         started_at timestamptz, finished_at timestamptz, output jsonb, error text);
  ELSE
    INSERT INTO steps (run_id, node_id, status, attempt, port, started_at, finished_at, output,
                       error)
    SELECT (g->>'run')::bigint, x.node_id, x.status, x.attempt, x.port, x.started_at,
           x.finished_at, x.output, x.error
    FROM jsonb_array_elements(p_segs) AS g,
         jsonb_to_recordset(g->'steps') AS x(node_id text, status text, attempt int, port text,
         started_at timestamptz, finished_at timestamptz, output jsonb, error text)
    ON CONFLICT (run_id, node_id, attempt) DO UPDATE SET status = EXCLUDED.status,
      port = EXCLUDED.port, finished_at = EXCLUDED.finished_at, output = EXCLUDED.output,
      error = EXCLUDED.error;
  END IF;
  IF jsonb_path_exists(p_segs, '$[*].assignments') THEN
    INSERT INTO assignments (run_id, node_id, target_kind, target_id, customer_id, scope,
                             staff_id, team_id)
    SELECT (g->>'run')::bigint, a.node_id, a.target_kind, a.target_id, a.customer_id,
           coalesce(a.scope, ''), a.staff_id, a.team_id
    FROM jsonb_array_elements(p_segs) AS g,
         jsonb_to_recordset(g->'assignments') AS a(node_id text, target_kind text,
         target_id text, customer_id text, scope text, staff_id text, team_id text)
    WHERE g ? 'assignments';
  END IF;
  RETURN v;
END $$;

ALTER TABLE steps DROP CONSTRAINT steps_pkey;
