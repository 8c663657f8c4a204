-- Events, records, runs and steps, and the intake function that turns events into runs.
--
-- Intake is one function call per group of events (group commit): it stores the events
-- (a repeated key is a duplicate), upserts the records they carry, raises
-- <kind>.status_changed when a status changes (and cancels the runs that were holding the
-- record in its old status), wakes runs waiting for such events, and creates one run per
-- matching active trigger. A 202 is sent only after this commits: the runs exist durably.

CREATE TABLE records (
  kind        text NOT NULL,
  id          text NOT NULL,
  data        jsonb NOT NULL,
  status      text,
  owner_id    text,
  customer_id text,
  deleted     boolean NOT NULL DEFAULT false,
  version     bigint NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, id)
);
CREATE INDEX records_owner ON records (kind, owner_id);

CREATE TABLE events (
  id          bigserial PRIMARY KEY,
  type        text NOT NULL,
  key         text,
  data        jsonb NOT NULL,
  record_kind text,
  record_id   text,
  cause_run   bigint,
  depth       int NOT NULL DEFAULT 0,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX events_key ON events (key) WHERE key IS NOT NULL;

-- What each active flow listens to: maintained on activate/deactivate, so matching an event
-- is an index look-up on its type, whatever the number of active flows.
CREATE TABLE flow_triggers (
  flow_id     text NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
  version     int NOT NULL,
  node_id     text NOT NULL,
  event_type  text NOT NULL,
  from_status text,
  to_status   text,
  fields      text[],
  priority    int NOT NULL,
  hold        boolean NOT NULL,   -- cancel the run when the record leaves to_status
  PRIMARY KEY (flow_id, node_id)
);
CREATE INDEX flow_triggers_type ON flow_triggers (event_type);

CREATE TABLE runs (
  id           bigserial PRIMARY KEY,
  flow_id      text NOT NULL,
  flow_version int NOT NULL,      -- 0: a test run of the draft
  trigger_node text NOT NULL,
  event_id     bigint,
  record_kind  text,
  record_id    text,
  hold_status  text,              -- the status the record must keep, else the run is cancelled
  status       text NOT NULL DEFAULT 'running',
  priority     int NOT NULL DEFAULT 100,
  depth        int NOT NULL DEFAULT 0,
  test         boolean NOT NULL DEFAULT false,
  state        jsonb NOT NULL DEFAULT '{}',   -- per-node state of the walk
  scope        jsonb NOT NULL DEFAULT '{}',   -- vars and node outputs
  due_at       timestamptz,                   -- when the executor must look at it again
  lease_owner  text,
  lease_until  timestamptz,
  error        text,
  reason       text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
CREATE INDEX runs_due ON runs (due_at) WHERE status IN ('running', 'waiting');
CREATE INDEX runs_record ON runs (record_kind, record_id) WHERE status IN ('running', 'waiting');
CREATE INDEX runs_flow ON runs (flow_id, id DESC);
CREATE INDEX runs_status ON runs (status, id DESC);

CREATE TABLE steps (
  id          bigserial PRIMARY KEY,
  run_id      bigint NOT NULL,
  node_id     text NOT NULL,
  status      text NOT NULL,
  attempt     int NOT NULL DEFAULT 1,
  port        text,
  started_at  timestamptz,
  finished_at timestamptz,
  output      jsonb,
  error       text
);
CREATE INDEX steps_run ON steps (run_id, id);

-- A wait.event node waiting for events of a type; events of that type leave a signal and
-- wake the run, whose executor then evaluates the node's condition against them.
CREATE TABLE run_waits (
  run_id     bigint NOT NULL,
  node_id    text NOT NULL,
  event_type text NOT NULL,
  since      bigint NOT NULL,       -- only events after this one count
  PRIMARY KEY (run_id, node_id)
);
CREATE INDEX run_waits_type ON run_waits (event_type);

CREATE TABLE run_signals (
  id       bigserial PRIMARY KEY,
  run_id   bigint NOT NULL,
  node_id  text NOT NULL,
  event_id bigint NOT NULL
);
CREATE INDEX run_signals_run ON run_signals (run_id);

-- Applies one record event; returns the record's new data and its old and new status.
CREATE FUNCTION flowd_apply_record(p_kind text, p_verb text, p_data jsonb, p_replace boolean,
                                   OUT new_data jsonb, OUT old_status text,
                                   OUT new_status text, OUT existed boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_id   text := p_data->>'id';
  v_old  records%ROWTYPE;
  v_cust jsonb := p_data->'customer';
BEGIN
  IF jsonb_typeof(v_cust) = 'object' AND v_cust ? 'id' AND p_kind <> 'customer' THEN
    PERFORM flowd_apply_record('customer', 'updated', v_cust, false);
    p_data := (p_data - 'customer') || jsonb_build_object('customer_id', v_cust->>'id');
  END IF;
  SELECT * INTO v_old FROM records WHERE kind = p_kind AND id = v_id FOR UPDATE;
  existed := FOUND AND NOT v_old.deleted;
  old_status := CASE WHEN existed THEN v_old.status END;
  new_data := CASE WHEN existed AND NOT p_replace THEN v_old.data || p_data ELSE p_data END;
  new_status := new_data->>'status';
  INSERT INTO records AS r (kind, id, data, status, owner_id, customer_id, deleted)
  VALUES (p_kind, v_id, new_data, new_status, new_data->>'owner_id', new_data->>'customer_id',
          p_verb = 'deleted')
  ON CONFLICT (kind, id) DO UPDATE
    SET data = EXCLUDED.data, status = EXCLUDED.status, owner_id = EXCLUDED.owner_id,
        customer_id = EXCLUDED.customer_id, deleted = EXCLUDED.deleted,
        version = r.version + 1, updated_at = now();
END $$;

-- Creates the runs of every active trigger that matches one event. Returns them as JSON.
CREATE FUNCTION flowd_match(p_event bigint, p_type text, p_data jsonb, p_kind text,
                            p_rid text, p_changed text[], p_owner text, p_depth int,
                            p_lease_ms int)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_runs jsonb;
BEGIN
  WITH m AS (
    SELECT t.* FROM flow_triggers t
    WHERE t.event_type = p_type
      AND (t.from_status IS NULL OR t.from_status = p_data->>'from')
      AND (t.to_status IS NULL OR t.to_status = p_data->>'to')
      AND (t.fields IS NULL OR t.fields && p_changed)
  ), ins AS (
    INSERT INTO runs (flow_id, flow_version, trigger_node, event_id, record_kind, record_id,
                      hold_status, priority, depth, lease_owner, lease_until, due_at)
    SELECT m.flow_id, m.version, m.node_id, p_event, p_kind, p_rid,
           CASE WHEN m.hold THEN m.to_status END, m.priority, p_depth, p_owner,
           now() + p_lease_ms * interval '1 millisecond',
           now() + p_lease_ms * interval '1 millisecond'
    FROM m ORDER BY m.priority, m.flow_id
    RETURNING id, flow_id, flow_version, trigger_node, priority
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'flow_id', flow_id, 'version',
                  flow_version, 'trigger', trigger_node, 'event_id', p_event)
                  ORDER BY priority, flow_id), '[]')
  INTO v_runs FROM ins;
  RETURN v_runs;
END $$;

-- The intake: see the comment at the top. p_events is a JSON array of {type, key?, data};
-- p_owner is the flowd process that will execute the new runs (it holds their lease for
-- p_lease_ms; if it dies, another process takes them over when the lease has expired).
-- Returns {"accepted": [{"id", "duplicate"}...], "runs": [...], "cancelled": [...],
--          "woken": [...], "depth_limited": bool}.
CREATE FUNCTION flowd_intake(p_events jsonb, p_owner text, p_cause bigint, p_depth int,
                             p_max_depth int, p_lease_ms int)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  e jsonb; v_id bigint; v_type text; v_data jsonb; v_key text;
  v_kind text; v_verb text; v_rid text; v_changed text[];
  v_old_status text; v_new_status text; v_sc bigint; v_sc_data jsonb;
  accepted jsonb := '[]'; runs jsonb := '[]'; cancelled jsonb := '[]'; woken jsonb := '[]';
  limited boolean := p_depth > p_max_depth;
BEGIN
  FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
    v_type := e->>'type'; v_key := e->>'key'; v_data := coalesce(e->'data', '{}');
    v_kind := NULL; v_rid := NULL; v_verb := NULL; v_changed := NULL;
    v_old_status := NULL; v_new_status := NULL;
    IF v_type ~ '^[a-z][a-z0-9_]*\.(created|updated|deleted)$' AND v_data ? 'id' THEN
      v_kind := split_part(v_type, '.', 1);
      v_verb := split_part(v_type, '.', 2);
      v_rid := v_data->>'id';
    END IF;
    INSERT INTO events (type, key, data, record_kind, record_id, cause_run, depth)
    VALUES (v_type, v_key, v_data, v_kind, v_rid, p_cause, p_depth)
    ON CONFLICT (key) WHERE key IS NOT NULL DO NOTHING RETURNING id INTO v_id;
    IF v_id IS NULL THEN
      SELECT id INTO v_id FROM events WHERE key = v_key;
      accepted := accepted || jsonb_build_object('id', v_id, 'duplicate', true);
      CONTINUE;
    END IF;
    accepted := accepted || jsonb_build_object('id', v_id, 'duplicate', false);
    IF v_kind IS NOT NULL THEN
      SELECT a.old_status, a.new_status INTO v_old_status, v_new_status
      FROM flowd_apply_record(v_kind, v_verb, v_data,
                              coalesce((e->>'replace')::boolean, false)) a;
      SELECT array_agg(k) INTO v_changed FROM jsonb_object_keys(v_data) k;
    END IF;
    woken := woken || flowd_signal(v_id, v_type);
    IF NOT limited THEN
      runs := runs || flowd_match(v_id, v_type, v_data, v_kind, v_rid, v_changed, p_owner,
                                  p_depth, p_lease_ms);
    END IF;
    IF v_new_status IS DISTINCT FROM v_old_status AND v_new_status IS NOT NULL
       AND v_verb <> 'deleted' THEN
      -- Status rules: runs holding the record in another status are cancelled at once.
      WITH c AS (
        UPDATE runs SET status = 'cancelled', due_at = NULL, finished_at = now(),
               updated_at = now(),
               reason = format('%s %s left status "%s" (now "%s")', v_kind, v_rid,
                               hold_status, v_new_status)
        WHERE record_kind = v_kind AND record_id = v_rid AND hold_status IS NOT NULL
          AND hold_status <> v_new_status AND status IN ('running', 'waiting')
        RETURNING id, flow_id, reason)
      SELECT cancelled || coalesce(jsonb_agg(jsonb_build_object('id', id, 'flow_id', flow_id,
             'reason', reason)), '[]') INTO cancelled FROM c;
      v_sc_data := jsonb_build_object('id', v_rid, 'from', v_old_status, 'to', v_new_status);
      INSERT INTO events (type, data, record_kind, record_id, cause_run, depth)
      VALUES (v_kind || '.status_changed', v_sc_data, v_kind, v_rid, p_cause, p_depth)
      RETURNING id INTO v_sc;
      woken := woken || flowd_signal(v_sc, v_kind || '.status_changed');
      IF NOT limited THEN
        runs := runs || flowd_match(v_sc, v_kind || '.status_changed', v_sc_data, v_kind,
                                    v_rid, NULL, p_owner, p_depth, p_lease_ms);
      END IF;
    END IF;
  END LOOP;
  RETURN jsonb_build_object('accepted', accepted, 'runs', runs, 'cancelled', cancelled,
                            'woken', woken, 'depth_limited', limited);
END $$;

-- Leaves a signal for every run waiting on events of this type and makes it due now.
CREATE FUNCTION flowd_signal(p_event bigint, p_type text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v jsonb;
BEGIN
  WITH s AS (
    INSERT INTO run_signals (run_id, node_id, event_id)
    SELECT w.run_id, w.node_id, p_event FROM run_waits w
    WHERE w.event_type = p_type AND w.since < p_event
    RETURNING run_id), u AS (
    UPDATE runs SET due_at = now() WHERE id IN (SELECT run_id FROM s)
      AND status IN ('running', 'waiting')
      AND (lease_until IS NULL OR lease_until < now()) RETURNING id)
  SELECT coalesce(jsonb_agg(id), '[]') INTO v FROM u;
  RETURN v;
END $$;

-- Raises unless run p_run is still running under p_owner's lease: the first statement of
-- every step commit, so a run cancelled meanwhile keeps none of that segment's effects.
CREATE FUNCTION flowd_own_run(p_run bigint, p_owner text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM runs WHERE id = p_run AND status IN ('running', 'waiting')
    AND lease_owner = p_owner FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'run % is no longer held by %', p_run, p_owner USING ERRCODE = 'FD001';
  END IF;
END $$;

-- Rebuilds the trigger index of a flow from its active version (NULL: none).
CREATE FUNCTION flowd_index_triggers(p_flow text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM flow_triggers WHERE flow_id = p_flow;
  INSERT INTO flow_triggers (flow_id, version, node_id, event_type, from_status, to_status,
                             fields, priority, hold)
  SELECT f.id, v.version, n->>'id',
         CASE n->>'type'
           WHEN 'trigger.record' THEN (n->'config'->>'kind') || '.' ||
                (CASE n->'config'->>'on' WHEN 'created' THEN 'created'
                   WHEN 'updated' THEN 'updated' WHEN 'deleted' THEN 'deleted'
                   ELSE 'status_changed' END)
           ELSE n->'config'->>'type' END,
         CASE WHEN n->>'type' = 'trigger.record' THEN n->'config'->>'from' END,
         CASE WHEN n->>'type' = 'trigger.record' THEN n->'config'->>'to' END,
         CASE WHEN n->'config' ? 'fields' THEN
              ARRAY(SELECT jsonb_array_elements_text(n->'config'->'fields')) END,
         coalesce((v.doc->>'priority')::int, 100),
         n->>'type' = 'trigger.record' AND n->'config' ? 'to'
           AND coalesce((n->'config'->>'cancel_on_leave')::boolean, true)
  FROM flows f JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.active_version,
       jsonb_array_elements(v.doc->'nodes') n
  WHERE f.id = p_flow AND n->>'type' IN ('trigger.record', 'trigger.event');
END $$;

CREATE UNIQUE INDEX steps_attempt ON steps (run_id, node_id, attempt);

-- The executor's functions that also see deliveries (run context, claim, segment commit)
-- are in 005_run_deliveries.sql.
