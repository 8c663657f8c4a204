-- Outbound deliveries: the providers that carry them and the outbox itself.
--
-- A delivery is inserted by the executor inside the transaction of the step that sends it,
-- so it exists exactly when the step's effects do. Workers in every flowd process claim due
-- rows with FOR UPDATE SKIP LOCKED and hold a lease while sending; a process that dies leaves
-- its lease to expire and another takes the row over. The idempotency key is unique, so a
-- step that is replayed cannot create a second delivery, and it travels with every attempt
-- so a provider can tell a retry from a new message.

CREATE TABLE providers (
  id         text PRIMARY KEY,
  type       text NOT NULL CHECK (type IN ('smtp', 'http')),
  config     jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE deliveries (
  id              bigserial PRIMARY KEY,
  run_id          bigint,
  step_id         bigint,
  node_id         text,
  channel         text NOT NULL
                  CHECK (channel IN ('sms', 'email', 'robocall', 'chat', 'webhook')),
  provider        text,            -- NULL: the first provider of the channel's type
  "to"            text,
  subject         text,
  body            text,
  request         jsonb,           -- webhook: method, url, headers, body, timeout_ms, expect;
                                   -- other channels: extra template data (from, voice, ...)
  idempotency_key text NOT NULL UNIQUE,
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'recorded')),
  attempts        int NOT NULL DEFAULT 0,        -- attempts started (claims)
  max_attempts    int NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
  backoff_ms      int NOT NULL DEFAULT 2000 CHECK (backoff_ms >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_owner     text,            -- the flowd process sending it (kept on final rows)
  lease_until     timestamptz,
  response        jsonb,
  error           text,
  test            boolean NOT NULL DEFAULT false, -- recorded, never sent
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Claiming: due pending rows in order, and sending rows whose lease ran out.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'sending';
-- The API's filters (newest first) and the executor's look-ups by run and step.
CREATE INDEX deliveries_run ON deliveries (run_id, id DESC) WHERE run_id IS NOT NULL;
CREATE INDEX deliveries_step ON deliveries (step_id) WHERE step_id IS NOT NULL;
CREATE INDEX deliveries_status ON deliveries (status, id DESC);
