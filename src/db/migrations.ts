/**
 * Ordered schema migrations. Migration N brings the schema from user_version N-1 to N; each runs in
 * its own transaction together with the user_version bump, so a failed upgrade leaves the previous
 * version intact. Never edit a released migration: add a new one.
 */
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
];
