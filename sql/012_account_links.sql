-- 012_account_links: the emailed links that confirm an address, and what
-- ends every emailed link of an account.
--
-- A sign-up is an address to confirm: the account is made only when the
-- link mailed there is opened, so the sign-up form answers the same for a
-- free and a taken address (the owner of a taken one gets a notice
-- instead). A change of email is confirmed the same way from the new
-- address. Only the SHA-256 of a link's token is stored.

CREATE TABLE email_confirmations (
	id		bigserial PRIMARY KEY,
	kind		text NOT NULL CHECK (kind IN ('signup','email_change')),
	token_hash	bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	-- email_change: whose address changes; signup: none yet
	user_id		bigint REFERENCES users (id) ON DELETE CASCADE,
	email		text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
	-- signup: the account to make (the Argon2id hash, never the password)
	password_hash	text CHECK (length(password_hash) BETWEEN 1 AND 512),
	display_name	text NOT NULL DEFAULT '' CHECK (length(display_name) <= 200),
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	CHECK (expires_at > created_at),
	CHECK ((kind = 'signup') = (user_id IS NULL)),
	CHECK ((kind = 'signup') = (password_hash IS NOT NULL))
);
CREATE INDEX email_confirmations_user ON email_confirmations (user_id)
    WHERE user_id IS NOT NULL;
CREATE INDEX email_confirmations_expires ON email_confirmations (expires_at);

-- The caps count an account's recent reset links and an address's recent
-- confirmation mails.
CREATE INDEX password_resets_user_created ON password_resets (user_id, created_at);
CREATE INDEX email_outbox_to ON email_outbox (lower(to_addr), created_at);

-- A new password (set by a reset link, from the account page, by an
-- operator) or a new email address ends every outstanding reset link and
-- email-change link of the account, whichever path made the change: a
-- link mailed before the change, or to the old address, opens nothing.
-- Used links stay as the record of their use.
CREATE FUNCTION ac_users_links_end() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM password_resets WHERE user_id = NEW.id AND used_at IS NULL;
	DELETE FROM email_confirmations WHERE user_id = NEW.id AND used_at IS NULL;
	RETURN NULL;
END $$;
CREATE TRIGGER users_links_end AFTER UPDATE OF password_hash, email ON users
    FOR EACH ROW WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash OR
    lower(OLD.email) IS DISTINCT FROM lower(NEW.email))
    EXECUTE FUNCTION ac_users_links_end();

-- Failed logins lock an account for one address only (Redis, lib/auth.c),
-- so anyone can no longer lock its owner out: the account-wide lock goes.
ALTER TABLE users DROP COLUMN locked_until;
