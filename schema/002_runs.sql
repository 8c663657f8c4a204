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

-- History is kept for a retention (FLOWD_RETENTION) and dropped a whole day at a time, never
-- by a mass DELETE: events, runs and steps are partitioned by day. Their ids carry their day
-- (days since the epoch << 32 | a sequence), so the day partitions are ranges of ids: a
-- look-up by id touches one partition, a run's steps (partitioned by run_id) live in the day
-- of the run, and a run is made in the same transaction as its event, so in the same day.
-- flowd_maintain() (at the end of this file) creates days ahead and drops expired ones.
CREATE SEQUENCE flowd_run_seq;
CREATE FUNCTION flowd_day_id() RETURNS bigint LANGUAGE sql VOLATILE AS $$
  SELECT ((extract(epoch FROM now())::bigint / 86400) << 32)
         | (nextval('flowd_run_seq') & 4294967295)
$$;

CREATE TABLE events (
  id          bigint NOT NULL DEFAULT flowd_day_id(),
  type        text NOT NULL,
  key         text,
  data        jsonb NOT NULL,
  record_kind text,
  record_id   text,
  cause_run   bigint,
  depth       int NOT NULL DEFAULT 0,
  at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id)
) PARTITION BY RANGE (id);
-- Keys are unique within the retention: the intake checks under a lock on the key's hash
-- (a unique index cannot span the day partitions).
CREATE INDEX events_key ON events (key) WHERE key IS NOT NULL;

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
  id           bigint NOT NULL DEFAULT flowd_day_id(),
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
  finished_at  timestamptz,
  PRIMARY KEY (id)
) PARTITION BY RANGE (id);
CREATE INDEX runs_due ON runs (due_at) WHERE status IN ('running', 'waiting');
CREATE INDEX runs_record ON runs (record_kind, record_id) WHERE status IN ('running', 'waiting');
CREATE INDEX runs_flow ON runs (flow_id, id DESC);
CREATE INDEX runs_status ON runs (status, id DESC);

CREATE TABLE steps (
  id          bigint GENERATED ALWAYS AS IDENTITY,
  run_id      bigint NOT NULL,
  node_id     text NOT NULL,
  status      text NOT NULL,
  attempt     int NOT NULL DEFAULT 1,
  port        text,
  started_at  timestamptz,
  finished_at timestamptz,
  output      jsonb,
  error       text,
  PRIMARY KEY (run_id, id)
) PARTITION BY RANGE (run_id);

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
  IF NOT EXISTS (SELECT 1 FROM flow_triggers WHERE event_type = p_type) THEN
    RETURN '[]';
  END IF;
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

-- The conversation a fan-page event belongs to, as the record data to merge (with its "id"),
-- or NULL when the event names no page. Ids:
--   message.received    data.conversation_id, else "m:<page>:<customer>" (one per customer
--                       and page);
--   comment.created     "c:<page>:<comment_id>" (one per comment; data.id, the event key or a
--                       random id stand in for a missing comment_id);
--   livestream.comment  "l:<page>:<livestream_id>:<customer>" (one per customer per
--                       livestream).
CREATE FUNCTION flowd_conversation_of(p_type text, p_data jsonb, p_key text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_page text := p_data->>'page_id';
  v_cust text := coalesce(p_data->'customer'->>'id', p_data->>'customer_id');
  v_id text; v_channel text;
BEGIN
  IF v_page IS NULL OR v_page = '' THEN
    RETURN NULL;
  END IF;
  IF p_type = 'message.received' THEN
    v_channel := 'message';
    v_id := coalesce(p_data->>'conversation_id', 'm:' || v_page || ':' || coalesce(v_cust, ''));
  ELSIF p_type = 'comment.created' THEN
    v_channel := 'comment';
    v_id := 'c:' || v_page || ':' || coalesce(p_data->>'comment_id', p_data->>'id', 'k' || p_key,
                                              'r' || md5(random()::text || clock_timestamp()));
  ELSE
    v_channel := 'livestream';
    v_id := 'l:' || v_page || ':' || coalesce(p_data->>'livestream_id', '') || ':' ||
            coalesce(v_cust, '');
  END IF;
  RETURN jsonb_strip_nulls(jsonb_build_object(
    'id', v_id, 'page_id', v_page, 'channel', v_channel, 'customer_id', v_cust,
    'livestream_id', p_data->'livestream_id', 'post_id', p_data->'post_id',
    'status', 'open', 'last_text', p_data->'text', 'last_at', now()));
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
  -- Arrays grow in place; appending to a jsonb value would copy it every time.
  accepted jsonb[] := '{}'; runs jsonb[] := '{}'; cancelled jsonb := '[]'; woken jsonb := '[]';
  v_m jsonb; v_conv jsonb; v_cust jsonb;
  limited boolean := p_depth > p_max_depth;
BEGIN
  FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
    v_type := e->>'type'; v_key := e->>'key'; v_data := coalesce(e->'data', '{}');
    v_kind := NULL; v_rid := NULL; v_verb := NULL; v_changed := NULL;
    v_old_status := NULL; v_new_status := NULL; v_conv := NULL;
    -- conversations: a fan-page event's run has its conversation as its record (so
    -- comment.created is not a record event of kind "comment" when it names a page).
    IF v_type IN ('message.received', 'comment.created', 'livestream.comment') THEN
      v_conv := flowd_conversation_of(v_type, v_data, v_key);
    END IF;
    IF v_conv IS NOT NULL THEN
      v_kind := 'conversation'; v_verb := 'updated'; v_rid := v_conv->>'id';
    ELSIF v_type ~ '^[a-z][a-z0-9_]*\.(created|updated|deleted)$' AND v_data ? 'id' THEN
      v_kind := split_part(v_type, '.', 1);
      v_verb := split_part(v_type, '.', 2);
      v_rid := v_data->>'id';
    END IF;
    IF v_key IS NOT NULL THEN
      -- A repeated key is a duplicate. Intakes of one key take turns on a lock of its hash
      -- (held to the commit), so the look-up and the insert cannot interleave.
      PERFORM pg_advisory_xact_lock(74635, hashtext(v_key));
      SELECT id INTO v_id FROM events WHERE key = v_key LIMIT 1;
      IF FOUND THEN
        accepted := array_append(accepted, jsonb_build_object('id', v_id, 'duplicate', true));
        CONTINUE;
      END IF;
    END IF;
    INSERT INTO events (type, key, data, record_kind, record_id, cause_run, depth)
    VALUES (v_type, v_key, v_data, v_kind, v_rid, p_cause, p_depth) RETURNING id INTO v_id;
    accepted := array_append(accepted, jsonb_build_object('id', v_id, 'duplicate', false));
    IF v_conv IS NOT NULL THEN
      -- conversations: upsert the inline customer, then the conversation (keeping its owner).
      v_cust := v_data->'customer';
      IF jsonb_typeof(v_cust) = 'object' AND v_cust ? 'id' THEN
        PERFORM flowd_apply_record('customer', 'updated', v_cust, false);
      END IF;
      SELECT a.old_status, a.new_status INTO v_old_status, v_new_status
      FROM flowd_apply_record('conversation', 'updated', v_conv, false) a;
    ELSIF v_kind IS NOT NULL THEN
      SELECT a.old_status, a.new_status INTO v_old_status, v_new_status
      FROM flowd_apply_record(v_kind, v_verb, v_data,
                              coalesce((e->>'replace')::boolean, false)) a;
      SELECT array_agg(k) INTO v_changed FROM jsonb_object_keys(v_data) k;
    END IF;
    woken := woken || flowd_signal(v_id, v_type);
    IF NOT limited THEN
      FOR v_m IN SELECT jsonb_array_elements(flowd_match(v_id, v_type, v_data, v_kind, v_rid,
                                                          v_changed, p_owner, p_depth,
                                                          p_lease_ms)) LOOP
        runs := array_append(runs, v_m);
      END LOOP;
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
        FOR v_m IN SELECT jsonb_array_elements(flowd_match(v_sc, v_kind || '.status_changed',
                                                            v_sc_data, v_kind, v_rid, NULL,
                                                            p_owner, p_depth, p_lease_ms)) LOOP
          runs := array_append(runs, v_m);
        END LOOP;
      END IF;
    END IF;
  END LOOP;
  RETURN jsonb_build_object('accepted', to_jsonb(accepted), 'runs', to_jsonb(runs),
                            'cancelled', cancelled, 'woken', woken, 'depth_limited', limited);
END $$;

-- Leaves a signal for every run waiting on events of this type and makes it due now.
CREATE FUNCTION flowd_signal(p_event bigint, p_type text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v jsonb;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM run_waits WHERE event_type = p_type) THEN
    RETURN '[]';
  END IF;
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

-- Raises unless run p_run is still running under p_owner's lease: checked before a segment
-- that discards its run (a trigger whose condition did not match) deletes it.
CREATE FUNCTION flowd_own_run(p_run bigint, p_owner text) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
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

-- ---- retention: day partitions of events, runs and steps ----

-- Creates the partitions of day p_day (days since the epoch) when missing.
CREATE FUNCTION flowd_ensure_day(p_day int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_from bigint := p_day::bigint << 32;
  v_to bigint := (p_day::bigint + 1) << 32;
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['events', 'runs', 'steps'] LOOP
    IF to_regclass(format('%s_d%s', t, p_day)) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                     t || '_d' || p_day, t, v_from, v_to);
    END IF;
  END LOOP;
END $$;

-- Keeps the partitions: creates today's and p_ahead days ahead, and drops every day older
-- than p_retention_days (its events, runs and steps) that holds no run still running or
-- waiting (such a day stays until its last run ends: the run still reads its event). Several processes may call it: they take turns (advisory lock).
-- Returns the days dropped.
CREATE FUNCTION flowd_maintain(p_retention_days int, p_ahead int) RETURNS int[]
LANGUAGE plpgsql AS $$
DECLARE
  v_today int := (extract(epoch FROM now())::bigint / 86400)::int;
  v_dropped int[] := '{}';
  v_day int;
  r record;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7463520012) THEN
    RETURN v_dropped;
  END IF;
  FOR v_day IN v_today - 1 .. v_today + p_ahead LOOP
    PERFORM flowd_ensure_day(v_day);
  END LOOP;
  FOR r IN SELECT c.relname, substring(c.relname FROM 7)::int AS day
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'runs'::regclass AND c.relname ~ '^runs_d[0-9]+$' LOOP
    CONTINUE WHEN r.day >= v_today - p_retention_days;
    CONTINUE WHEN EXISTS (SELECT 1 FROM runs WHERE id >= r.day::bigint << 32
                          AND id < (r.day::bigint + 1) << 32
                          AND status IN ('running', 'waiting'));
    EXECUTE format('DROP TABLE IF EXISTS %I', 'steps_d' || r.day);
    EXECUTE format('DROP TABLE IF EXISTS %I', 'events_d' || r.day);
    EXECUTE format('DROP TABLE %I', r.relname);
    v_dropped := v_dropped || r.day;
  END LOOP;
  RETURN v_dropped;
END $$;

-- A safety net: rows for a day whose partition is missing (maintenance did not run) land
-- here instead of failing; they are kept until removed by hand.
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE TABLE runs_default PARTITION OF runs DEFAULT;
CREATE TABLE steps_default PARTITION OF steps DEFAULT;
SELECT flowd_maintain(36500, 7);
