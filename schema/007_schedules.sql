-- Schedules: the trigger.schedule nodes of active flows, and the functions that fire them.
--
-- flow_schedules holds one row per trigger.schedule node of each flow's active version, with
-- the next time it is due. flowd_index_schedules() keeps it in step with activation (called
-- next to flowd_index_triggers() when a flow is activated or deactivated); deleting a flow
-- deletes its rows. Every flowd process calls flowd_fire_schedules() when the earliest row is
-- due: it claims the due rows with FOR UPDATE SKIP LOCKED and, in the same transaction,
-- stores a schedule.fired event, creates the run (leased to the caller, as flowd_match does
-- for events) and advances the row, so each due time starts exactly one run whatever the
-- number of processes.
--
-- Cron: five fields (minute hour day-of-month month day-of-week) or a macro, as the "cron"
-- format of the node schema accepts them (graph/jsonschema.c): "*", "a", "a-b", each with an
-- optional "/step" ("a/step" means a to the field's maximum), lists, month and weekday names,
-- Sunday as 0 or 7. When both day fields are restricted a day matches either (cron's OR
-- rule); a day field that starts with "*" (also "*/2") counts as unrestricted.
--
-- Time zones: a schedule is read on the wall clock of its IANA time zone (PostgreSQL's tz
-- database). Across DST changes:
--   - a wall time that does not exist (spring forward) fires once, when the clock jumps
--     (cron's rule): 02:30 on the night clocks go from 02:00 to 03:00 fires at 03:00;
--   - a wall time that happens twice (fall back) fires once, at its first occurrence, except
--     for schedules whose minute or hour field starts with "*" (every minute, every 15
--     minutes, every hour...), which keep firing through the repeated hour as real time
--     passes (cron's rule for wildcard jobs).
-- Missed due times (every flowd process was down) fire once, not once per missed time: the
-- next due time is computed from the later of now and the missed one.

CREATE TABLE flow_schedules (
  flow_id   text NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
  version   int NOT NULL,
  node_id   text NOT NULL,
  cron      text NOT NULL,
  timezone  text NOT NULL,
  priority  int NOT NULL,
  next_at   timestamptz,        -- NULL: the expression never matches (30 February)
  fired_at  timestamptz,        -- when it last fired
  PRIMARY KEY (flow_id, node_id)
);
CREATE INDEX flow_schedules_due ON flow_schedules (next_at);

-- ---- cron expressions ----

-- The allowed values of one cron field: p_field is a list of items, p_lo..p_hi the field's
-- range, p_names the names of p_lo, p_lo + 1, ... (NULL: none). Raises on a bad item.
CREATE FUNCTION flowd_cron_field(p_field text, p_lo int, p_hi int, p_names text[])
RETURNS int[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v_item text; m text[]; v_a int; v_b int; v_step int; v_out int[] := '{}'; v_part text;
  v_vals int[];
BEGIN
  FOREACH v_item IN ARRAY string_to_array(p_field, ',') LOOP
    m := regexp_match(v_item, '^(\*|([^-/]+)(-([^-/]+))?)(/(\+?[0-9]{1,9}))?$');
    IF m IS NULL THEN
      RAISE EXCEPTION 'bad cron item "%"', v_item USING ERRCODE = '22023';
    END IF;
    v_step := coalesce(m[6]::int, 1);
    IF v_step < 1 OR v_step > p_hi THEN
      RAISE EXCEPTION 'bad cron step "%"', m[6] USING ERRCODE = '22023';
    END IF;
    v_vals := '{}';
    FOREACH v_part IN ARRAY ARRAY[m[2], m[4]] LOOP
      CONTINUE WHEN v_part IS NULL;
      IF v_part ~ '^\+?[0-9]{1,9}$' THEN
        v_vals := v_vals || v_part::int;
      ELSIF array_position(p_names, lower(v_part)) IS NOT NULL THEN
        v_vals := v_vals || (array_position(p_names, lower(v_part)) - 1 + p_lo);
      ELSE
        RAISE EXCEPTION 'bad cron value "%"', v_part USING ERRCODE = '22023';
      END IF;
    END LOOP;
    IF m[1] = '*' THEN
      v_a := p_lo; v_b := p_hi;
    ELSE
      v_a := v_vals[1];
      -- "a/step" runs from a to the field's maximum (cronie, Quartz and robfig/cron agree).
      v_b := CASE WHEN m[4] IS NOT NULL THEN v_vals[2] WHEN m[6] IS NOT NULL THEN p_hi
                  ELSE v_a END;
    END IF;
    IF v_a < p_lo OR v_b > p_hi OR v_a > v_b THEN
      RAISE EXCEPTION 'cron item "%" is out of range %-%', v_item, p_lo, p_hi
        USING ERRCODE = '22023';
    END IF;
    v_out := v_out || ARRAY(SELECT generate_series(v_a, v_b, v_step));
  END LOOP;
  RETURN ARRAY(SELECT DISTINCT x FROM unnest(v_out) x ORDER BY x);
END $$;

-- A cron expression taken apart: the allowed values of each field; dom_star / dow_star: the
-- day field starts with "*" (then a day must match both fields, else either); wild: the
-- minute or hour field starts with "*" (such schedules keep firing through a repeated hour).
CREATE TYPE flowd_cron AS (minutes int[], hours int[], days int[], months int[], dows int[],
                           dom_star boolean, dow_star boolean, wild boolean);

CREATE FUNCTION flowd_cron_parse(p_cron text) RETURNS flowd_cron
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v_expr text := btrim(p_cron, E' \t');
  f text[];
  c flowd_cron;
BEGIN
  v_expr := CASE v_expr
    WHEN '@yearly' THEN '0 0 1 1 *' WHEN '@annually' THEN '0 0 1 1 *'
    WHEN '@monthly' THEN '0 0 1 * *' WHEN '@weekly' THEN '0 0 * * 0'
    WHEN '@daily' THEN '0 0 * * *' WHEN '@midnight' THEN '0 0 * * *'
    WHEN '@hourly' THEN '0 * * * *' ELSE v_expr END;
  f := regexp_split_to_array(v_expr, E'[ \t]+');
  IF v_expr = '' OR array_length(f, 1) <> 5 THEN
    RAISE EXCEPTION 'cron "%" needs 5 fields (minute hour day month weekday)', p_cron
      USING ERRCODE = '22023';
  END IF;
  c.minutes := flowd_cron_field(f[1], 0, 59, NULL);
  c.hours := flowd_cron_field(f[2], 0, 23, NULL);
  c.days := flowd_cron_field(f[3], 1, 31, NULL);
  c.months := flowd_cron_field(f[4], 1, 12, ARRAY['jan', 'feb', 'mar', 'apr', 'may', 'jun',
                                                   'jul', 'aug', 'sep', 'oct', 'nov', 'dec']);
  -- Sunday is 0 and 7.
  c.dows := ARRAY(SELECT DISTINCT x % 7 FROM unnest(flowd_cron_field(
              f[5], 0, 7, ARRAY['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'])) x ORDER BY 1);
  c.dom_star := left(f[3], 1) = '*';
  c.dow_star := left(f[5], 1) = '*';
  c.wild := left(f[1], 1) = '*' OR left(f[2], 1) = '*';
  RETURN c;
END $$;

-- The first wall-clock minute after p_after (a local time, no zone) that c matches, or NULL
-- when there is none within 10 years (an expression such as "0 0 30 2 *" never matches; 29
-- February recurs within 8).
CREATE FUNCTION flowd_cron_next_wall(c flowd_cron, p_after timestamp) RETURNS timestamp
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  t timestamp := date_trunc('minute', p_after) + interval '1 minute';
  v_end timestamp := p_after + interval '10 years';
  v_dom boolean; v_dow boolean; v_h int; v_m int;
BEGIN
  LOOP
    IF t > v_end THEN
      RETURN NULL;
    END IF;
    IF NOT extract(month FROM t)::int = ANY (c.months) THEN
      t := date_trunc('month', t) + interval '1 month';
      CONTINUE;
    END IF;
    v_dom := extract(day FROM t)::int = ANY (c.days);
    v_dow := extract(dow FROM t)::int = ANY (c.dows);
    IF NOT (CASE WHEN c.dom_star OR c.dow_star THEN v_dom AND v_dow ELSE v_dom OR v_dow END) THEN
      t := date_trunc('day', t) + interval '1 day';
      CONTINUE;
    END IF;
    SELECT min(h) INTO v_h FROM unnest(c.hours) h WHERE h >= extract(hour FROM t)::int;
    IF v_h IS NULL THEN
      t := date_trunc('day', t) + interval '1 day';
      CONTINUE;
    END IF;
    IF v_h > extract(hour FROM t)::int THEN
      t := date_trunc('day', t) + v_h * interval '1 hour';
    END IF;
    SELECT min(x) INTO v_m FROM unnest(c.minutes) x WHERE x >= extract(minute FROM t)::int;
    IF v_m IS NULL THEN
      t := date_trunc('hour', t) + interval '1 hour';
      CONTINUE;
    END IF;
    RETURN date_trunc('hour', t) + v_m * interval '1 minute';
  END LOOP;
END $$;

-- The UTC offset of time zone p_tz at instant p_at.
CREATE FUNCTION flowd_tz_offset(p_tz text, p_at timestamptz) RETURNS interval
LANGUAGE sql STABLE AS $$
  SELECT (p_at AT TIME ZONE p_tz) - (p_at AT TIME ZONE 'UTC')
$$;

-- The first whole minute after p_lo at which the UTC offset of p_tz is no longer what it is
-- at p_lo, given that it changes once by p_hi (also a whole minute).
CREATE FUNCTION flowd_tz_change(p_tz text, p_lo timestamptz, p_hi timestamptz)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_off interval := flowd_tz_offset(p_tz, p_lo);
  v_mid timestamptz;
BEGIN
  WHILE p_hi - p_lo > interval '1 minute' LOOP
    v_mid := p_lo + date_trunc('minute', (p_hi - p_lo) / 2);
    IF flowd_tz_offset(p_tz, v_mid) = v_off THEN p_lo := v_mid; ELSE p_hi := v_mid; END IF;
  END LOOP;
  RETURN p_hi;
END $$;

-- The first instant after p_after at which cron expression p_cron fires in time zone p_tz,
-- or NULL when it never does. DST: see the top of this file. Offsets change at most once
-- around one wall time (within a day either side), true of every zone in use today.
CREATE FUNCTION flowd_cron_next(p_cron text, p_tz text, p_after timestamptz)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
  c flowd_cron := flowd_cron_parse(p_cron);
  w timestamp := p_after AT TIME ZONE p_tz;
  u timestamptz; o_before interval; o_after interval; t1 timestamptz; t2 timestamptz;
  v_ok1 boolean; v_ok2 boolean;
  v_found timestamptz; v_lo timestamptz; v_hi timestamptz;
  v_guard int := 0;
BEGIN
  -- Walk the matching wall times; each one happens at zero (a gap), one or two (a repeat)
  -- instants.
  LOOP
    w := flowd_cron_next_wall(c, w);
    IF w IS NULL THEN
      RETURN NULL;
    END IF;
    v_guard := v_guard + 1;
    IF v_guard > 10000 THEN
      RAISE EXCEPTION 'cron "%" in % found no time after %', p_cron, p_tz, p_after;
    END IF;
    u := w AT TIME ZONE 'UTC';
    o_before := flowd_tz_offset(p_tz, u - interval '1 day');
    o_after := flowd_tz_offset(p_tz, u + interval '1 day');
    t1 := u - o_before;   -- the wall time read with the offset before a change
    t2 := u - o_after;    -- ... and with the offset after it
    v_ok1 := flowd_tz_offset(p_tz, t1) = o_before;
    v_ok2 := flowd_tz_offset(p_tz, t2) = o_after;
    IF o_before = o_after OR (v_ok1 AND NOT v_ok2) THEN
      v_found := t1;      -- one instant: no change nearby, or the wall time is before it
    ELSIF v_ok2 AND NOT v_ok1 THEN
      v_found := t2;      -- one instant, after the change
    ELSIF v_ok1 THEN
      -- Fall back: the wall time happens at t1 and again at t2 (t1 < t2). Only wildcard
      -- schedules fire at the repeat.
      v_found := CASE WHEN t1 > p_after THEN t1 WHEN c.wild THEN t2 END;
    ELSE
      -- Spring forward: the wall time does not exist (t2 < change <= t1); it fires when the
      -- clock jumps, which is also no later than any wall time after the gap.
      v_found := flowd_tz_change(p_tz, t2, t1);
    END IF;
    EXIT WHEN v_found > p_after;
  END LOOP;
  -- A wildcard schedule also fires in a repeated hour that begins after p_after: those
  -- instants have wall times at or before p_after's, which the walk above started after.
  IF c.wild AND flowd_tz_offset(p_tz, p_after + interval '3 hours')
                < flowd_tz_offset(p_tz, p_after) THEN
    v_lo := date_trunc('minute', p_after);
    v_hi := flowd_tz_change(p_tz, v_lo, v_lo + interval '3 hours');
    o_after := flowd_tz_offset(p_tz, v_hi);
    w := flowd_cron_next_wall(c, (v_hi AT TIME ZONE p_tz) - interval '1 minute');
    IF w IS NOT NULL THEN
      t2 := (w AT TIME ZONE 'UTC') - o_after;
      IF t2 > p_after AND t2 >= v_hi AND t2 < v_found
         AND flowd_tz_offset(p_tz, t2) = o_after THEN
        v_found := t2;
      END IF;
    END IF;
  END IF;
  RETURN v_found;
END $$;

-- The first due time of a schedule node after p_after; raises FD002 when its time zone is
-- unknown to PostgreSQL (the node schema only checks its shape) or its cron expression does
-- not parse, with the problem as the error's DETAIL: {"node", "path", "code", "message"}
-- (p_path: the JSON Pointer of the node's config).
CREATE FUNCTION flowd_schedule_first(p_node text, p_path text, p_cron text, p_tz text,
                                     p_after timestamptz)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_msg text;
BEGIN
  BEGIN
    PERFORM p_after AT TIME ZONE p_tz;
  EXCEPTION WHEN invalid_parameter_value THEN
    v_msg := format('timezone: unknown time zone "%s"', p_tz);
    RAISE EXCEPTION 'node %: %', p_node, v_msg USING ERRCODE = 'FD002',
      DETAIL = jsonb_build_object('node', p_node, 'path', p_path || '/timezone',
                                  'code', 'timezone', 'message', v_msg)::text;
  END;
  RETURN flowd_cron_next(p_cron, p_tz, p_after);
EXCEPTION WHEN invalid_parameter_value THEN
  v_msg := 'cron: ' || SQLERRM;
  RAISE EXCEPTION 'node %: %', p_node, v_msg USING ERRCODE = 'FD002',
    DETAIL = jsonb_build_object('node', p_node, 'path', p_path || '/cron', 'code', 'cron',
                                'message', v_msg)::text;
END $$;

-- ---- the schedules of active flows ----

-- Rebuilds the schedules of a flow from its active version (none: the flow's rows go). A
-- node whose cron and time zone did not change keeps its next due time; any other starts
-- from now (a re-activated flow does not catch up on what it missed while inactive).
CREATE FUNCTION flowd_index_schedules(p_flow text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  n record;
  v_nodes text[] := '{}';
BEGIN
  FOR n IN SELECT x->>'id' AS node_id, v.version, x->'config'->>'cron' AS cron,
                  coalesce(x->'config'->>'timezone', 'UTC') AS timezone,
                  coalesce((v.doc->>'priority')::int, 100) AS priority,
                  format('/nodes/%s/config', i - 1) AS path
           FROM flows f JOIN flow_versions v ON v.flow_id = f.id AND v.version = f.active_version,
                jsonb_array_elements(v.doc->'nodes') WITH ORDINALITY AS e(x, i)
           WHERE f.id = p_flow AND x->>'type' = 'trigger.schedule' LOOP
    v_nodes := v_nodes || n.node_id;
    INSERT INTO flow_schedules AS s (flow_id, version, node_id, cron, timezone, priority,
                                     next_at)
    VALUES (p_flow, n.version, n.node_id, n.cron, n.timezone, n.priority,
            flowd_schedule_first(n.node_id, n.path, n.cron, n.timezone, now()))
    ON CONFLICT (flow_id, node_id) DO UPDATE
      SET version = EXCLUDED.version, priority = EXCLUDED.priority, cron = EXCLUDED.cron,
          timezone = EXCLUDED.timezone,
          next_at = CASE WHEN s.cron = EXCLUDED.cron AND s.timezone = EXCLUDED.timezone
                         THEN s.next_at ELSE EXCLUDED.next_at END;
  END LOOP;
  DELETE FROM flow_schedules WHERE flow_id = p_flow AND NOT (node_id = ANY (v_nodes));
END $$;

-- Fires up to p_limit due schedules for flowd process p_owner (which holds the new runs'
-- leases for p_lease_ms). Returns {"runs": [{id, flow_id, version, trigger, event_id}...],
-- "next_ms": milliseconds until the earliest schedule is due (<= 0: one is due but another
-- process holds it), or null when there is none}.
CREATE FUNCTION flowd_fire_schedules(p_owner text, p_lease_ms int, p_limit int)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  s flow_schedules%ROWTYPE;
  v_event bigint; v_run bigint; v_next timestamptz;
  v_runs jsonb[] := '{}';
  v_lease timestamptz := now() + p_lease_ms * interval '1 millisecond';
BEGIN
  FOR s IN SELECT * FROM flow_schedules WHERE next_at <= now()
           ORDER BY next_at LIMIT p_limit FOR UPDATE SKIP LOCKED LOOP
    INSERT INTO events (type, data)
    VALUES ('schedule.fired', jsonb_build_object(
              'flow_id', s.flow_id, 'node_id', s.node_id, 'cron', s.cron,
              'timezone', s.timezone,
              'scheduled_at', to_char(s.next_at AT TIME ZONE 'UTC',
                                      'YYYY-MM-DD"T"HH24:MI:SS"Z"')))
    RETURNING id INTO v_event;
    INSERT INTO runs (flow_id, flow_version, trigger_node, event_id, priority, depth,
                      lease_owner, lease_until, due_at)
    VALUES (s.flow_id, s.version, s.node_id, v_event, s.priority, 0, p_owner, v_lease,
            v_lease)
    RETURNING id INTO v_run;
    -- From the later of now and the due time: missed times fire once, not once each. A
    -- schedule whose next time cannot be computed any more (its time zone left the tz
    -- database) stops, rather than failing every other schedule's firing with it.
    BEGIN
      v_next := flowd_cron_next(s.cron, s.timezone, greatest(now(), s.next_at));
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'schedule %/% stops: %', s.flow_id, s.node_id, SQLERRM;
      v_next := NULL;
    END;
    UPDATE flow_schedules SET next_at = v_next, fired_at = now()
    WHERE flow_id = s.flow_id AND node_id = s.node_id;
    v_runs := array_append(v_runs, jsonb_build_object(
                'id', v_run, 'flow_id', s.flow_id, 'version', s.version, 'trigger', s.node_id,
                'event_id', v_event));
  END LOOP;
  RETURN jsonb_build_object(
    'runs', to_jsonb(v_runs),
    'next_ms', (SELECT ceil(extract(epoch FROM min(next_at) - clock_timestamp()) * 1000)::bigint
                FROM flow_schedules));
END $$;

-- Flows already active when this migration runs get their schedules now.
SELECT flowd_index_schedules(id) FROM flows WHERE active_version IS NOT NULL;
