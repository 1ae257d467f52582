-- 011_access: access that ends when its right ends.
--
-- Signals are paid for by the period: a user sees a signal only if one of
-- their subscriptions covered its strategy when the signal arrived. An
-- alarm outlives its subscription, so it proves nothing. A subscription
-- covers its plan's strategies over [period_start, period_end) while it is
-- active or past due, and keeps covering that period once expired; a
-- pending one never covered, and a cancelled one does not record when it
-- stopped, so it shows nothing. The API (cgi/api.c) and the portal
-- (cgi/portal.c) ask this one function wherever a signal or its price is
-- shown.
CREATE FUNCTION ac_signal_visible(p_user bigint, p_strategy bigint, p_at timestamptz)
    RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT EXISTS (SELECT 1 FROM subscriptions s
	    JOIN plan_strategies ps ON ps.plan_id = s.plan_id AND ps.strategy_id = p_strategy
	    WHERE s.user_id = p_user AND s.status IN ('active', 'past_due', 'expired')
	    AND s.period_start <= p_at AND s.period_end > p_at)
$$;
CREATE INDEX subscriptions_user_period ON subscriptions (user_id, period_start);

-- A bearer token (JWT) carries the credential version it was issued
-- under ("cv"); changing the password hash, the email or the status moves
-- it, whoever makes the change (portal, reset link, admin, SQL), and
-- ac-api refuses a token whose version is not the user's current one. (A
-- password re-hashed at login under new parameters moves it too: the
-- user's other access tokens end early, within their 15 minutes anyway.)
ALTER TABLE users ADD COLUMN credential_version integer NOT NULL DEFAULT 1
    CHECK (credential_version > 0);

CREATE FUNCTION ac_users_credential_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.credential_version := OLD.credential_version + 1;
	RETURN NEW;
END $$;
CREATE TRIGGER users_credential_version BEFORE UPDATE OF password_hash, email, status ON users
    FOR EACH ROW WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash
	OR lower(OLD.email) IS DISTINCT FROM lower(NEW.email)
	OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION ac_users_credential_version();
