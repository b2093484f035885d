// Forward-only schema migrations. Migration N brings a database from user_version N-1 to N.
// Never edit a released migration: add the next one. Times are integer epoch milliseconds.

export const migrations: string[] = [
  // 1: announcements and their approvals (the foundation).
  `
  CREATE TABLE announcement (
    id TEXT PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    sender TEXT NOT NULL,
    sender_name TEXT,
    cap_status TEXT NOT NULL,
    msg_type TEXT NOT NULL,
    scope TEXT NOT NULL,
    references_id TEXT REFERENCES announcement(id),
    category TEXT NOT NULL,
    event TEXT NOT NULL,
    urgency TEXT NOT NULL,
    severity TEXT NOT NULL,
    certainty TEXT NOT NULL,
    web TEXT,
    area_json TEXT,
    variants_json TEXT NOT NULL,
    channels_json TEXT NOT NULL,
    effective_at INTEGER,
    expires_at INTEGER,
    state TEXT NOT NULL,
    author TEXT NOT NULL,
    reject_reason TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sent_at INTEGER
  ) STRICT;
  CREATE INDEX announcement_by_state ON announcement(state, created_at);
  CREATE INDEX announcement_by_created ON announcement(created_at);

  CREATE TABLE approval (
    announcement_id TEXT NOT NULL REFERENCES announcement(id),
    approver TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    approved_at INTEGER NOT NULL,
    PRIMARY KEY (announcement_id, approver)
  ) STRICT;
  `,
  // 2: the delivery queue (the engine): deliveries, their attempts, channel pauses.
  `
  CREATE TABLE delivery (
    id TEXT PRIMARY KEY,
    announcement_id TEXT NOT NULL REFERENCES announcement(id),
    channel TEXT NOT NULL,
    recipient TEXT,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    expires_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    receipt_id TEXT,
    receipt_url TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER
  ) STRICT;
  CREATE INDEX delivery_due ON delivery(channel, priority, due_at) WHERE state IN ('queued', 'failed');
  CREATE INDEX delivery_leased ON delivery(lease_until) WHERE state = 'sending';
  CREATE INDEX delivery_by_announcement ON delivery(announcement_id, state, channel);
  CREATE INDEX delivery_expiry ON delivery(expires_at) WHERE state IN ('queued', 'failed') AND expires_at IS NOT NULL;

  CREATE TABLE attempt (
    id INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES delivery(id),
    started_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    receipt_id TEXT,
    error TEXT
  ) STRICT;
  CREATE INDEX attempt_by_delivery ON attempt(delivery_id);

  CREATE TABLE channel_pause (
    channel TEXT PRIMARY KEY,
    paused_until INTEGER NOT NULL,
    reason TEXT
  ) STRICT;
  `,
  // 3: the audience: subscribers in lists, opt-outs by contact, and per-channel rate buckets
  // shared by every process working the queue.
  `
  CREATE TABLE subscriber (
    id INTEGER PRIMARY KEY,
    list TEXT NOT NULL,
    name TEXT,
    email TEXT,
    phone TEXT,
    language TEXT,
    lat REAL,
    lon REAL,
    zone TEXT,
    tags_json TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX subscriber_by_email ON subscriber(list, email) WHERE email IS NOT NULL;
  CREATE UNIQUE INDEX subscriber_by_phone ON subscriber(list, phone) WHERE phone IS NOT NULL;

  -- An opt-out belongs to the contact, not to a list row: it survives re-imports.
  CREATE TABLE optout (
    contact TEXT PRIMARY KEY,
    opted_out_at INTEGER NOT NULL,
    how TEXT NOT NULL
  ) STRICT;

  CREATE TABLE channel_rate (
    channel TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    refilled_at INTEGER NOT NULL
  ) STRICT;
  `,
  // 4: schedules and their occurrences. An occurrence is unique per (schedule, due time): two
  // processes that both see it due cannot both fire it.
  `
  CREATE TABLE schedule (
    id TEXT PRIMARY KEY,
    announcement_id TEXT NOT NULL REFERENCES announcement(id),
    kind TEXT NOT NULL,
    cron TEXT,
    time_zone TEXT NOT NULL,
    until_at INTEGER,
    next_due_at INTEGER,
    grace_ms INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    ended_at INTEGER,
    end_reason TEXT
  ) STRICT;
  CREATE INDEX schedule_due ON schedule(next_due_at) WHERE next_due_at IS NOT NULL;
  CREATE INDEX schedule_by_announcement ON schedule(announcement_id);

  CREATE TABLE occurrence (
    schedule_id TEXT NOT NULL REFERENCES schedule(id),
    due_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    announcement_id TEXT REFERENCES announcement(id),
    recorded_at INTEGER NOT NULL,
    reason TEXT,
    PRIMARY KEY (schedule_id, due_at)
  ) STRICT;
  `,
  // 5: the posts of a thread that went out, so a retry resumes where the last attempt stopped.
  `
  CREATE TABLE delivery_part (
    delivery_id TEXT NOT NULL REFERENCES delivery(id),
    part_index INTEGER NOT NULL,
    provider_id TEXT NOT NULL,
    url TEXT,
    ref TEXT,
    posted_at INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, part_index)
  ) STRICT, WITHOUT ROWID;
  `,
  // 6: the audit trail and emergency overrides. audit_event is append-only and hash-chained
  // (src/store/audit.ts): each row's hash is SHA-256(prev_hash ‖ canonical row). Triggers refuse
  // UPDATE and DELETE, and an INSERT that does not follow the last row. audit_head keeps the
  // last seq and hash, moved only by that INSERT, so a tail cut off the chain (with the
  // triggers dropped) is noticed by audit verify. An override is recorded on its announcement
  // and stays flagged until someone else reviews it.
  `
  CREATE TABLE audit_event (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  ) STRICT;
  CREATE INDEX audit_event_by_subject ON audit_event(subject, seq) WHERE subject IS NOT NULL;
  CREATE INDEX audit_event_config_loads ON audit_event(seq) WHERE action = 'config-loaded';

  CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
  ) STRICT;
  INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

  CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
  BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: its rows cannot be changed'); END;
  CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
  BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: its rows cannot be deleted'); END;
  CREATE TRIGGER audit_event_follows_head BEFORE INSERT ON audit_event
  WHEN NEW.seq IS NOT (SELECT seq + 1 FROM audit_head) OR NEW.prev_hash IS NOT (SELECT hash FROM audit_head)
  BEGIN SELECT RAISE(ABORT, 'audit_event: a new row must follow the last one (seq and prev_hash)'); END;
  CREATE TRIGGER audit_event_moves_head AFTER INSERT ON audit_event
  BEGIN UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1; END;
  CREATE TRIGGER audit_head_only_forward BEFORE UPDATE ON audit_head
  WHEN NEW.seq IS NOT OLD.seq + 1 OR NEW.hash IS NOT (SELECT hash FROM audit_event WHERE seq = NEW.seq)
  BEGIN SELECT RAISE(ABORT, 'audit_head moves only with a new audit_event row'); END;
  CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
  BEGIN SELECT RAISE(ABORT, 'audit_head cannot be deleted'); END;

  ALTER TABLE announcement ADD COLUMN override_by TEXT;
  ALTER TABLE announcement ADD COLUMN override_reason TEXT;
  ALTER TABLE announcement ADD COLUMN override_at INTEGER;
  ALTER TABLE announcement ADD COLUMN override_content_hash TEXT;
  ALTER TABLE announcement ADD COLUMN reviewed_by TEXT;
  ALTER TABLE announcement ADD COLUMN reviewed_at INTEGER;
  ALTER TABLE announcement ADD COLUMN review_note TEXT;
  CREATE INDEX announcement_unreviewed_override ON announcement(override_at) WHERE override_by IS NOT NULL AND reviewed_by IS NULL;
  `,
  // 7: when an announcement went out (its broadcast began): CAP's <sent> and the feed's order,
  // rather than when it was drafted — an alert that waited hours for approval is not old news.
  `
  ALTER TABLE announcement ADD COLUMN issued_at INTEGER;
  `,
  // 8: the type of each channel as it was when the announcement was queued, so that work queued
  // for a private webhook never goes out through a public feed declared under the same name.
  `
  ALTER TABLE announcement ADD COLUMN channel_types_json TEXT;
  `,
  // 9: why a delivery being sent when its announcement was cancelled or superseded must not be
  // tried again: its send in flight finishes, but a retry of it would be the old words after the
  // new. The index finds, for a dispatcher, those it holds claimed and has not started yet.
  `
  ALTER TABLE delivery ADD COLUMN stop_reason TEXT;
  CREATE INDEX delivery_stopped_in_flight ON delivery(lease_owner) WHERE state = 'sending' AND stop_reason IS NOT NULL;
  `,
  // 10: up to when each feed channel has been brought up to date with its entries' expiry: a run
  // or the worker rewrites a feed once one of its entries expires, not only when one is added.
  `
  CREATE TABLE feed_refresh (
    channel TEXT PRIMARY KEY,
    checked_until INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX announcement_by_expiry ON announcement(expires_at) WHERE expires_at IS NOT NULL;
  `,
  // 11: how each announcement published before now wrote UTC ("+00:00"; CAP 1.2 says "-00:00"),
  // so that an Update or Cancel sent after the upgrade quotes the <sent> its readers hold.
  `
  ALTER TABLE announcement ADD COLUMN utc_written_as TEXT;
  UPDATE announcement SET utc_written_as = '+00:00' WHERE issued_at IS NOT NULL;
  `,
  // 12: the cancels, found without reading the whole trail: list and show mark an announcement
  // cancelled with no Cancel message (it had expired), which only the trail records.
  `
  CREATE INDEX audit_event_cancels ON audit_event(subject) WHERE action = 'cancelled';
  `,
  // 13: the follow-ups (Updates, Cancels) of given announcements, found without reading every
  // announcement: list and show ask for those of each one they print (10,000 stored: 45 ms).
  `
  CREATE INDEX announcement_by_reference ON announcement(references_id) WHERE references_id IS NOT NULL;
  `,
  // 14: a contact's subscriptions in every list, found through the contact: an opt-out (a STOP,
  // a provider's "unsubscribed" answer while a broadcast sends) read all subscribers — 105 ms
  // each at a million, in the queue's write transaction. Contact first, list second, the same
  // pairs stay unique.
  `
  DROP INDEX subscriber_by_email;
  DROP INDEX subscriber_by_phone;
  CREATE UNIQUE INDEX subscriber_by_email ON subscriber(email, list) WHERE email IS NOT NULL;
  CREATE UNIQUE INDEX subscriber_by_phone ON subscriber(phone, list) WHERE phone IS NOT NULL;
  `,
  // 15: what status and show say of one announcement, found without reading all its deliveries
  // and attempts: its retries and errors joined every delivery to its attempts (1.7 s at a
  // million recipients, every time an officer asked); its broadcast channels' receipts, and the
  // entries of a feed, read every delivery (0.24 s, 0.08–0.23 s). Both indexes are partial: a
  // sent attempt and a per-recipient delivery — the bulk of a broadcast — add no entry.
  `
  CREATE INDEX attempt_unsent ON attempt(delivery_id) WHERE outcome != 'sent';
  CREATE INDEX delivery_broadcast ON delivery(announcement_id) WHERE recipient IS NULL;
  `,
  // 16: a report's window, found without reading every delivery ever made: a week's report after
  // a year of county alerts read all of them. Deliveries are created in time order, so each new
  // entry goes at the end of the index; a claim or a result never changes created_at.
  `
  CREATE INDEX delivery_by_created ON delivery(created_at);
  `,
  // 17: the audit trail's head and rows cannot be replaced. INSERT OR REPLACE removes the row it
  // replaces without firing a DELETE trigger, and audit_head had no INSERT trigger: the head
  // could be set back and the rows after it written again, forged, with every guard in place.
  `
  CREATE TRIGGER audit_head_no_insert BEFORE INSERT ON audit_head
  BEGIN SELECT RAISE(ABORT, 'audit_head is written once: it cannot be replaced'); END;
  CREATE TRIGGER audit_event_no_replace BEFORE INSERT ON audit_event
  WHEN EXISTS (SELECT 1 FROM audit_event WHERE seq = NEW.seq)
  BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: its rows cannot be replaced'); END;
  `,
]

export const latestVersion = migrations.length
