-- People and access: staff, teams (membership in one table that both staff.teams and
-- teams.members are views of), presence, login sessions, API keys and the audit log.
--
-- Every flowd process mirrors sessions and API keys in memory so that checking a request needs
-- no query; the triggers below NOTIFY 'flowd_auth' on every change that must reach those
-- mirrors ('s:<token hash>', 'k:<key hash>', 'u:<staff id>'), whichever process or tool made it.

CREATE TABLE staff (
  id            text PRIMARY KEY,
  name          text NOT NULL,
  email         text,                    -- stored lower-case; the login name
  phone         text,
  roles         text[] NOT NULL DEFAULT '{}', -- business roles ("sales manager"), for assignment
  pages         text[] NOT NULL DEFAULT '{}', -- fan pages / channels the staff member works on
  attrs         jsonb NOT NULL DEFAULT '{}',  -- anything else conditions may look at (city, ...)
  access_role   text NOT NULL DEFAULT 'staff'
                CHECK (access_role IN ('admin', 'manager', 'staff')), -- what they may do in flowd
  password_hash text,                    -- Argon2id (libsodium crypto_pwhash_str); NULL: no login
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX staff_email_key ON staff (email);

CREATE TABLE teams (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  domain     jsonb NOT NULL DEFAULT '[]', -- an Odoo domain list; [] matches every record
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Membership, the one place it is stored: GET /api/teams shows it as members (in position
-- order), GET /api/staff as teams. Writing either side edits these rows in one transaction.
CREATE TABLE team_members (
  team_id     text NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  staff_id    text NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
  position    int NOT NULL,
  domain      jsonb,            -- the member's own domain list; NULL: every record
  max_per_day int CHECK (max_per_day >= 0), -- NULL: no limit
  PRIMARY KEY (team_id, staff_id)
);
CREATE INDEX team_members_staff ON team_members (staff_id);

-- Presence: online = api_online OR a live websocket row in presence_sockets. online is kept
-- up to date by flowd (presence.c) so that assignment reads one column.
CREATE TABLE staff_presence (
  staff_id       text PRIMARY KEY REFERENCES staff (id) ON DELETE CASCADE,
  api_online     boolean NOT NULL DEFAULT false, -- PUT /api/staff/{id}/presence, staff.* events
  api_changed_at timestamptz,
  online         boolean NOT NULL DEFAULT false,
  changed_at     timestamptz NOT NULL DEFAULT now(), -- when online last flipped
  source         text                               -- what flipped it: api, ws, event, sweep
);

-- Open authenticated websockets per flowd process. A process refreshes seen_at every 30 s;
-- rows older than 90 s belong to a process that died and no longer count.
CREATE TABLE presence_sockets (
  process_id text NOT NULL,
  staff_id   text NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
  seen_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (process_id, staff_id)
);

CREATE TABLE sessions (
  token_hash   text PRIMARY KEY, -- hex BLAKE2b of the cookie value; the token is never stored
  staff_id     text NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
  csrf_token   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL, -- slides forward while the session is used
  last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_staff ON sessions (staff_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  name         text NOT NULL,
  key_hash     text NOT NULL UNIQUE, -- hex BLAKE2b of the key; the key is shown once
  prefix       text NOT NULL,        -- the key's first characters, to recognise it in lists
  scopes       text[] NOT NULL,
  hmac_secret  text,                 -- when set, request bodies must be signed with it
  created_by   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz,
  last_used_at timestamptz
);

CREATE TABLE audit_log (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  actor   text NOT NULL,   -- "admin", a staff id, "key:<id>", or "-" for anonymous
  action  text NOT NULL,   -- login, login.failed, logout, key.created, staff.updated, ...
  target  text,
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);

-- The NOTIFYs that keep every process's mirror of sessions and keys right.
CREATE FUNCTION flowd_auth_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'sessions' THEN
    PERFORM pg_notify('flowd_auth', 's:' || coalesce(NEW.token_hash, OLD.token_hash));
  ELSIF TG_TABLE_NAME = 'api_keys' THEN
    PERFORM pg_notify('flowd_auth', 'k:' || coalesce(NEW.key_hash, OLD.key_hash));
    IF TG_OP = 'UPDATE' AND NEW.key_hash <> OLD.key_hash THEN
      PERFORM pg_notify('flowd_auth', 'k:' || OLD.key_hash);
    END IF;
  ELSE
    PERFORM pg_notify('flowd_auth', 'u:' || coalesce(NEW.id, OLD.id));
  END IF;
  RETURN NULL;
END $$;

-- Sliding expiry moves expires_at forward all the time; only a shortened expiry (someone
-- ended the session) must reach the other processes.
CREATE TRIGGER sessions_notify_ins_del AFTER INSERT OR DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION flowd_auth_notify();
CREATE TRIGGER sessions_notify_upd AFTER UPDATE ON sessions
  FOR EACH ROW WHEN (NEW.expires_at < OLD.expires_at OR NEW.staff_id <> OLD.staff_id
                     OR NEW.csrf_token <> OLD.csrf_token)
  EXECUTE FUNCTION flowd_auth_notify();
-- last_used_at changes on use and is left out.
CREATE TRIGGER api_keys_notify_ins_del AFTER INSERT OR DELETE ON api_keys
  FOR EACH ROW EXECUTE FUNCTION flowd_auth_notify();
CREATE TRIGGER api_keys_notify_upd AFTER UPDATE OF key_hash, scopes, hmac_secret, revoked_at
  ON api_keys FOR EACH ROW EXECUTE FUNCTION flowd_auth_notify();
-- A session's role comes from its staff member.
CREATE TRIGGER staff_notify_upd AFTER UPDATE OF access_role ON staff
  FOR EACH ROW WHEN (NEW.access_role <> OLD.access_role) EXECUTE FUNCTION flowd_auth_notify();

-- Lets one statement of a batch stop the whole transaction with a status the API maps to
-- HTTP: Z0404 (not found), Z0403 (forbidden). Later statements of the batch never run.
CREATE FUNCTION flowd_check(ok boolean, state text, msg text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION USING ERRCODE = state, MESSAGE = msg;
  END IF;
  RETURN true;
END $$;
