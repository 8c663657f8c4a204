-- The executor's functions that see deliveries: a run's context carries the deliveries its
-- steps made, so a step waiting on its delivery sees the outcome when it resumes; a delivery
-- that became final wakes its run (NOTIFY flowd_delivery_final is the fast path; the
-- run_wakeups table is the durable one).

-- Everything the executor needs to continue a run, as one JSON document.
CREATE FUNCTION flowd_run_context(p_run bigint) RETURNS jsonb LANGUAGE sql STABLE
SET plan_cache_mode = force_custom_plan AS $$
  SELECT jsonb_build_object(
    'id', r.id, 'flow_id', r.flow_id, 'version', r.flow_version, 'trigger', r.trigger_node,
    'status', r.status, 'test', r.test, 'depth', r.depth, 'state', r.state, 'scope', r.scope,
    'record_kind', r.record_kind, 'record_id', r.record_id,
    'event', coalesce(r.scope->'~event', (SELECT jsonb_build_object('id', e.id, 'type', e.type,
             'key', e.key, 'at', e.at, 'data', e.data) FROM events e WHERE e.id = r.event_id)),
    'record', (SELECT rec.data FROM records rec
               WHERE rec.kind = r.record_kind AND rec.id = r.record_id),
    'customer', (SELECT c.data FROM records rec JOIN records c
                   ON c.kind = 'customer' AND c.id = rec.customer_id
                 WHERE rec.kind = r.record_kind AND rec.id = r.record_id),
    'signals', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', s.id, 'node', s.node_id,
                'event', jsonb_build_object('id', e.id, 'type', e.type, 'key', e.key,
                'at', e.at, 'data', e.data)) ORDER BY s.id), '[]')
                FROM run_signals s JOIN events e ON e.id = s.event_id WHERE s.run_id = r.id),
    'deliveries', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'node', d.node_id,
                   'channel', d.channel, 'status', d.status, 'attempts', d.attempts,
                   'response', d.response, 'error', d.error, 'to', d."to") ORDER BY d.id), '[]')
                   FROM deliveries d WHERE d.run_id = r.id))
  FROM runs r WHERE r.id = p_run
$$;

-- Runs to wake: a delivery of theirs became final. The trigger on deliveries only inserts
-- here (it never locks a run, so outcome writes of many deliveries cannot deadlock on runs);
-- claiming applies the wake-ups, and a segment commit that finds one keeps its run due.
CREATE FUNCTION flowd_load_runs(p_ids bigint[]) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(flowd_run_context(id) ORDER BY ord), '[]')
  FROM unnest(p_ids) WITH ORDINALITY AS u(id, ord)
$$;

CREATE TABLE run_wakeups (
  id     bigserial PRIMARY KEY,
  run_id bigint NOT NULL
);
CREATE INDEX run_wakeups_run ON run_wakeups (run_id);

CREATE FUNCTION flowd_delivery_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.run_id IS NOT NULL AND NEW.status IN ('sent', 'failed', 'recorded')
     AND OLD.status IS DISTINCT FROM NEW.status THEN
    INSERT INTO run_wakeups (run_id) VALUES (NEW.run_id);
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER deliveries_wake_run AFTER UPDATE OF status ON deliveries
  FOR EACH ROW EXECUTE FUNCTION flowd_delivery_wake();

-- Claims up to p_limit runs that are due and not leased by a live process (a process that
-- died leaves its lease to expire), and returns their contexts.
CREATE FUNCTION flowd_claim(p_owner text, p_limit int, p_lease_ms int) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
DECLARE
  v_ids bigint[];
BEGIN
  -- Wake-ups of runs nobody holds make them due now (held ones see theirs when they commit).
  WITH w AS (
    DELETE FROM run_wakeups x USING runs r
    WHERE r.id = x.run_id AND (r.lease_until IS NULL OR r.lease_until < now())
    RETURNING x.run_id)
  UPDATE runs SET due_at = now() WHERE id IN (SELECT run_id FROM w)
    AND status IN ('running', 'waiting');
  WITH c AS (
    SELECT id FROM runs
    WHERE status IN ('running', 'waiting') AND due_at <= now()
      AND (lease_until IS NULL OR lease_until < now())
    ORDER BY due_at LIMIT p_limit FOR UPDATE SKIP LOCKED),
  u AS (
    UPDATE runs r SET lease_owner = p_owner,
           lease_until = now() + p_lease_ms * interval '1 millisecond',
           due_at = now() + p_lease_ms * interval '1 millisecond'
    FROM c WHERE r.id = c.id RETURNING r.id)
  SELECT array_agg(id) INTO v_ids FROM u;
  RETURN flowd_load_runs(coalesce(v_ids, '{}'));
END $$;

-- Commits one segment of a run in one statement: stores the steps, passes record updates
-- through the intake (caused by the run), keeps waits and signals in step (p_waits_touched:
-- only for runs that waited or wait now), and writes the run's new state, which is also the
-- lease check: when this process no longer holds the run (cancelled, or taken over after
-- its lease expired) the function raises and the whole segment is rolled back. A run about
-- to wait while something arrived for it during the segment (a signal for a waiting node,
-- a delivery outcome) stays due now. Returns the intake's answer (or NULL).
-- Step commits do not wait for the WAL flush: a crash of PostgreSQL itself may lose the last
-- segments, and their runs resume from the previous one (nothing is half-applied). Events
-- keep full durability: their 202 waits for a synchronous commit.
-- Plans are made per call: a cached generic plan would lock every day partition of runs
-- and steps on each call.
CREATE FUNCTION flowd_commit_segment(
    p_run bigint, p_owner text, p_steps jsonb, p_status text, p_state jsonb, p_scope jsonb,
    p_due timestamptz, p_error text, p_reason text, p_waits jsonb, p_waiting text[],
    p_max_signal bigint, p_events jsonb, p_depth int, p_max_depth int, p_lease_ms int,
    p_waits_touched boolean)
RETURNS jsonb LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
DECLARE
  v jsonb;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  INSERT INTO steps (run_id, node_id, status, attempt, port, started_at, finished_at, output,
                     error)
  SELECT p_run, x.node_id, x.status, x.attempt, x.port, x.started_at, x.finished_at,
         x.output, x.error
  FROM jsonb_to_recordset(p_steps) AS x(node_id text, status text, attempt int, port text,
       started_at timestamptz, finished_at timestamptz, output jsonb, error text)
  ON CONFLICT (run_id, node_id, attempt) DO UPDATE SET status = EXCLUDED.status,
    port = EXCLUDED.port, finished_at = EXCLUDED.finished_at, output = EXCLUDED.output,
    error = EXCLUDED.error;
  IF p_events IS NOT NULL THEN
    v := flowd_intake(p_events, p_owner, p_run, p_depth, p_max_depth, p_lease_ms);
  END IF;
  IF p_waits_touched THEN
    IF jsonb_array_length(p_waits) > 0 THEN
      INSERT INTO run_waits (run_id, node_id, event_type, since)
      SELECT p_run, x.node, x.type, coalesce((SELECT max(id) FROM events), 0)
      FROM jsonb_to_recordset(p_waits) AS x(node text, type text) ON CONFLICT DO NOTHING;
    END IF;
    DELETE FROM run_waits WHERE run_id = p_run
      AND NOT (node_id = ANY (coalesce(p_waiting, '{}')));
    -- Signals are consumed, or pointless once their node no longer waits.
    DELETE FROM run_signals WHERE run_id = p_run
      AND (id <= p_max_signal OR NOT (node_id = ANY (coalesce(p_waiting, '{}'))));
    IF p_status = 'waiting' THEN
      IF EXISTS (SELECT 1 FROM run_signals WHERE run_id = p_run)
         OR EXISTS (SELECT 1 FROM run_wakeups WHERE run_id = p_run) THEN
        p_due := now();
      END IF;
    END IF;
    DELETE FROM run_wakeups WHERE run_id = p_run;
  END IF;
  UPDATE runs SET status = p_status, state = coalesce(p_state, state),
         scope = coalesce(p_scope, scope), due_at = p_due, lease_owner = NULL,
         lease_until = NULL, error = p_error, reason = coalesce(p_reason, reason),
         updated_at = now(),
         finished_at = CASE WHEN p_status IN ('succeeded', 'failed') THEN now() END
  WHERE id = p_run AND lease_owner = p_owner AND status IN ('running', 'waiting');
  IF NOT FOUND THEN
    RAISE EXCEPTION 'run % is no longer held by %', p_run, p_owner USING ERRCODE = 'FD001';
  END IF;
  RETURN v;
END $$;
