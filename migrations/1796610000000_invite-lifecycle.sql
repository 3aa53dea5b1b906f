-- Up Migration

-- Invites are listed and revoked by an id, never by their token. `created_sequence` is the budget's
-- last sequence when the invite was made (under the budget row lock, which removals take too): it
-- orders an invite against a removal exactly, whatever the clocks of the instances say. Its default
-- 0 covers invites made before this migration and by a server version still running during the
-- rollout: they count as older than every removal, the safe side. A revoked invite keeps its row,
-- so it answers exactly like an expired or used-up one.
ALTER TABLE invites
  ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid(),
  ADD COLUMN created_sequence bigint NOT NULL DEFAULT 0 CHECK (created_sequence >= 0),
  ADD COLUMN revoked_at bigint;
ALTER TABLE invites ADD CONSTRAINT invites_id_key UNIQUE (id);

-- Users the owner removed from a budget, with the sequence of that `participant.remove`: only an
-- invite the owner makes after it lets them back (and their return clears the row). Kept apart from
-- the event log so it holds even where the log's history is trimmed.
CREATE TABLE removals (
  budget_id  uuid NOT NULL REFERENCES budgets (id),
  user_id    text NOT NULL,
  sequence   bigint NOT NULL CHECK (sequence >= 1),
  PRIMARY KEY (budget_id, user_id)
);

-- Down Migration

DROP TABLE removals;
ALTER TABLE invites DROP CONSTRAINT invites_id_key;
ALTER TABLE invites DROP COLUMN revoked_at, DROP COLUMN created_sequence, DROP COLUMN id;
