-- Flows: the editable draft (with a revision for optimistic concurrency) and its immutable
-- published versions. Who changed what and when is kept per version.
CREATE TABLE flows (
  id             text PRIMARY KEY,
  name           text NOT NULL,
  draft          jsonb NOT NULL,
  revision       int NOT NULL DEFAULT 1,
  active_version int,
  created_at     timestamptz NOT NULL DEFAULT now(),
  created_by     text,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  updated_by     text
);

CREATE TABLE flow_versions (
  flow_id     text NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
  version     int NOT NULL,
  doc         jsonb NOT NULL,
  revision    int NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text,
  PRIMARY KEY (flow_id, version)
);
