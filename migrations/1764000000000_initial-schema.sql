-- Up Migration

-- Users are Firebase uids. The row is created on the first authenticated request.
CREATE TABLE users (
  id          text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
  email       text,
  first_name  text,
  last_name   text,
  photo       text,      -- public CDN URL of photo_key
  photo_key   text,      -- object key under public/photos/<id>/
  created_at  bigint NOT NULL,
  updated_at  bigint NOT NULL
);

-- A budget row is never removed: deletion leaves a tombstone (deleted_at) so "deleted" can be told
-- from "never existed", and the event log keeps its foreign key.
CREATE TABLE budgets (
  id               uuid PRIMARY KEY,
  title            text NOT NULL,
  details          text,
  owner_id         text NOT NULL,
  created_by       text NOT NULL,
  version          bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
  -- The sequence of the newest stream event. Allocated under this row's lock, so the log of a budget
  -- is gap-free and in commit order.
  last_sequence    bigint NOT NULL DEFAULT 0 CHECK (last_sequence >= 0),
  created_at       bigint NOT NULL,
  updated_at       bigint NOT NULL,
  deleted_at       bigint
);

CREATE TABLE participants (
  budget_id  uuid NOT NULL REFERENCES budgets (id),
  user_id    text NOT NULL,
  role       text NOT NULL CHECK (role IN ('owner', 'member')),
  joined_at  bigint NOT NULL,
  PRIMARY KEY (budget_id, user_id)
);
-- "Which budgets is this user in" (GET /budgets, membership fan-out).
CREATE INDEX participants_user_idx ON participants (user_id, budget_id);

CREATE TABLE categories (
  id          uuid PRIMARY KEY,
  budget_id   uuid NOT NULL REFERENCES budgets (id),
  name        text NOT NULL,
  allocate    numeric(12, 2) NOT NULL CHECK (allocate >= 0),
  created_by  text NOT NULL,
  version     bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
  deleted     boolean NOT NULL DEFAULT false,
  created_at  bigint NOT NULL,
  updated_at  bigint NOT NULL
);
CREATE INDEX categories_budget_idx ON categories (budget_id, id) WHERE NOT deleted;

CREATE TABLE expenses (
  id           uuid PRIMARY KEY,
  budget_id    uuid NOT NULL REFERENCES budgets (id),
  category_id  uuid NOT NULL REFERENCES categories (id),
  date         date NOT NULL,
  amount       numeric(12, 2) NOT NULL CHECK (amount >= 0),
  note         text,
  created_by   text NOT NULL,
  version      bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
  deleted      boolean NOT NULL DEFAULT false,
  created_at   bigint NOT NULL,
  updated_at   bigint NOT NULL
);
-- Keyset pages of a budget's live expenses, and the summary's date range.
CREATE INDEX expenses_budget_idx ON expenses (budget_id, id) WHERE NOT deleted;
CREATE INDEX expenses_budget_date_idx ON expenses (budget_id, date) WHERE NOT deleted;
-- A category delete cascades to its live expenses.
CREATE INDEX expenses_category_idx ON expenses (category_id) WHERE NOT deleted;

-- The per-budget change stream. Each row is one accepted change: the stream event (the record after
-- the change) and what a retried push of the same eventId is answered with.
CREATE TABLE events (
  budget_id    uuid NOT NULL REFERENCES budgets (id),
  sequence     bigint NOT NULL CHECK (sequence >= 1),
  event_id     uuid NOT NULL,
  event_type   text NOT NULL,
  record_id    text NOT NULL,
  actor_id     text NOT NULL,
  client_when  bigint NOT NULL,
  server_time  bigint NOT NULL,
  version      bigint,
  record       jsonb,            -- the record after the change, null after a delete
  extra        jsonb,            -- type-specific additions, e.g. {"cascade": {"expenseIds": [...]}}
  fingerprint  text NOT NULL,    -- hash of the pushed content, for EVENT_ID_REUSED
  PRIMARY KEY (budget_id, sequence)
);
CREATE UNIQUE INDEX events_event_id_idx ON events (event_id);

-- Invite tokens are stored as SHA-256 hashes; the token itself is shown once, to its creator.
CREATE TABLE invites (
  token_hash  bytea PRIMARY KEY,
  budget_id   uuid NOT NULL REFERENCES budgets (id),
  created_by  text NOT NULL,
  created_at  bigint NOT NULL,
  expires_at  bigint NOT NULL,
  max_uses    integer CHECK (max_uses IS NULL OR max_uses >= 1),
  uses        integer NOT NULL DEFAULT 0
);
CREATE INDEX invites_budget_idx ON invites (budget_id);

-- Down Migration

DROP TABLE invites;
DROP TABLE events;
DROP TABLE expenses;
DROP TABLE categories;
DROP TABLE participants;
DROP TABLE budgets;
DROP TABLE users;
