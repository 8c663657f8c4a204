-- Assignment, fan pages and conversations.
--
-- assignments: one row per real assignment (a record got a new owner through action.assign,
-- or a task got its assignee), written in the transaction of the step that made it, so it
-- exists exactly when the owner change does. Stickiness per customer reads the latest row of
-- a customer (within a scope, such as one livestream); max_per_day counts a member's rows of
-- the day through a team.
--
-- assign_cursors: the round-robin cursors. A run advances one with a single upsert that
-- returns the new value, outside the step's transaction, so concurrent runs on any number of
-- flowd processes each get a different turn.
--
-- pages: per fan page settings. Staff see the conversations of the pages they work on
-- (staff.pages); with private_assignment only those assigned to them.
--
-- flowd_assign_candidates / flowd_assign_turn: what one pick (nodes/pick.c) reads, in one
-- call, and its round-robin turn.
--
-- Conversations themselves (message.received, comment.created and livestream.comment upsert
-- a conversation record, which becomes the record of the runs they start) are part of the
-- intake in 002_runs.sql.

CREATE TABLE assignments (
  id          bigserial PRIMARY KEY,
  run_id      bigint,
  node_id     text NOT NULL,
  target_kind text NOT NULL,   -- the record that got the owner (conversation, lead, task, ...)
  target_id   text NOT NULL,
  customer_id text,            -- its customer, for stickiness per customer
  scope       text NOT NULL DEFAULT '', -- the rendered sticky_scope ('' : none)
  staff_id    text NOT NULL,
  team_id     text,            -- the team it went through (candidates.teams), or NULL
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignments_customer ON assignments (target_kind, customer_id, scope, at DESC)
  WHERE customer_id IS NOT NULL;
CREATE INDEX assignments_team_day ON assignments (team_id, staff_id, at) WHERE team_id IS NOT NULL;

CREATE TABLE assign_cursors (
  key text PRIMARY KEY,        -- flow / node / rule / page [/ team]
  n   bigint NOT NULL          -- turns taken so far
);

CREATE TABLE pages (
  id                 text PRIMARY KEY,
  name               text NOT NULL DEFAULT '',
  private_assignment boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Takes the next turn of round-robin cursor p_key (p_peek: only says what it would be). Every
-- caller, on any process, gets a different number. The commit does not wait for the WAL
-- flush: every taker queues on the cursor's row lock until the previous one commits, and a
-- cursor that loses its last turns in a crash of PostgreSQL only repeats a turn or two.
CREATE FUNCTION flowd_assign_turn(p_key text, p_peek boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v bigint;
BEGIN
  IF p_peek THEN
    RETURN coalesce((SELECT n FROM assign_cursors WHERE key = p_key), 0) + 1;
  END IF;
  PERFORM set_config('synchronous_commit', 'off', true);
  INSERT INTO assign_cursors AS k (key, n) VALUES (p_key, 1)
  ON CONFLICT (key) DO UPDATE SET n = k.n + 1 RETURNING n INTO v;
  RETURN v;
END $$;

-- A staff member as flows see them: as `staff` in a candidate filter's `where` and in an
-- assignment's output. (pick_filter.c also lifts the keys of attrs to the top, so that
-- `staff.city` works as well as `staff.attrs.city`; json, not jsonb: it is only passed on.)
CREATE FUNCTION flowd_staff_profile(s staff, p_online boolean) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
  SELECT json_build_object('id', s.id, 'name', s.name, 'email', s.email, 'phone', s.phone,
                           'roles', s.roles, 'pages', s.pages, 'attrs', s.attrs,
                           'access', s.access_role, 'online', p_online)
$$;

-- One pick's candidates (nodes/pick.c), in one call: the staff who pass the filters SQL can
-- apply (ids, every role, a listed team, the page, online), one row per (staff, listed team),
-- in round-robin order (team order, member position, id), with their profile and what the
-- filters in C need (domains, max_per_day and today's count, load); the customer's latest
-- assignment within the scope; whether the current owner is online; and, when p_turn_key is
-- given, the next round-robin turn (p_peek: read it without taking it).
-- plpgsql keeps each statement's plan, so a pick plans nothing. The common dispatch (no
-- teams, no load) has statements of its own; the online one finds the few staff online
-- through staff_presence_online.
CREATE INDEX staff_presence_online ON staff_presence (staff_id) WHERE online;

CREATE FUNCTION flowd_assign_candidates(
    p_staff text[], p_roles text[], p_teams text[], p_page text, p_online boolean,
    p_load boolean, p_customer text, p_kind text, p_scope text, p_owner text,
    p_turn_key text, p_peek boolean)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
  v_c json; v_last text; v_owner_online boolean; v_turn bigint;
BEGIN
  IF p_teams IS NULL AND NOT p_load AND p_online THEN
    SELECT json_agg(json_build_object('id', s.id, 'online', true,
                    'staff', flowd_staff_profile(s, true)) ORDER BY s.id) INTO v_c
    FROM staff_presence p JOIN staff s ON s.id = p.staff_id
    WHERE p.online AND (p_staff IS NULL OR s.id = ANY (p_staff))
      AND (p_roles IS NULL OR s.roles @> p_roles) AND (p_page IS NULL OR p_page = ANY (s.pages));
  ELSIF p_teams IS NULL AND NOT p_load THEN
    SELECT json_agg(json_build_object('id', s.id, 'online', coalesce(p.online, false),
                    'staff', flowd_staff_profile(s, coalesce(p.online, false))) ORDER BY s.id)
    INTO v_c FROM staff s LEFT JOIN staff_presence p ON p.staff_id = s.id
    WHERE (p_staff IS NULL OR s.id = ANY (p_staff)) AND (p_roles IS NULL OR s.roles @> p_roles)
      AND (p_page IS NULL OR p_page = ANY (s.pages));
  ELSE
    WITH s AS (
      SELECT s.id, coalesce(p.online, false) AS online,
             flowd_staff_profile(s, coalesce(p.online, false)) AS profile
      FROM staff s LEFT JOIN staff_presence p ON p.staff_id = s.id
      WHERE (p_staff IS NULL OR s.id = ANY (p_staff)) AND (p_roles IS NULL OR s.roles @> p_roles)
        AND (p_page IS NULL OR p_page = ANY (s.pages))
        AND (NOT p_online OR coalesce(p.online, false))
    ), c AS (
      SELECT s.*, m.team_id, m.position, t.domain AS team_domain, m.domain AS member_domain,
             m.max_per_day, array_position(p_teams, m.team_id) AS team_order
      FROM s LEFT JOIN team_members m ON p_teams IS NOT NULL AND m.staff_id = s.id
                                     AND m.team_id = ANY (p_teams)
      LEFT JOIN teams t ON t.id = m.team_id
      WHERE p_teams IS NULL OR m.team_id IS NOT NULL
    )
    SELECT json_agg(json_build_object(
      'id', c.id, 'online', c.online, 'staff', c.profile, 'team', c.team_id,
      'team_domain', c.team_domain, 'member_domain', c.member_domain, 'max', c.max_per_day,
      'today', CASE WHEN c.max_per_day IS NOT NULL THEN (SELECT count(*) FROM assignments a
               WHERE a.team_id = c.team_id AND a.staff_id = c.id
                 AND a.at >= date_trunc('day', now())) END,
      'load', CASE WHEN p_load THEN (SELECT count(*) FROM records r
              WHERE r.owner_id = c.id AND r.kind IN ('task', 'conversation') AND NOT r.deleted
                AND coalesce(r.status, 'open') NOT IN ('done', 'closed', 'cancelled')) END)
      ORDER BY c.team_order NULLS FIRST, c.position, c.id) INTO v_c FROM c;
  END IF;
  IF p_customer IS NOT NULL THEN
    SELECT a.staff_id INTO v_last FROM assignments a
    WHERE a.target_kind = p_kind AND a.customer_id = p_customer AND a.scope = p_scope
    ORDER BY a.at DESC, a.id DESC LIMIT 1;
  END IF;
  IF p_owner IS NOT NULL THEN
    SELECT p.online INTO v_owner_online FROM staff_presence p WHERE p.staff_id = p_owner;
  END IF;
  IF p_turn_key IS NOT NULL THEN
    v_turn := flowd_assign_turn(p_turn_key, p_peek);
  END IF;
  RETURN json_build_object('c', coalesce(v_c, '[]'), 'last', v_last,
                           'owner_online', v_owner_online, 'turn', v_turn);
END $$;
