-- 004_portal: what the subscriber portal and the API keep — browser
-- sessions, personal API tokens, password-reset links, and the outbox of
-- account emails (sent by the worker's "email" job).
--
-- Every token is 256 bits from the OS CSPRNG and only its SHA-256 is
-- stored, so a copy of the database opens no session.

CREATE TABLE sessions (
	id		bigserial PRIMARY KEY,
	token_hash	bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	user_id		bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf_secret	text NOT NULL CHECK (length(csrf_secret) >= 32),
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_seen_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,		-- the absolute limit
	ip		text NOT NULL DEFAULT '',
	user_agent	text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512),
	CHECK (expires_at > created_at)
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
	id		bigserial PRIMARY KEY,
	user_id		bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	token_hash	bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	prefix		text NOT NULL,			-- the first characters, to recognise it
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_used_at	timestamptz,
	revoked_at	timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

CREATE TABLE password_resets (
	id		bigserial PRIMARY KEY,
	user_id		bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_hash	bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	CHECK (expires_at > created_at)
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- Account emails (password reset, ...). Queued here with an "email" job in
-- the same transaction; the worker sends it through the email channel, or,
-- with no provider configured, marks it sent by provider 'outbox' and the
-- rendered message stays here to be read.
CREATE TABLE email_outbox (
	id		bigserial PRIMARY KEY,
	user_id		bigint REFERENCES users (id) ON DELETE SET NULL,
	kind		text NOT NULL CHECK (kind ~ '^[a-z_]{1,40}$'),
	to_addr		text NOT NULL CHECK (length(to_addr) BETWEEN 3 AND 254),
	subject		text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
	body		text NOT NULL,
	status		text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','sent','failed')),
	provider	text,
	error		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	sent_at		timestamptz
);
CREATE INDEX email_outbox_user ON email_outbox (user_id, id);

-- The portal's notification history and the API's pages read a user's
-- deliveries newest first.
CREATE INDEX deliveries_user_id ON deliveries (user_id, id DESC);
