-- Run history in partitions of several days (a period) instead of one day each.
--
-- Every statement on events, runs or steps pays for each of their partitions (a generic
-- plan locks them all; an UPDATE or a look-up by key opens them all), ~8 µs per partition
-- per statement. With day partitions a 30-day retention kept ~40 of each, which cost the
-- event intake 0.25 ms per call and ~13% of the end-to-end throughput (bench/README.md).
-- A period is min(7, retention / 4) days (at least 1), aligned on multiples of its length
-- since the epoch: a 30-day retention keeps ~7 partitions of each table. A period is
-- dropped once all of its days are older than the retention (so history is kept up to one
-- period longer than the retention) and none of its runs is still running or waiting.
--
-- history_periods lists the partitions: each is named <table>_d<day_from> and holds the ids
-- of days day_from .. day_to - 1 (ids start with their day, flowd_day_id()).

CREATE TABLE history_periods (
  day_from int PRIMARY KEY,
  day_to   int NOT NULL CHECK (day_to > day_from)
);

-- The day partitions made so far: those of days to come (and today and yesterday) that are
-- still empty are made again as periods below, the others are kept as one-day periods.
DO $$
DECLARE
  v_today int := (extract(epoch FROM now())::bigint / 86400)::int;
  r record;
  v_empty boolean;
BEGIN
  FOR r IN SELECT substring(c.relname FROM 7)::int AS day
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'runs'::regclass AND c.relname ~ '^runs_d[0-9]+$' LOOP
    v_empty := false;
    IF r.day >= v_today - 1 THEN
      EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %I) AND NOT EXISTS (SELECT 1 FROM %I) '
                     'AND NOT EXISTS (SELECT 1 FROM %I)',
                     'events_d' || r.day, 'runs_d' || r.day, 'steps_d' || r.day) INTO v_empty;
    END IF;
    IF v_empty THEN
      EXECUTE format('DROP TABLE %I, %I, %I', 'steps_d' || r.day, 'events_d' || r.day,
                     'runs_d' || r.day);
    ELSE
      INSERT INTO history_periods VALUES (r.day, r.day + 1);
    END IF;
  END LOOP;
END $$;

-- Makes the partitions of the period of p_width days that holds day p_day, unless a
-- partition holds that day already; the new range stops where an existing one starts.
DROP FUNCTION flowd_ensure_day(int);
CREATE FUNCTION flowd_ensure_day(p_day int, p_width int DEFAULT 7) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_start int := p_day - ((p_day % p_width) + p_width) % p_width; -- the period's first day
  v_from int;
  v_to int;
  t text;
BEGIN
  IF EXISTS (SELECT 1 FROM history_periods WHERE day_from <= p_day AND day_to > p_day) THEN
    RETURN;
  END IF;
  SELECT greatest(v_start, coalesce(max(day_to), v_start)) INTO v_from
  FROM history_periods WHERE day_to <= p_day;
  SELECT least(v_start + p_width, coalesce(min(day_from), v_start + p_width)) INTO v_to
  FROM history_periods WHERE day_from > p_day;
  FOREACH t IN ARRAY ARRAY['events', 'runs', 'steps'] LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%s) TO (%s)',
                   t || '_d' || v_from, t, v_from::bigint << 32, v_to::bigint << 32);
  END LOOP;
  INSERT INTO history_periods VALUES (v_from, v_to);
END $$;

-- Keeps the partitions: makes those of yesterday, today and p_ahead days ahead, and drops
-- every period whose last day is older than p_retention_days and that holds no run still
-- running or waiting (such a period stays until its last run ends: the run still reads its
-- event). Several processes may call it: they take turns (advisory lock). Returns the first
-- days of the periods dropped.
CREATE OR REPLACE FUNCTION flowd_maintain(p_retention_days int, p_ahead int) RETURNS int[]
LANGUAGE plpgsql AS $$
DECLARE
  v_today int := (extract(epoch FROM now())::bigint / 86400)::int;
  v_width int := greatest(1, least(7, p_retention_days / 4));
  v_dropped int[] := '{}';
  v_day int;
  r record;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7463520012) THEN
    RETURN v_dropped;
  END IF;
  FOR v_day IN v_today - 1 .. v_today + p_ahead LOOP
    PERFORM flowd_ensure_day(v_day, v_width);
  END LOOP;
  FOR r IN SELECT day_from, day_to FROM history_periods
           WHERE day_to <= v_today - p_retention_days ORDER BY day_from LOOP
    CONTINUE WHEN EXISTS (SELECT 1 FROM runs WHERE id >= r.day_from::bigint << 32
                          AND id < r.day_to::bigint << 32
                          AND status IN ('running', 'waiting'));
    EXECUTE format('DROP TABLE IF EXISTS %I, %I, %I', 'steps_d' || r.day_from,
                   'events_d' || r.day_from, 'runs_d' || r.day_from);
    DELETE FROM history_periods WHERE day_from = r.day_from;
    v_dropped := v_dropped || r.day_from;
  END LOOP;
  RETURN v_dropped;
END $$;

SELECT flowd_maintain(36500, 7);
