-- The set-based intake answers in json, not jsonb.
--
-- flowd_intake_set (011) built its answer as jsonb: every run's context (its event, record
-- and customer, ~17 keys) was assembled as a jsonb object, its keys sorted, and the whole
-- answer then printed as text for flowd. Built as json, the context is text written once.
-- One call (bench/intake_call_bench.sh "1 12 24"): each event that starts a run cost ~85 µs
-- of PostgreSQL before, ~69 after, and a call of 12 events 1.39 ms before, 1.20 after. The
-- intake is the one serial lane of event intake: this is time taken off every group commit.
--
--   flowd_intake_json  011's flowd_intake_set, the answer in json; flowd calls it.
--   flowd_intake_set   now its jsonb form (flowd_intake and flowd_commit_segments call it).

-- 011's flowd_intake_set; only the answer's construction differs.
CREATE FUNCTION flowd_intake_json(p_events jsonb, p_owner text, p_cause bigint, p_depth int,
                                  p_max_depth int, p_lease_ms int)
RETURNS json LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off AS $$
DECLARE
  v_accepted jsonb;
  v_runs json;
  v_cancelled jsonb;
  v_depth_limited boolean;
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
  SELECT
    (SELECT jsonb_agg(jsonb_build_object('id', coalesce(dup_of, id),
                                         'duplicate', dup_of IS NOT NULL) ORDER BY ord) FROM ev),
    (SELECT coalesce(json_agg(json_build_object(
               'id', m.run_id, 'flow_id', m.flow_id, 'version', m.version,
               'trigger', m.node_id, 'event_id', m.id, 'status', 'running',
               'test', false, 'depth', m.depth, 'state', '{}'::jsonb, 'scope', '{}'::jsonb,
               'record_kind', m.kind, 'record_id', m.rid,
               'event', json_build_object('id', m.id, 'type', m.type, 'key', m.key,
                                          'at', now(), 'data', m.data),
               'record', m.record,
               'customer', coalesce((SELECT cm.m FROM cust_map cm) -> (m.record->>'customer_id'),
                                    (SELECT c.data FROM records c
                                     WHERE c.kind = 'customer'
                                       AND c.id = m.record->>'customer_id')),
               'signals', '[]'::jsonb, 'deliveries', '[]'::jsonb)
               ORDER BY m.run_id), '[]'::json)
     FROM m),
    (SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'flow_id', flow_id,
                                                  'reason', reason)), '[]')
     FROM cancel),
    EXISTS (SELECT 1 FROM src WHERE depth > p_max_depth),
    (SELECT array_agg(id ORDER BY id) FROM all_ev),
    (SELECT array_agg(type ORDER BY id) FROM all_ev)
  INTO v_accepted, v_runs, v_cancelled, v_depth_limited, v_ids, v_types;

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
  RETURN json_build_object('accepted', v_accepted, 'runs', v_runs, 'cancelled', v_cancelled,
                           'depth_limited', v_depth_limited, 'woken', v_woken);
END $$;

-- The same answer as jsonb, for the callers inside PostgreSQL.
CREATE OR REPLACE FUNCTION flowd_intake_set(p_events jsonb, p_owner text, p_cause bigint,
                                            p_depth int, p_max_depth int, p_lease_ms int)
RETURNS jsonb LANGUAGE sql AS $$
  SELECT flowd_intake_json(p_events, p_owner, p_cause, p_depth, p_max_depth, p_lease_ms)::jsonb
$$;
