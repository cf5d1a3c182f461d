/**
 * Ordered schema migrations. Migration N brings the schema from user_version N-1 to N; each runs in
 * its own transaction together with the user_version bump, so a failed upgrade leaves the previous
 * version intact. Never edit a released migration: add a new one.
 */
/**
 * The staff list's search text of one account (schema 13): the seller's name, e-mail, Allegro login and
 * id, the mailbox and the support number (the autoresponder's external id, "AR-…"), folded to lower case
 * and stripped of Polish letters. accounts/filter.ts (searchFold) folds a query exactly so.
 */
export const SEARCH_TEXT = [['ą', 'a'], ['ć', 'c'], ['ę', 'e'], ['ł', 'l'], ['ń', 'n'], ['ó', 'o'], ['ś', 's'], ['ź', 'z'], ['ż', 'z']].reduce(
  (sql, [from, to]) => `replace(${sql}, '${from}', '${to}')`,
  `fold(s.name || ' ' || s.email || ' ' || COALESCE(s.allegro_login, '') || ' ' || COALESCE(mb.email, '') || ' ' || a.external_id || ' ' || s.external_id)`,
);

/**
 * The furthest step of the migration funnel one account reached, as SQL over account_index i, sellers s
 * and seller_funnel f (schema 8). A later step counts as having passed the earlier ones: choosing a way
 * or finishing needs a sign-in. Without a reminder, any sign-in counts (those accounts are shown apart).
 */
export const FUNNEL_STEP = `CASE WHEN i.state IN ('not_affected', 'reviewed') THEN 'excluded'
         WHEN i.state IN ('switched_v3', 'relinked_app_password') THEN 'done'
         WHEN i.path IS NOT NULL THEN 'chose'
         WHEN (f.seller_id IS NOT NULL AND f.signed_in_at IS NOT NULL) OR (f.seller_id IS NULL AND s.last_seen_at IS NOT NULL) THEN 'signed_in'
         ELSE 'affected' END`;

/**
 * The row of account_index of the accounts a WHERE clause picks, as the schema's triggers write it
 * (schema 13; `m` migrations, `a` autoresponders, `s` sellers, `mb` mailboxes). db/derived.ts writes the
 * same rows for a batch.
 */
export const ACCOUNT_INDEX_ROWS = `SELECT a.id, m.id, s.id, s.name, s.email, s.allegro_login, mb.id, mb.email, lower(mb.imap_host),
               COALESCE(mb.provider, 'unknown'), a.version, m.state, m.path, m.last_error_code, COALESCE(m.last_checked_at, ''),
               max(m.state_changed_at, COALESCE(s.last_seen_at, '')),
               ${SEARCH_TEXT},
               fold(s.name)
          FROM migrations m JOIN autoresponders a ON a.id = m.autoresponder_id JOIN sellers s ON s.id = a.seller_id
          LEFT JOIN mailboxes mb ON mb.id = a.mailbox_id`;

/** The step and cohort of the accounts of account_index i (with sellers s and seller_funnel f), as schema 8's triggers write them. */
export const ACCOUNT_FUNNEL_ROWS = `SELECT i.autoresponder_id, i.seller_id, ${FUNNEL_STEP}, warsaw_week(f.first_reminded_at)
        FROM account_index i JOIN sellers s ON s.id = i.seller_id LEFT JOIN seller_funnel f ON f.seller_id = i.seller_id`;

const NOT_DEFERRED = 'NOT EXISTS (SELECT 1 FROM derived_deferred)';

/**
 * The triggers that start account_index's cascade (schema 13's, and again schema 15's): each one's
 * name, event, the accounts it rewrites (a WHERE over ACCOUNT_INDEX_ROWS), and as a statement the
 * autoresponders those are (what schema 15's twin notes while the import defers them).
 */
const ACCOUNT_INDEX_TRIGGERS = [
  ['account_index_migration_insert', 'AFTER INSERT ON migrations', 'm.id = NEW.id', 'VALUES (NEW.autoresponder_id)'],
  ['account_index_migration_update', 'AFTER UPDATE ON migrations', 'm.id = NEW.id', 'VALUES (NEW.autoresponder_id)'],
  ['account_index_autoresponder_update', 'AFTER UPDATE ON autoresponders', 'a.id = NEW.id', 'VALUES (NEW.id)'],
  ['account_index_seller_update', 'AFTER UPDATE ON sellers', 's.id = NEW.id', 'SELECT id FROM autoresponders WHERE seller_id = NEW.id'],
  ['account_index_mailbox_update', 'AFTER UPDATE OF email, imap_host, provider ON mailboxes', 'mb.id = NEW.id', 'SELECT id FROM autoresponders WHERE mailbox_id = NEW.id'],
] as const;

/**
 * Schema 15: every trigger that writes a derived table row by row, the same body with one more
 * condition: not while the import's transaction defers them (test/unit/derived-batch.test.ts compares the
 * bodies with the schema just before). Beside each trigger that starts the cascade, a twin that, while deferred,
 * only notes which accounts it would have rewritten.
 */
const DEFERRED_TRIGGERS = [
  ...ACCOUNT_INDEX_TRIGGERS.map(
    ([name, on, where, pending]) => `
  DROP TRIGGER ${name};
  CREATE TRIGGER ${name} ${on} WHEN ${NOT_DEFERRED} BEGIN
    INSERT OR REPLACE INTO account_index
        ${ACCOUNT_INDEX_ROWS}
         WHERE ${where};
  END;
  CREATE TRIGGER ${name.replace('account_index_', 'derived_pending_')} ${on} WHEN NOT ${NOT_DEFERRED} BEGIN
    INSERT OR IGNORE INTO derived_pending (autoresponder_id) ${pending};
  END;`,
  ),
  `
  DROP TRIGGER account_search_insert;
  CREATE TRIGGER account_search_insert AFTER INSERT ON account_index WHEN ${NOT_DEFERRED} BEGIN
    DELETE FROM account_search WHERE rowid = NEW.autoresponder_id;
    INSERT INTO account_search (rowid, search, tags) SELECT autoresponder_id, search, tags FROM account_search_source WHERE autoresponder_id = NEW.autoresponder_id;
  END;
  DROP TRIGGER account_counts_replace;
  CREATE TRIGGER account_counts_replace BEFORE INSERT ON account_index WHEN ${NOT_DEFERRED} BEGIN
    UPDATE account_counts SET n = n - 1
     WHERE (state, version, provider, code) = (SELECT state, version, provider, COALESCE(last_error_code, '') FROM account_index WHERE autoresponder_id = NEW.autoresponder_id);
  END;
  DROP TRIGGER account_counts_insert;
  CREATE TRIGGER account_counts_insert AFTER INSERT ON account_index WHEN ${NOT_DEFERRED} BEGIN
    INSERT INTO account_counts (state, version, provider, code, n) VALUES (NEW.state, NEW.version, NEW.provider, COALESCE(NEW.last_error_code, ''), 1)
      ON CONFLICT DO UPDATE SET n = n + 1;
  END;
  DROP TRIGGER account_funnel_account;
  CREATE TRIGGER account_funnel_account AFTER INSERT ON account_index WHEN ${NOT_DEFERRED} BEGIN
    INSERT INTO account_funnel (autoresponder_id, seller_id, step, cohort)
      ${ACCOUNT_FUNNEL_ROWS}
       WHERE i.autoresponder_id = NEW.autoresponder_id
      ON CONFLICT (autoresponder_id) DO UPDATE SET seller_id = excluded.seller_id, step = excluded.step, cohort = excluded.cohort;
  END;
  DROP TRIGGER funnel_count_insert;
  CREATE TRIGGER funnel_count_insert AFTER INSERT ON account_funnel WHEN ${NOT_DEFERRED} BEGIN
    INSERT INTO funnel_counts (cohort, step, n) VALUES (COALESCE(NEW.cohort, ''), NEW.step, 1) ON CONFLICT (cohort, step) DO UPDATE SET n = n + 1;
  END;
  DROP TRIGGER funnel_count_update;
  CREATE TRIGGER funnel_count_update AFTER UPDATE OF step, cohort ON account_funnel WHEN (OLD.step IS NOT NEW.step OR OLD.cohort IS NOT NEW.cohort) AND ${NOT_DEFERRED} BEGIN
    UPDATE funnel_counts SET n = n - 1 WHERE cohort = COALESCE(OLD.cohort, '') AND step = OLD.step;
    INSERT INTO funnel_counts (cohort, step, n) VALUES (COALESCE(NEW.cohort, ''), NEW.step, 1) ON CONFLICT (cohort, step) DO UPDATE SET n = n + 1;
  END;`,
].join('\n');

export const MIGRATIONS: readonly string[] = [
  // 1: the domain.
  `
  CREATE TABLE sellers (
    id            INTEGER PRIMARY KEY,
    external_id   TEXT NOT NULL UNIQUE,          -- seller_id in the main seller-tools system
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    allegro_login TEXT,
    language      TEXT NOT NULL DEFAULT 'pl' CHECK (language IN ('pl', 'en')),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
  );
  CREATE INDEX sellers_email ON sellers (email COLLATE NOCASE);

  CREATE TABLE mailboxes (
    id                 INTEGER PRIMARY KEY,
    seller_id          INTEGER NOT NULL REFERENCES sellers (id) ON DELETE CASCADE,
    email              TEXT NOT NULL COLLATE NOCASE,
    imap_host          TEXT NOT NULL,
    imap_port          INTEGER NOT NULL CHECK (imap_port BETWEEN 1 AND 65535),
    imap_security      TEXT NOT NULL CHECK (imap_security IN ('tls', 'starttls', 'none')),
    smtp_host          TEXT NOT NULL,
    smtp_port          INTEGER NOT NULL CHECK (smtp_port BETWEEN 1 AND 65535),
    smtp_security      TEXT NOT NULL CHECK (smtp_security IN ('tls', 'starttls', 'none')),
    username           TEXT NOT NULL,
    secret             TEXT,                       -- secret-box ciphertext, never plaintext
    secret_kind        TEXT CHECK (secret_kind IN ('account_password', 'app_password')),
    secret_verified_at TEXT,                       -- when an app password last passed a real login
    provider           TEXT NOT NULL DEFAULT 'unknown' CHECK (provider IN ('gmail', 'workspace', 'other', 'unknown')),
    detection_rule     TEXT NOT NULL DEFAULT 'not_checked',
    detection_detail   TEXT,
    detected_at        TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    UNIQUE (seller_id, email),
    CHECK ((secret IS NULL) = (secret_kind IS NULL)),
    CHECK (secret_verified_at IS NULL OR secret_kind = 'app_password')
  );

  CREATE TABLE allegro_authorizations (
    id                INTEGER PRIMARY KEY,
    seller_id         INTEGER NOT NULL REFERENCES sellers (id) ON DELETE CASCADE,
    allegro_user_id   TEXT NOT NULL,
    allegro_login     TEXT NOT NULL,
    access_token      TEXT NOT NULL,               -- secret-box ciphertext
    refresh_token     TEXT NOT NULL,               -- secret-box ciphertext
    access_expires_at TEXT NOT NULL,
    scopes            TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'invalid')),
    invalid_reason    TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
  );
  CREATE INDEX allegro_authorizations_seller ON allegro_authorizations (seller_id);

  CREATE TABLE autoresponders (
    id               INTEGER PRIMARY KEY,
    seller_id        INTEGER NOT NULL REFERENCES sellers (id) ON DELETE CASCADE,
    external_id      TEXT NOT NULL UNIQUE,         -- autoresponder_id in the main system
    version          INTEGER NOT NULL CHECK (version IN (1, 2, 3)),
    previous_version INTEGER CHECK (previous_version IN (1, 2)),
    mailbox_id       INTEGER REFERENCES mailboxes (id) ON DELETE RESTRICT,
    authorization_id INTEGER REFERENCES allegro_authorizations (id) ON DELETE SET NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK (version = 3 OR mailbox_id IS NOT NULL)
  );
  CREATE INDEX autoresponders_seller ON autoresponders (seller_id);
  CREATE INDEX autoresponders_mailbox ON autoresponders (mailbox_id);

  CREATE TABLE reply_templates (
    id               INTEGER PRIMARY KEY,
    autoresponder_id INTEGER NOT NULL REFERENCES autoresponders (id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    name             TEXT NOT NULL,
    subject          TEXT NOT NULL DEFAULT '',
    body             TEXT NOT NULL,
    body_format      TEXT NOT NULL CHECK (body_format IN ('html', 'text')),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (autoresponder_id, position)
  );

  CREATE TABLE migrations (
    id               INTEGER PRIMARY KEY,
    autoresponder_id INTEGER NOT NULL UNIQUE REFERENCES autoresponders (id) ON DELETE CASCADE,
    state            TEXT NOT NULL,
    previous_state   TEXT,
    path             TEXT CHECK (path IN ('v3', 'app_password')),
    reason_code      TEXT,                         -- why it needs attention
    verdict_rule     TEXT NOT NULL,                -- which detection rule decided affected or not
    verdict_detail   TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error_code  TEXT,
    last_checked_at  TEXT,
    started_at       TEXT,
    completed_at     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK (state != 'needs_attention' OR reason_code IS NOT NULL)
  );
  CREATE INDEX migrations_state ON migrations (state, id);

  CREATE TABLE staff_users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'agent', 'admin')),
    disabled_at   TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
  );

  CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_type  TEXT NOT NULL CHECK (actor_type IN ('system', 'seller', 'staff', 'cli')),
    actor_id    TEXT,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT,
    details     TEXT NOT NULL DEFAULT '{}'         -- JSON, never a secret
  );
  CREATE INDEX audit_log_target ON audit_log (target_type, target_id, id);
  -- Append-only: the log can grow, never change.
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

  CREATE TABLE mx_cache (
    domain     TEXT PRIMARY KEY,
    status     TEXT NOT NULL CHECK (status IN ('ok', 'no_mx')),
    hosts      TEXT NOT NULL DEFAULT '[]',         -- JSON array of lower-case host names, by preference
    checked_at TEXT NOT NULL
  );
  `,
  // 2: seller sign-in, server-side sessions, and the history of every connection check.
  `
  CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,                 -- sha256 of the cookie value; the value itself is never stored
    kind         TEXT NOT NULL CHECK (kind IN ('seller', 'staff')),
    subject_id   INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
  );
  CREATE INDEX sessions_expires ON sessions (expires_at);

  CREATE TABLE login_tokens (
    id         INTEGER PRIMARY KEY,
    seller_id  INTEGER NOT NULL REFERENCES sellers (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,               -- sha256 of the token; the token is only in the e-mail
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
  );
  CREATE INDEX login_tokens_seller ON login_tokens (seller_id, created_at);

  CREATE TABLE connection_checks (
    id               INTEGER PRIMARY KEY,
    mailbox_id       INTEGER REFERENCES mailboxes (id) ON DELETE CASCADE,
    autoresponder_id INTEGER REFERENCES autoresponders (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('mail', 'allegro')),
    trigger          TEXT NOT NULL CHECK (trigger IN ('seller', 'staff', 'bulk')),
    ok               INTEGER NOT NULL CHECK (ok IN (0, 1)),
    code             TEXT,
    protocol         TEXT,
    detail           TEXT,                         -- the server's reply, for support; never a secret
    at               TEXT NOT NULL
  );
  CREATE INDEX connection_checks_mailbox ON connection_checks (mailbox_id, at);
  `,
  // 3: version 3: Allegro authorizations in use, OAuth attempts, the seller's converted templates.
  `
  -- NULL while the seller has not confirmed an Allegro account other than the expected one.
  ALTER TABLE allegro_authorizations ADD COLUMN confirmed_at TEXT;
  ALTER TABLE allegro_authorizations ADD COLUMN refreshed_at TEXT;
  -- One row per seller and Allegro account: a new consent replaces the tokens, not adds a row.
  CREATE UNIQUE INDEX allegro_authorizations_account ON allegro_authorizations (seller_id, allegro_user_id);

  -- An authorization request in flight: state and PKCE verifier, bound to the browser session.
  CREATE TABLE oauth_states (
    state_hash       TEXT PRIMARY KEY,              -- sha256 of state; the value itself is only in the URL
    session_hash     TEXT NOT NULL,                 -- the seller session that started it
    seller_id        INTEGER NOT NULL REFERENCES sellers (id) ON DELETE CASCADE,
    autoresponder_id INTEGER REFERENCES autoresponders (id) ON DELETE CASCADE,
    code_verifier    TEXT NOT NULL,                 -- secret-box ciphertext
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    used_at          TEXT
  );
  CREATE INDEX oauth_states_expires ON oauth_states (expires_at);

  -- The plain text the seller approved for each template, before the switch saves it.
  CREATE TABLE v3_drafts (
    autoresponder_id INTEGER NOT NULL REFERENCES autoresponders (id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    text             TEXT NOT NULL,
    source_hash      TEXT NOT NULL,                 -- sha256 of the template it was made from
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (autoresponder_id, position)
  );

  -- The mailbox version's templates, kept at the switch so that switching back restores them.
  CREATE TABLE template_snapshots (
    autoresponder_id INTEGER NOT NULL REFERENCES autoresponders (id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    name             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    body_format      TEXT NOT NULL CHECK (body_format IN ('html', 'text')),
    saved_at         TEXT NOT NULL,
    PRIMARY KEY (autoresponder_id, position)
  );

  ALTER TABLE connection_checks ADD COLUMN authorization_id INTEGER REFERENCES allegro_authorizations (id) ON DELETE SET NULL;
  CREATE INDEX connection_checks_autoresponder ON connection_checks (autoresponder_id, at);
  `,
  // 4: the staff console: a list index kept by triggers, bulk jobs, reminders, staff sign-in failures.
  `
  -- When a seller last signed in, and when a migration last changed state: together, "activity".
  ALTER TABLE sellers ADD COLUMN last_seen_at TEXT;
  ALTER TABLE migrations ADD COLUMN state_changed_at TEXT NOT NULL DEFAULT '';
  UPDATE migrations SET state_changed_at = updated_at;

  -- One row per autoresponder with a migration, flattened for the staff list: filters, sorting and
  -- keyset paging read one table. Triggers keep it equal to its sources; nothing else writes it.
  -- fold() is the app's Unicode lower-case (Polish letters included), registered on every connection.
  CREATE TABLE account_index (
    autoresponder_id INTEGER PRIMARY KEY REFERENCES autoresponders (id) ON DELETE CASCADE,
    migration_id     INTEGER NOT NULL,
    seller_id        INTEGER NOT NULL,
    seller_name      TEXT NOT NULL,
    seller_email     TEXT NOT NULL,
    allegro_login    TEXT,
    mailbox_id       INTEGER,
    mailbox_email    TEXT,
    mail_host        TEXT,
    provider         TEXT NOT NULL,
    version          INTEGER NOT NULL,
    state            TEXT NOT NULL,
    path             TEXT,
    last_error_code  TEXT,
    last_checked_at  TEXT NOT NULL,                -- '' when never checked (sorts first, keeps keyset paging simple)
    activity_at      TEXT NOT NULL,
    search           TEXT NOT NULL,
    sort_name        TEXT NOT NULL
  );
  CREATE INDEX account_index_state ON account_index (state, autoresponder_id);
  CREATE INDEX account_index_name ON account_index (sort_name, autoresponder_id);
  CREATE INDEX account_index_checked ON account_index (last_checked_at, autoresponder_id);
  CREATE INDEX account_index_activity ON account_index (activity_at, autoresponder_id);
  CREATE INDEX account_index_error ON account_index (last_error_code, autoresponder_id);
  CREATE INDEX account_index_provider ON account_index (provider, version, autoresponder_id);
  CREATE INDEX account_index_seller ON account_index (seller_id);
  CREATE INDEX account_index_mailbox ON account_index (mailbox_id);
  CREATE INDEX migrations_completed ON migrations (completed_at) WHERE completed_at IS NOT NULL;

  CREATE TRIGGER account_index_migration_insert AFTER INSERT ON migrations BEGIN
    INSERT OR REPLACE INTO account_index
        SELECT a.id, m.id, s.id, s.name, s.email, s.allegro_login, mb.id, mb.email, lower(mb.imap_host),
               COALESCE(mb.provider, 'unknown'), a.version, m.state, m.path, m.last_error_code, COALESCE(m.last_checked_at, ''),
               max(m.state_changed_at, COALESCE(s.last_seen_at, '')),
               fold(s.name || ' ' || s.email || ' ' || COALESCE(s.allegro_login, '') || ' ' || COALESCE(mb.email, '')),
               fold(s.name)
          FROM migrations m JOIN autoresponders a ON a.id = m.autoresponder_id JOIN sellers s ON s.id = a.seller_id
          LEFT JOIN mailboxes mb ON mb.id = a.mailbox_id
         WHERE m.id = NEW.id;
  END;
  CREATE TRIGGER account_index_migration_update AFTER UPDATE ON migrations BEGIN
    INSERT OR REPLACE INTO account_index
        SELECT a.id, m.id, s.id, s.name, s.email, s.allegro_login, mb.id, mb.email, lower(mb.imap_host),
               COALESCE(mb.provider, 'unknown'), a.version, m.state, m.path, m.last_error_code, COALESCE(m.last_checked_at, ''),
               max(m.state_changed_at, COALESCE(s.last_seen_at, '')),
               fold(s.name || ' ' || s.email || ' ' || COALESCE(s.allegro_login, '') || ' ' || COALESCE(mb.email, '')),
               fold(s.name)
          FROM migrations m JOIN autoresponders a ON a.id = m.autoresponder_id JOIN sellers s ON s.id = a.seller_id
          LEFT JOIN mailboxes mb ON mb.id = a.mailbox_id
         WHERE m.id = NEW.id;
  END;
  CREATE TRIGGER account_index_autoresponder_update AFTER UPDATE ON autoresponders BEGIN
    INSERT OR REPLACE INTO account_index
        SELECT a.id, m.id, s.id, s.name, s.email, s.allegro_login, mb.id, mb.email, lower(mb.imap_host),
               COALESCE(mb.provider, 'unknown'), a.version, m.state, m.path, m.last_error_code, COALESCE(m.last_checked_at, ''),
               max(m.state_changed_at, COALESCE(s.last_seen_at, '')),
               fold(s.name || ' ' || s.email || ' ' || COALESCE(s.allegro_login, '') || ' ' || COALESCE(mb.email, '')),
               fold(s.name)
          FROM migrations m JOIN autoresponders a ON a.id = m.autoresponder_id JOIN sellers s ON s.id = a.seller_id
          LEFT JOIN mailboxes mb ON mb.id = a.mailbox_id
         WHERE a.id = NEW.id;
  END;
  CREATE TRIGGER account_index_seller_update AFTER UPDATE ON sellers BEGIN
    INSERT OR REPLACE INTO account_index
        SELECT a.id, m.id, s.id, s.name, s.email, s.allegro_login, mb.id, mb.email, lower(mb.imap_host),
               COALESCE(mb.provider, 'unknown'), a.version, m.state, m.path, m.last_error_code, COALESCE(m.last_checked_at, ''),
               max(m.state_changed_at, COALESCE(s.last_seen_at, '')),
               fold(s.name || ' ' || s.email || ' ' || COALESCE(s.allegro_login, '') || ' ' || COALESCE(mb.email, '')),
               fold(s.name)
          FROM migrations m JOIN autoresponders a ON a.id = m.autoresponder_id JOIN sellers s ON s.id = a.seller_id
          LEFT JOIN mailboxes mb ON mb.id = a.mailbox_id
         WHERE s.id = NEW.id;
  END;
  CREATE TRIGGER account_index_mailbox_update AFTER UPDATE OF email, imap_host, provider ON mailboxes BEGIN
    INSERT OR REPLACE INTO account_index
        SELECT a.id, m.id, s.id, s.name, s.email, s.allegro_login, mb.id, mb.email, lower(mb.imap_host),
               COALESCE(mb.provider, 'unknown'), a.version, m.state, m.path, m.last_error_code, COALESCE(m.last_checked_at, ''),
               max(m.state_changed_at, COALESCE(s.last_seen_at, '')),
               fold(s.name || ' ' || s.email || ' ' || COALESCE(s.allegro_login, '') || ' ' || COALESCE(mb.email, '')),
               fold(s.name)
          FROM migrations m JOIN autoresponders a ON a.id = m.autoresponder_id JOIN sellers s ON s.id = a.seller_id
          LEFT JOIN mailboxes mb ON mb.id = a.mailbox_id
         WHERE mb.id = NEW.id;
  END;
  INSERT OR REPLACE INTO account_index
        SELECT a.id, m.id, s.id, s.name, s.email, s.allegro_login, mb.id, mb.email, lower(mb.imap_host),
               COALESCE(mb.provider, 'unknown'), a.version, m.state, m.path, m.last_error_code, COALESCE(m.last_checked_at, ''),
               max(m.state_changed_at, COALESCE(s.last_seen_at, '')),
               fold(s.name || ' ' || s.email || ' ' || COALESCE(s.allegro_login, '') || ' ' || COALESCE(mb.email, '')),
               fold(s.name)
          FROM migrations m JOIN autoresponders a ON a.id = m.autoresponder_id JOIN sellers s ON s.id = a.seller_id
          LEFT JOIN mailboxes mb ON mb.id = a.mailbox_id
         WHERE 1;

  -- Bulk actions. The job keeps what the agent confirmed; items are made when the job starts (the
  -- filter is evaluated then), one per autoresponder, and are never redone once finished.
  CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('recheck', 'remind', 'review')),
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'cancelling', 'cancelled', 'done')),
    selection       TEXT NOT NULL CHECK (selection IN ('ids', 'filter')),
    filter          TEXT,                           -- JSON list filter, for selection = 'filter'
    ids             TEXT,                           -- JSON array of autoresponder ids, for selection = 'ids'
    note            TEXT,
    confirmed_count INTEGER NOT NULL,               -- the count the agent saw and confirmed
    total           INTEGER,                        -- items made when the job started
    created_by      INTEGER NOT NULL REFERENCES staff_users (id),
    cancelled_by    INTEGER REFERENCES staff_users (id),
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT,
    updated_at      TEXT NOT NULL
  );
  CREATE INDEX jobs_status ON jobs (status, id);

  CREATE TABLE job_items (
    id               INTEGER PRIMARY KEY,
    job_id           INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    autoresponder_id INTEGER NOT NULL REFERENCES autoresponders (id) ON DELETE CASCADE,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped', 'cancelled', 'unknown')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    outcome          TEXT,                          -- ok, an error code, or why it was skipped
    error            TEXT,                          -- a short explanation for support; never a secret
    updated_at       TEXT NOT NULL,
    UNIQUE (job_id, autoresponder_id)
  );
  CREATE INDEX job_items_job ON job_items (job_id, status, id);

  -- Every reminder e-mail, written before sending. 'committing' is set just before the end of the
  -- message is sent: a row left in 'sending' after a crash was never accepted by the SMTP server.
  CREATE TABLE reminders (
    id         INTEGER PRIMARY KEY,
    seller_id  INTEGER NOT NULL REFERENCES sellers (id) ON DELETE CASCADE,
    job_id     INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    item_id    INTEGER REFERENCES job_items (id) ON DELETE SET NULL,
    staff_id   INTEGER REFERENCES staff_users (id),
    status     TEXT NOT NULL CHECK (status IN ('sending', 'committing', 'sent', 'unknown', 'failed')),
    error      TEXT,
    created_at TEXT NOT NULL,
    sent_at    TEXT
  );
  CREATE INDEX reminders_seller ON reminders (seller_id, created_at);
  CREATE UNIQUE INDEX reminders_once_per_job ON reminders (job_id, seller_id) WHERE job_id IS NOT NULL AND status != 'failed';

  CREATE TABLE staff_sign_in_failures (
    email TEXT NOT NULL COLLATE NOCASE,
    at    TEXT NOT NULL
  );
  CREATE INDEX staff_sign_in_failures_email ON staff_sign_in_failures (email, at);
  `,
  // 5: the staff list's default order (by name) within the usual filters, without sorting the whole filter.
  `
  CREATE INDEX account_index_state_name ON account_index (state, sort_name, autoresponder_id);
  CREATE INDEX account_index_version_name ON account_index (version, sort_name, autoresponder_id);
  `,
  // 6: a trigram index over the list's folded search text: a substring search reads the index, not every row.
  `
  CREATE VIRTUAL TABLE account_search USING fts5(search, content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 1');
  INSERT INTO account_search (rowid, search) SELECT autoresponder_id, search FROM account_index;
  -- account_index is written with INSERT OR REPLACE, which fires no delete trigger: the insert trigger replaces.
  CREATE TRIGGER account_search_insert AFTER INSERT ON account_index BEGIN
    DELETE FROM account_search WHERE rowid = NEW.autoresponder_id;
    INSERT INTO account_search (rowid, search) VALUES (NEW.autoresponder_id, NEW.search);
  END;
  CREATE TRIGGER account_search_delete AFTER DELETE ON account_index BEGIN
    DELETE FROM account_search WHERE rowid = OLD.autoresponder_id;
  END;
  `,
  // 7: the staff list reads about one page whatever the table size. Exact totals and the overview come
  // from counters kept by triggers; every filter and order the console offers has an index to walk or
  // to collect from; search covers only listed rows and carries the equality filters as tags.
  `
  -- Rows of account_index per (state, version, provider, last error; '' for none): the exact total of any
  -- combination of these filters, the overview's counts and the error-code options, without counting rows.
  CREATE TABLE account_counts (
    state    TEXT NOT NULL,
    version  INTEGER NOT NULL,
    provider TEXT NOT NULL,
    code     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (state, version, provider, code)
  ) WITHOUT ROWID;
  INSERT INTO account_counts (state, version, provider, code, n)
    SELECT state, version, provider, COALESCE(last_error_code, ''), count(*) FROM account_index GROUP BY 1, 2, 3, 4;
  -- account_index is written with INSERT OR REPLACE, whose implicit delete fires no trigger: the row
  -- about to be replaced is taken off the counts before the insert.
  CREATE TRIGGER account_counts_replace BEFORE INSERT ON account_index BEGIN
    UPDATE account_counts SET n = n - 1
     WHERE (state, version, provider, code) = (SELECT state, version, provider, COALESCE(last_error_code, '') FROM account_index WHERE autoresponder_id = NEW.autoresponder_id);
  END;
  CREATE TRIGGER account_counts_insert AFTER INSERT ON account_index BEGIN
    INSERT INTO account_counts (state, version, provider, code, n) VALUES (NEW.state, NEW.version, NEW.provider, COALESCE(NEW.last_error_code, ''), 1)
      ON CONFLICT DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER account_counts_delete AFTER DELETE ON account_index BEGIN
    UPDATE account_counts SET n = n - 1
     WHERE state = OLD.state AND version = OLD.version AND provider = OLD.provider AND code = COALESCE(OLD.last_error_code, '');
  END;
  CREATE TRIGGER account_counts_update AFTER UPDATE OF state, version, provider, last_error_code ON account_index BEGIN
    UPDATE account_counts SET n = n - 1
     WHERE state = OLD.state AND version = OLD.version AND provider = OLD.provider AND code = COALESCE(OLD.last_error_code, '');
    INSERT INTO account_counts (state, version, provider, code, n) VALUES (NEW.state, NEW.version, NEW.provider, COALESCE(NEW.last_error_code, ''), 1)
      ON CONFLICT DO UPDATE SET n = n + 1;
  END;

  -- Migrated autoresponders (migrated now) per completion day: the overview's chart without a scan.
  CREATE TABLE migrated_per_day (
    day TEXT PRIMARY KEY,
    n   INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO migrated_per_day (day, n)
    SELECT substr(completed_at, 1, 10), count(*) FROM migrations
     WHERE state IN ('switched_v3', 'relinked_app_password') AND completed_at IS NOT NULL GROUP BY 1;
  CREATE TRIGGER migrated_per_day_insert AFTER INSERT ON migrations
    WHEN NEW.state IN ('switched_v3', 'relinked_app_password') AND NEW.completed_at IS NOT NULL BEGIN
    INSERT INTO migrated_per_day (day, n) VALUES (substr(NEW.completed_at, 1, 10), 1) ON CONFLICT DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER migrated_per_day_update AFTER UPDATE OF state, completed_at ON migrations BEGIN
    UPDATE migrated_per_day SET n = n - 1
     WHERE day = substr(OLD.completed_at, 1, 10) AND OLD.state IN ('switched_v3', 'relinked_app_password');
    INSERT INTO migrated_per_day (day, n)
      SELECT substr(NEW.completed_at, 1, 10), 1 WHERE NEW.state IN ('switched_v3', 'relinked_app_password') AND NEW.completed_at IS NOT NULL
      ON CONFLICT DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER migrated_per_day_delete AFTER DELETE ON migrations
    WHEN OLD.state IN ('switched_v3', 'relinked_app_password') AND OLD.completed_at IS NOT NULL BEGIN
    UPDATE migrated_per_day SET n = n - 1 WHERE day = substr(OLD.completed_at, 1, 10);
  END;
  -- The chart's first day: min(created_at) read from the end of an index.
  CREATE INDEX migrations_created ON migrations (created_at);

  -- Indexes for the orders the list offers, alone and after the equality filter that usually comes
  -- with them. Partial (listed rows only): every list query says state != 'not_affected'.
  CREATE INDEX account_index_error_checked ON account_index (last_error_code, last_checked_at, autoresponder_id) WHERE state != 'not_affected';
  CREATE INDEX account_index_version_id ON account_index (version, autoresponder_id) WHERE state != 'not_affected';
  CREATE INDEX account_index_provider_id ON account_index (provider, autoresponder_id) WHERE state != 'not_affected';
  -- "No activity for N days" is a range of activity_at; the equality filters ride along, so counting
  -- or collecting the range never reads the table.
  CREATE INDEX account_index_listed_activity ON account_index (activity_at, autoresponder_id, state, version, provider, last_error_code) WHERE state != 'not_affected';
  DROP INDEX account_index_activity;
  DROP INDEX account_index_error;

  -- Search over listed rows only, so a search's count needs no join. The tags column holds one
  -- three-letter token per state, version and provider: a search combined with those filters is
  -- answered (and counted) inside the index. Tags are never matched by a search (a search is limited to
  -- the search column).
  DROP TRIGGER account_search_insert;
  DROP TRIGGER account_search_delete;
  DROP TABLE account_search;
  CREATE VIRTUAL TABLE account_search USING fts5(search, tags, content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 1');
  CREATE VIEW account_search_source AS
    SELECT autoresponder_id, search,
           CASE state WHEN 'affected' THEN 'Saf' WHEN 'unknown' THEN 'Sun' WHEN 'in_progress_v3' THEN 'Si3'
                      WHEN 'in_progress_app_password' THEN 'Sia' WHEN 'switched_v3' THEN 'Ssw' WHEN 'relinked_app_password' THEN 'Sre'
                      WHEN 'needs_attention' THEN 'Sna' WHEN 'reviewed' THEN 'Srv' ELSE '' END
           || ' V0' || version || ' '
           || CASE provider WHEN 'gmail' THEN 'Pgm' WHEN 'workspace' THEN 'Pws' WHEN 'other' THEN 'Pot' WHEN 'unknown' THEN 'Pun' ELSE '' END AS tags
      FROM account_index WHERE state != 'not_affected';
  INSERT INTO account_search (rowid, search, tags) SELECT autoresponder_id, search, tags FROM account_search_source;
  -- As before, the insert trigger also covers the replace (no delete trigger fires for it).
  CREATE TRIGGER account_search_insert AFTER INSERT ON account_index BEGIN
    DELETE FROM account_search WHERE rowid = NEW.autoresponder_id;
    INSERT INTO account_search (rowid, search, tags) SELECT autoresponder_id, search, tags FROM account_search_source WHERE autoresponder_id = NEW.autoresponder_id;
  END;
  CREATE TRIGGER account_search_delete AFTER DELETE ON account_index BEGIN
    DELETE FROM account_search WHERE rowid = OLD.autoresponder_id;
  END;
  `,
  // 8: the migration funnel (affected → reminded → signed in → chose a way → done). Per seller, when the
  // first and last reminder that may have reached them went out and their first sign-in after it; per
  // account, the furthest step it reached and the week of its seller's first reminder (its cohort); and
  // counters per (cohort, step), so the overview reads a few rows instead of counting every account.
  // Triggers keep all three equal to the reminders, the sellers' sign-ins and account_index.
  `
  CREATE TABLE seller_funnel (
    seller_id         INTEGER PRIMARY KEY REFERENCES sellers (id) ON DELETE CASCADE,
    first_reminded_at TEXT NOT NULL,              -- the first reminder that may have reached the seller (sent or unknown)
    last_reminded_at  TEXT NOT NULL,
    signed_in_at      TEXT                        -- the first sign-in at or after the first reminder
  );
  CREATE INDEX seller_funnel_last_reminded ON seller_funnel (last_reminded_at);

  CREATE TABLE account_funnel (
    autoresponder_id INTEGER PRIMARY KEY REFERENCES autoresponders (id) ON DELETE CASCADE,
    seller_id        INTEGER NOT NULL,
    -- excluded: not affected or closed by support (reviewed); otherwise the furthest step reached
    step             TEXT NOT NULL CHECK (step IN ('excluded', 'affected', 'signed_in', 'chose', 'done')),
    cohort           TEXT                         -- Monday (Warsaw) of the week of the seller's first reminder; NULL: never reminded
  );
  CREATE INDEX account_funnel_step ON account_funnel (step, cohort, autoresponder_id);
  CREATE INDEX account_funnel_cohort ON account_funnel (cohort, step);
  CREATE INDEX account_funnel_seller ON account_funnel (seller_id);

  CREATE TABLE funnel_counts (
    cohort TEXT NOT NULL,                         -- '' for accounts whose seller was never reminded
    step   TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (cohort, step)
  ) WITHOUT ROWID;

  CREATE TRIGGER funnel_count_insert AFTER INSERT ON account_funnel BEGIN
    INSERT INTO funnel_counts (cohort, step, n) VALUES (COALESCE(NEW.cohort, ''), NEW.step, 1) ON CONFLICT (cohort, step) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER funnel_count_update AFTER UPDATE OF step, cohort ON account_funnel WHEN OLD.step IS NOT NEW.step OR OLD.cohort IS NOT NEW.cohort BEGIN
    UPDATE funnel_counts SET n = n - 1 WHERE cohort = COALESCE(OLD.cohort, '') AND step = OLD.step;
    INSERT INTO funnel_counts (cohort, step, n) VALUES (COALESCE(NEW.cohort, ''), NEW.step, 1) ON CONFLICT (cohort, step) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER funnel_count_delete AFTER DELETE ON account_funnel BEGIN
    UPDATE funnel_counts SET n = n - 1 WHERE cohort = COALESCE(OLD.cohort, '') AND step = OLD.step;
  END;

  -- What is there already: reminders that may have arrived, and the first sign-in after the first of them
  -- (from the audit log, or the seller's last sign-in when the log has none).
  INSERT INTO seller_funnel (seller_id, first_reminded_at, last_reminded_at, signed_in_at)
    WITH r AS (SELECT seller_id, min(created_at) AS first, max(created_at) AS last FROM reminders WHERE status IN ('sent', 'unknown') GROUP BY seller_id)
    SELECT r.seller_id, r.first, r.last,
           COALESCE((SELECT min(a.at) FROM audit_log a WHERE a.target_type = 'seller' AND a.target_id = CAST(r.seller_id AS TEXT) AND a.action = 'seller.signed_in' AND a.at >= r.first),
                    CASE WHEN s.last_seen_at >= r.first THEN s.last_seen_at END)
      FROM r JOIN sellers s ON s.id = r.seller_id;
  INSERT INTO account_funnel (autoresponder_id, seller_id, step, cohort)
    SELECT i.autoresponder_id, i.seller_id, ${FUNNEL_STEP}, warsaw_week(f.first_reminded_at)
      FROM account_index i JOIN sellers s ON s.id = i.seller_id LEFT JOIN seller_funnel f ON f.seller_id = i.seller_id;

  -- An account changed (every write of account_index is an insert): its step again.
  CREATE TRIGGER account_funnel_account AFTER INSERT ON account_index BEGIN
    INSERT INTO account_funnel (autoresponder_id, seller_id, step, cohort)
      SELECT i.autoresponder_id, i.seller_id, ${FUNNEL_STEP}, warsaw_week(f.first_reminded_at)
        FROM account_index i JOIN sellers s ON s.id = i.seller_id LEFT JOIN seller_funnel f ON f.seller_id = i.seller_id
       WHERE i.autoresponder_id = NEW.autoresponder_id
      ON CONFLICT (autoresponder_id) DO UPDATE SET seller_id = excluded.seller_id, step = excluded.step, cohort = excluded.cohort;
  END;
  -- A seller was reminded or signed in after a reminder: the steps of all their accounts again.
  CREATE TRIGGER account_funnel_seller_insert AFTER INSERT ON seller_funnel BEGIN
    INSERT INTO account_funnel (autoresponder_id, seller_id, step, cohort)
      SELECT i.autoresponder_id, i.seller_id, ${FUNNEL_STEP}, warsaw_week(f.first_reminded_at)
        FROM account_index i JOIN sellers s ON s.id = i.seller_id LEFT JOIN seller_funnel f ON f.seller_id = i.seller_id
       WHERE i.seller_id = NEW.seller_id
      ON CONFLICT (autoresponder_id) DO UPDATE SET seller_id = excluded.seller_id, step = excluded.step, cohort = excluded.cohort;
  END;
  CREATE TRIGGER account_funnel_seller_update AFTER UPDATE ON seller_funnel BEGIN
    INSERT INTO account_funnel (autoresponder_id, seller_id, step, cohort)
      SELECT i.autoresponder_id, i.seller_id, ${FUNNEL_STEP}, warsaw_week(f.first_reminded_at)
        FROM account_index i JOIN sellers s ON s.id = i.seller_id LEFT JOIN seller_funnel f ON f.seller_id = i.seller_id
       WHERE i.seller_id = NEW.seller_id
      ON CONFLICT (autoresponder_id) DO UPDATE SET seller_id = excluded.seller_id, step = excluded.step, cohort = excluded.cohort;
  END;
  -- A reminder that may have reached the seller (sent, or unknown whether it arrived).
  CREATE TRIGGER seller_funnel_reminder_insert AFTER INSERT ON reminders WHEN NEW.status IN ('sent', 'unknown') BEGIN
    INSERT INTO seller_funnel (seller_id, first_reminded_at, last_reminded_at) VALUES (NEW.seller_id, NEW.created_at, NEW.created_at)
      ON CONFLICT (seller_id) DO UPDATE SET first_reminded_at = min(first_reminded_at, excluded.first_reminded_at), last_reminded_at = max(last_reminded_at, excluded.last_reminded_at);
  END;
  CREATE TRIGGER seller_funnel_reminder_update AFTER UPDATE OF status ON reminders
    WHEN NEW.status IN ('sent', 'unknown') AND OLD.status NOT IN ('sent', 'unknown') BEGIN
    INSERT INTO seller_funnel (seller_id, first_reminded_at, last_reminded_at) VALUES (NEW.seller_id, NEW.created_at, NEW.created_at)
      ON CONFLICT (seller_id) DO UPDATE SET first_reminded_at = min(first_reminded_at, excluded.first_reminded_at), last_reminded_at = max(last_reminded_at, excluded.last_reminded_at);
  END;
  -- The seller signed in: the first sign-in after their first reminder is kept.
  CREATE TRIGGER seller_funnel_sign_in AFTER UPDATE OF last_seen_at ON sellers WHEN NEW.last_seen_at IS NOT NULL BEGIN
    UPDATE seller_funnel SET signed_in_at = NEW.last_seen_at
     WHERE seller_id = NEW.id AND signed_in_at IS NULL AND NEW.last_seen_at >= first_reminded_at;
  END;
  `,
  // 9: the watch over migrated autoresponders.
  `
  -- One row per watched autoresponder (migrated, or broken after its migration): when its next check
  -- is due (its slot in the interval, or a retry) and its run of failures that were not the seller's fault.
  CREATE TABLE watches (
    autoresponder_id INTEGER PRIMARY KEY REFERENCES autoresponders (id) ON DELETE CASCADE,
    status           TEXT NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'running')),
    due_at           TEXT NOT NULL,
    failures         INTEGER NOT NULL DEFAULT 0,   -- checks in a row that failed through no fault of the seller
    failing_since    TEXT,                         -- the first of them: an outage once it is a day old
    failing_code     TEXT,
    last_ok_at       TEXT,                         -- the last passing check
    checked_at       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK ((failing_since IS NULL) = (failures = 0))
  );
  CREATE INDEX watches_due ON watches (status, due_at);
  -- The watch's periodic sync reads only the migrations changed since the last one.
  CREATE INDEX migrations_updated ON migrations (updated_at);
  CREATE INDEX watches_failing ON watches (failing_since) WHERE failing_since IS NOT NULL;

  -- A problem the seller must fix, from the check that found it until one passes (or the seller fixes it).
  CREATE TABLE watch_incidents (
    id               INTEGER PRIMARY KEY,
    autoresponder_id INTEGER NOT NULL REFERENCES autoresponders (id) ON DELETE CASCADE,
    subject          TEXT NOT NULL,                -- what broke: mailbox:<id> or authorization:<id>
    reason           TEXT NOT NULL,                -- an attention reason (app_password_rejected, …)
    code             TEXT NOT NULL,                -- the check's code (MAIL_AUTH_FAILED, MIG_ERR_AUTHORIZE_AGAIN, …)
    worked_until     TEXT,                         -- the last passing check before it broke, or the migration
    found_at         TEXT NOT NULL,
    resolved_at      TEXT,
    resolution       TEXT CHECK (resolution IN ('check_passed', 'migrated_again', 'changed', 'not_watched')),
    CHECK ((resolved_at IS NULL) = (resolution IS NULL))
  );
  CREATE UNIQUE INDEX watch_incidents_open ON watch_incidents (autoresponder_id) WHERE resolved_at IS NULL;
  CREATE INDEX watch_incidents_autoresponder ON watch_incidents (autoresponder_id, id);
  CREATE INDEX watch_incidents_subject ON watch_incidents (subject, reason) WHERE resolved_at IS NULL;

  -- The one e-mail of an incident, written before it is sent. 'committing' is set just before the end
  -- of the message goes to the SMTP server: a row left in 'sending' after a crash was never accepted.
  CREATE TABLE watch_notices (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL UNIQUE REFERENCES watch_incidents (id) ON DELETE CASCADE,
    seller_id   INTEGER NOT NULL REFERENCES sellers (id) ON DELETE CASCADE,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'committing', 'sent', 'unknown', 'failed', 'cancelled')),
    not_before  TEXT NOT NULL,                     -- never at night: the next sending hour in Poland
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    updated_at  TEXT NOT NULL
  );
  CREATE INDEX watch_notices_due ON watch_notices (status, not_before);

  -- Connection checks made by the watch say so: the table is rebuilt with 'watch' among the triggers
  -- (a CHECK constraint cannot be altered in place). Nothing references it; its two indexes are remade.
  CREATE TABLE connection_checks_v9 (
    id               INTEGER PRIMARY KEY,
    mailbox_id       INTEGER REFERENCES mailboxes (id) ON DELETE CASCADE,
    autoresponder_id INTEGER REFERENCES autoresponders (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('mail', 'allegro')),
    trigger          TEXT NOT NULL CHECK (trigger IN ('seller', 'staff', 'bulk', 'watch')),
    ok               INTEGER NOT NULL CHECK (ok IN (0, 1)),
    code             TEXT,
    protocol         TEXT,
    detail           TEXT,                         -- the server's reply, for support; never a secret
    at               TEXT NOT NULL,
    authorization_id INTEGER REFERENCES allegro_authorizations (id) ON DELETE SET NULL
  );
  INSERT INTO connection_checks_v9 (id, mailbox_id, autoresponder_id, kind, trigger, ok, code, protocol, detail, at, authorization_id)
    SELECT id, mailbox_id, autoresponder_id, kind, trigger, ok, code, protocol, detail, at, authorization_id FROM connection_checks;
  DROP TABLE connection_checks;
  ALTER TABLE connection_checks_v9 RENAME TO connection_checks;
  CREATE INDEX connection_checks_mailbox ON connection_checks (mailbox_id, at);
  CREATE INDEX connection_checks_autoresponder ON connection_checks (autoresponder_id, at);
  `,

  // 10: connection checks are kept for a while, not for ever (the watch adds one per watched
  // autoresponder a day): an index on their time, and one on the time of the watch's passing checks
  // (kept for less time), so each delete of the tidy-up reads only what it deletes.
  `
  CREATE INDEX connection_checks_at ON connection_checks (at);
  CREATE INDEX connection_checks_watch_passed ON connection_checks (at) WHERE trigger = 'watch' AND ok = 1;
  `,

  // 11: a login with a seller's credential is written down BEFORE it connects (running = 1) and
  // finished with its outcome (checks/): the attempt budget counts it from the start, so two requests
  // at once cannot both pass the budget, and a login cut off by a crash still counts as made.
  `
  ALTER TABLE connection_checks ADD COLUMN running INTEGER NOT NULL DEFAULT 0 CHECK (running IN (0, 1));
  CREATE INDEX connection_checks_running ON connection_checks (running) WHERE running = 1;
  `,

  // 12: a bulk job made from a confirmation page carries that page's one-time key, unique: a second
  // POST of the same page (a double click, a resent form) finds the first job instead of making a
  // second one, even when both arrive at once. Older jobs have none (NULLs never collide).
  `
  ALTER TABLE jobs ADD COLUMN confirmation_key TEXT;
  CREATE UNIQUE INDEX jobs_confirmation_key ON jobs (confirmation_key);
  `,

  // 13: search finds what a seller says on the phone: the support number (the autoresponder's AR-…),
  // the seller's id, and any text typed without Polish letters. The search text now holds both ids and
  // is folded, then stripped of Polish letters (ą→a … ż→z); the query is folded the same way
  // (accounts/filter.ts, searchFold) and split into words, each matched on its own (any order).
  // Also: a bulk job may be a resend of uncertain reminders (jobs.resend), and the overview's "to do
  // today" figures read reminders that failed for good or are uncertain through small partial indexes.
  `
  DROP TRIGGER account_index_migration_insert;
  DROP TRIGGER account_index_migration_update;
  DROP TRIGGER account_index_autoresponder_update;
  DROP TRIGGER account_index_seller_update;
  DROP TRIGGER account_index_mailbox_update;
${ACCOUNT_INDEX_TRIGGERS.map(
    ([name, on, where]) => `  CREATE TRIGGER ${name} ${on} BEGIN
    INSERT OR REPLACE INTO account_index
        ${ACCOUNT_INDEX_ROWS}
         WHERE ${where};
  END;
`,
  ).join('')}  -- The rows are rewritten in place (an UPDATE: no trigger of account_index fires for search), then the
  -- search index is rebuilt from them.
  UPDATE account_index SET search = (
    SELECT ${SEARCH_TEXT}
      FROM autoresponders a JOIN sellers s ON s.id = a.seller_id LEFT JOIN mailboxes mb ON mb.id = a.mailbox_id
     WHERE a.id = account_index.autoresponder_id);
  INSERT INTO account_search (account_search) VALUES ('delete-all');
  INSERT INTO account_search (rowid, search, tags) SELECT autoresponder_id, search, tags FROM account_search_source;

  ALTER TABLE jobs ADD COLUMN resend INTEGER NOT NULL DEFAULT 0 CHECK (resend IN (0, 1));
  -- A retry of a job's failed items names that job: the first job then offers no second retry.
  ALTER TABLE jobs ADD COLUMN retry_of INTEGER REFERENCES jobs (id);
  CREATE INDEX jobs_retry_of ON jobs (retry_of) WHERE retry_of IS NOT NULL;
  CREATE INDEX job_items_failed_outcome ON job_items (outcome, autoresponder_id) WHERE status = 'failed';
  CREATE INDEX reminders_unknown ON reminders (seller_id) WHERE status = 'unknown';
  CREATE INDEX account_index_mail_host ON account_index (mail_host, autoresponder_id) WHERE state != 'not_affected';

  -- The chart's history from recorded events: autoresponders migrated or awaiting the seller now, per
  -- day their migration record was made (an import counts from its own day). Kept by triggers, so the
  -- overview reads at most 180 small rows whatever the number of autoresponders.
  CREATE TABLE covered_per_day (
    day TEXT PRIMARY KEY,
    n   INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO covered_per_day (day, n)
    SELECT substr(created_at, 1, 10), count(*) FROM migrations WHERE state IN ('switched_v3', 'relinked_app_password', 'affected', 'unknown', 'in_progress_v3', 'in_progress_app_password', 'needs_attention') GROUP BY 1;
  CREATE TRIGGER covered_per_day_insert AFTER INSERT ON migrations WHEN NEW.state IN ('switched_v3', 'relinked_app_password', 'affected', 'unknown', 'in_progress_v3', 'in_progress_app_password', 'needs_attention') BEGIN
    INSERT INTO covered_per_day (day, n) VALUES (substr(NEW.created_at, 1, 10), 1) ON CONFLICT DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER covered_per_day_update AFTER UPDATE OF state, created_at ON migrations BEGIN
    UPDATE covered_per_day SET n = n - 1 WHERE day = substr(OLD.created_at, 1, 10) AND OLD.state IN ('switched_v3', 'relinked_app_password', 'affected', 'unknown', 'in_progress_v3', 'in_progress_app_password', 'needs_attention');
    INSERT INTO covered_per_day (day, n) SELECT substr(NEW.created_at, 1, 10), 1 WHERE NEW.state IN ('switched_v3', 'relinked_app_password', 'affected', 'unknown', 'in_progress_v3', 'in_progress_app_password', 'needs_attention')
      ON CONFLICT DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER covered_per_day_delete AFTER DELETE ON migrations WHEN OLD.state IN ('switched_v3', 'relinked_app_password', 'affected', 'unknown', 'in_progress_v3', 'in_progress_app_password', 'needs_attention') BEGIN
    UPDATE covered_per_day SET n = n - 1 WHERE day = substr(OLD.created_at, 1, 10);
  END;
  `,

  // 14: (a) watch incidents are kept for a while after they are resolved, not for ever: an index on when
  // they were resolved, so the tidy-up reads only what it deletes. (b) An authorization's version, bumped by
  // every write of its tokens (a new consent or a refresh): a refresh stores its pair only if the version
  // is still the one it started from, so it never overwrites a consent saved while it was on its way.
  `
  CREATE INDEX watch_incidents_resolved ON watch_incidents (resolved_at) WHERE resolved_at IS NOT NULL;
  ALTER TABLE allegro_authorizations ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
  `,

  // 15: the import writes the derived tables (account_index, the search index, account_counts,
  // account_funnel, funnel_counts) once per batch instead of once per row, inside its own write
  // transaction only. See db/derived.ts.
  `
  -- One row while the import's write transaction defers the derived tables to its end: set and cleared in
  -- that transaction, so no other connection ever sees it (SQLite has one writer at a time) and every
  -- other writer goes through the triggers as before.
  CREATE TABLE derived_deferred (id INTEGER PRIMARY KEY CHECK (id = 1));
  -- The accounts whose derived rows are to be rewritten before that transaction ends (empty otherwise).
  CREATE TABLE derived_pending (autoresponder_id INTEGER PRIMARY KEY);

${DEFERRED_TRIGGERS}
  `,
];
