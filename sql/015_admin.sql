-- 015_admin: the operators' side — admin accounts apart from subscribers,
-- their sessions, the audit log of every change they make, test users and
-- test signals, and the review queue's decisions.

-- ---- admin accounts -----------------------------------------------------------

-- The permission flags of the schema seed, one name each: a route of
-- ac-admin names the one it needs (cgi/admin.h).
CREATE TABLE admin_users (
	id			bigserial PRIMARY KEY,
	username		text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{1,63}$'),
	email			text NOT NULL CHECK (length(email) <= 254 AND
				    email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
	password_hash		text NOT NULL CHECK (length(password_hash) BETWEEN 1 AND 512),
	name			text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
	phone			text CHECK (phone ~ '^\+?[0-9]{6,20}$'),
	status			text NOT NULL DEFAULT 'active'
				    CHECK (status IN ('active','inactive','suspended')),
	permissions		text[] NOT NULL
				    DEFAULT '{users.view,users.edit,subscriptions.view,subscriptions.approve,alerts.view}'
				    CHECK (permissions <@ '{users.view,users.edit,users.delete,'
				    'subscriptions.view,subscriptions.approve,subscriptions.edit,'
				    'alerts.view,alerts.configure,system.settings,system.logs}'),
	failed_logins		integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
	locked_until		timestamptz,
	-- this login, and the one before it (shown: "last login ... from ...")
	last_login_at		timestamptz,
	last_login_ip		text,
	previous_login_at	timestamptz,
	previous_login_ip	text,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX admin_users_email ON admin_users (lower(email));

-- Like sessions (004): only the token's SHA-256 is kept.
CREATE TABLE admin_sessions (
	id		bigserial PRIMARY KEY,
	token_hash	bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	admin_id	bigint NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
	csrf_secret	text NOT NULL CHECK (length(csrf_secret) >= 32),
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_seen_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	ip		text NOT NULL DEFAULT '',
	user_agent	text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512),
	CHECK (expires_at > created_at)
);
CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

-- A new password (a rehash at login too), or an account no longer active,
-- ends the account's sessions. Permissions need no trigger: they are read
-- with the session at every request, so a flag taken away counts at once.
CREATE FUNCTION ac_admin_sessions_end() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.password_hash IS DISTINCT FROM OLD.password_hash
	    OR NEW.status <> 'active' AND OLD.status = 'active' THEN
		DELETE FROM admin_sessions WHERE admin_id = NEW.id;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER admin_users_sessions_end AFTER UPDATE ON admin_users
    FOR EACH ROW EXECUTE FUNCTION ac_admin_sessions_end();

-- ---- the audit log ------------------------------------------------------------

-- Every change an operator makes, append-only. actor keeps the username
-- when the account is gone.
CREATE TABLE audit_log (
	id		bigserial PRIMARY KEY,
	at		timestamptz NOT NULL DEFAULT now(),
	admin_id	bigint REFERENCES admin_users (id) ON DELETE SET NULL,
	actor		text NOT NULL CHECK (length(actor) BETWEEN 1 AND 64),
	action		text NOT NULL CHECK (action ~ '^[a-z_]{1,32}\.[a-z_]{1,32}$'),
	target		text NOT NULL DEFAULT '' CHECK (length(target) <= 200),
	details		jsonb NOT NULL DEFAULT '{}',
	ip		text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_action ON audit_log (action, at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC);
CREATE INDEX audit_log_target ON audit_log (target, at DESC);

CREATE FUNCTION ac_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION ac_audit_log_append_only();

-- ---- test users and test signals ----------------------------------------------

-- A strategy in "testing" reaches only test users; a test signal (the
-- admin panel's button) reaches only the one test user it names, at no
-- credit cost.
ALTER TABLE users ADD COLUMN is_test boolean NOT NULL DEFAULT false;
-- when an operator erased the user's personal data (the account stays
-- closed for good; its ledger, deliveries and trades stay under no name)
ALTER TABLE users ADD COLUMN erased_at timestamptz;
CREATE INDEX users_test ON users (id) WHERE is_test;
ALTER TABLE signals ADD COLUMN test_user_id bigint REFERENCES users (id);

-- ---- the review queue's decisions -------------------------------------------------

ALTER TABLE webhook_rejects
	ADD COLUMN review	text CHECK (review IN ('accepted', 'dismissed')),
	ADD COLUMN reviewed_by	text,
	-- the signal an accepted refusal became
	ADD COLUMN signal_id	bigint REFERENCES signals (id),
	ADD CONSTRAINT webhook_rejects_review CHECK ((review IS NULL) = (reviewed_at IS NULL));

-- strategies' status ('testing' included) is read by ingest; plans are
-- archived, never deleted (subscriptions point at them).
