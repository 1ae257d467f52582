-- 002_accounts: subscribers and what they pay for and receive — users,
-- plans and the strategies they cover, subscriptions, alarms, the credit
-- ledger, deliveries and virtual trades.
--
-- Credits hold structurally: credit_ledger is append-only; inserting rows
-- moves users.credit_balance in the same statement (a trigger); the balance
-- cannot go negative (CHECK) and cannot be changed any other way (trigger).
-- So balance = sum(ledger) >= 0 for every user, whatever the caller does.

-- ---- users ---------------------------------------------------------------

CREATE TABLE users (
	id			bigserial PRIMARY KEY,
	email			text NOT NULL CHECK (length(email) <= 254 AND
				    email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
	password_hash		text NOT NULL CHECK (length(password_hash) BETWEEN 1 AND 512),
	display_name		text NOT NULL DEFAULT '' CHECK (length(display_name) <= 200),
	phone			text CHECK (phone ~ '^\+?[0-9]{6,20}$'),
	timezone		text NOT NULL DEFAULT 'UTC',
	status			text NOT NULL DEFAULT 'active'
				    CHECK (status IN ('active','inactive','suspended')),
	telegram_chat_id	text CHECK (telegram_chat_id ~ '^-?[0-9]{1,20}$'),
	telegram_username	text CHECK (telegram_username ~ '^[A-Za-z0-9_]{1,64}$'),
	push_player_id		text CHECK (length(push_player_id) BETWEEN 1 AND 128),
	-- notification preferences: a channel switched off here is never used
	notify_email		boolean NOT NULL DEFAULT true,
	notify_telegram		boolean NOT NULL DEFAULT true,
	notify_sms		boolean NOT NULL DEFAULT true,
	notify_push		boolean NOT NULL DEFAULT true,
	renewal_reminders	boolean NOT NULL DEFAULT true,
	risk_level		text NOT NULL DEFAULT 'medium'
				    CHECK (risk_level IN ('low','medium','high')),
	max_daily_alerts	integer NOT NULL DEFAULT 50 CHECK (max_daily_alerts >= 0),
	-- moved only by credit_ledger inserts (see below)
	credit_balance		bigint NOT NULL DEFAULT 0 CHECK (credit_balance >= 0),
	failed_logins		integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
	locked_until		timestamptz,
	last_login_at		timestamptz,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 80);	-- room for HOT updates: balances change with every signal
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE UNIQUE INDEX users_telegram_chat ON users (telegram_chat_id)
    WHERE telegram_chat_id IS NOT NULL;
CREATE UNIQUE INDEX users_telegram_username ON users (lower(telegram_username))
    WHERE telegram_username IS NOT NULL;
CREATE INDEX users_status ON users (status);

-- A time zone PostgreSQL knows (an unknown one raises 22023 "time zone
-- ... not recognized"); checked when set, not in a CHECK, which would run
-- on every balance update.
CREATE FUNCTION ac_users_timezone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM now() AT TIME ZONE NEW.timezone;
	RETURN NEW;
END $$;
CREATE TRIGGER users_timezone BEFORE INSERT OR UPDATE OF timezone ON users
    FOR EACH ROW WHEN (NEW.timezone <> 'UTC') EXECUTE FUNCTION ac_users_timezone();

-- ---- plans -----------------------------------------------------------------

CREATE TABLE plans (
	id			bigserial PRIMARY KEY,
	name			text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
	description		text NOT NULL DEFAULT '',
	price_minor		bigint NOT NULL CHECK (price_minor >= 0),
	currency		text NOT NULL DEFAULT 'INR' CHECK (currency ~ '^[A-Z]{3}$'),
	duration_months		integer NOT NULL DEFAULT 1 CHECK (duration_months BETWEEN 0 AND 120),
	duration_days		integer NOT NULL DEFAULT 0 CHECK (duration_days BETWEEN 0 AND 3660),
	credits_per_period	integer NOT NULL DEFAULT 0 CHECK (credits_per_period >= 0),
	credit_cost		integer CHECK (credit_cost >= 0),	-- per signal; NULL: the strategy's
	max_strategies		integer NOT NULL DEFAULT -1 CHECK (max_strategies >= -1),
	max_open_trades		integer NOT NULL DEFAULT 3 CHECK (max_open_trades BETWEEN 1 AND 5),
	priority_support	boolean NOT NULL DEFAULT false,
	advanced_analytics	boolean NOT NULL DEFAULT false,
	stripe_price_id		text,
	status			text NOT NULL DEFAULT 'active'
				    CHECK (status IN ('active','inactive','archived')),
	display_order		integer NOT NULL DEFAULT 0,
	popular			boolean NOT NULL DEFAULT false,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	CHECK (duration_months > 0 OR duration_days > 0)
);
CREATE INDEX plans_status_order ON plans (status, display_order);

CREATE TABLE plan_strategies (
	plan_id			bigint NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
	strategy_id		bigint NOT NULL REFERENCES strategies (id),
	PRIMARY KEY (plan_id, strategy_id)
);
CREATE INDEX plan_strategies_strategy ON plan_strategies (strategy_id, plan_id);

-- ---- subscriptions ---------------------------------------------------------

CREATE TABLE subscriptions (
	id			bigserial PRIMARY KEY,
	user_id			bigint NOT NULL REFERENCES users (id),
	plan_id			bigint NOT NULL REFERENCES plans (id),
	status			text NOT NULL DEFAULT 'pending'
				    CHECK (status IN ('pending','active','past_due','expired','cancelled')),
	period_start		timestamptz NOT NULL,
	period_end		timestamptz NOT NULL,
	auto_renew		boolean NOT NULL DEFAULT false,
	renewal_reminder_sent	boolean NOT NULL DEFAULT false,
	provider		text NOT NULL DEFAULT 'manual' CHECK (provider IN ('stripe','manual')),
	stripe_customer_id	text,
	stripe_subscription_id	text UNIQUE,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	CHECK (period_end > period_start)
) WITH (fillfactor = 80);	-- usage counters change with every signal
CREATE INDEX subscriptions_user_active ON subscriptions (user_id, period_end)
    WHERE status = 'active';
CREATE INDEX subscriptions_period_end ON subscriptions (period_end) WHERE status = 'active';

-- At most 5 active subscriptions a user. The user's row is locked first, so
-- two concurrent activations for one user cannot both see 4.
CREATE FUNCTION ac_subscriptions_limit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM users WHERE id = NEW.user_id FOR NO KEY UPDATE;
	IF (SELECT count(*) FROM subscriptions
	    WHERE user_id = NEW.user_id AND status = 'active' AND id <> NEW.id) >= 5 THEN
		RAISE EXCEPTION 'user % already has 5 active subscriptions', NEW.user_id
		    USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER subscriptions_limit BEFORE INSERT OR UPDATE OF status, user_id ON subscriptions
    FOR EACH ROW WHEN (NEW.status = 'active') EXECUTE FUNCTION ac_subscriptions_limit();

-- ---- alarms (a user's preferences for one strategy) --------------------------

CREATE TABLE alarms (
	id			bigserial PRIMARY KEY,
	user_id			bigint NOT NULL REFERENCES users (id),
	strategy_id		bigint NOT NULL REFERENCES strategies (id),
	subscription_id		bigint REFERENCES subscriptions (id),	-- the one that allowed it
	enabled			boolean NOT NULL DEFAULT true,
	on_entry		boolean NOT NULL DEFAULT true,
	on_exit			boolean NOT NULL DEFAULT true,
	on_replacement		boolean NOT NULL DEFAULT true,
	channels		text[] NOT NULL DEFAULT '{telegram}'
				    CHECK (cardinality(channels) >= 1 AND
				    channels <@ '{email,telegram,sms,push}'),
	min_price		numeric CHECK (min_price > 0),
	max_price		numeric CHECK (max_price > 0),
	alerts_received		bigint NOT NULL DEFAULT 0,
	trades_opened		bigint NOT NULL DEFAULT 0,
	last_alert_at		timestamptz,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	UNIQUE (user_id, strategy_id),
	CHECK (min_price IS NULL OR max_price IS NULL OR min_price <= max_price)
) WITH (fillfactor = 80);	-- statistics change with every signal
-- the fan-out's starting point
CREATE INDEX alarms_strategy_enabled ON alarms (strategy_id, user_id) WHERE enabled;

-- ---- the credit ledger -----------------------------------------------------

CREATE TABLE credit_ledger (
	id			bigserial PRIMARY KEY,
	user_id			bigint NOT NULL REFERENCES users (id),
	amount			bigint NOT NULL CHECK (amount <> 0),
	kind			text NOT NULL CHECK (kind IN
				    ('purchase','grant','usage','refund','adjustment')),
	reference		text NOT NULL DEFAULT '',
	idempotency_key		text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
	created_at		timestamptz NOT NULL DEFAULT now(),
	CHECK (CASE kind WHEN 'usage' THEN amount < 0
	    WHEN 'adjustment' THEN true ELSE amount > 0 END)
);
CREATE INDEX credit_ledger_user ON credit_ledger (user_id, id);

-- Inserted rows move the balances, once per statement (an AFTER trigger
-- sees only rows really inserted, so ON CONFLICT DO NOTHING moves nothing).
-- A balance that would go negative fails users' CHECK and the statement.
CREATE FUNCTION ac_ledger_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE users u SET credit_balance = u.credit_balance + d.total, updated_at = now()
	    FROM (SELECT user_id, sum(amount) AS total FROM ledger_new GROUP BY user_id) d
	    WHERE u.id = d.user_id;
	RETURN NULL;
END $$;
CREATE TRIGGER credit_ledger_apply AFTER INSERT ON credit_ledger
    REFERENCING NEW TABLE AS ledger_new
    FOR EACH STATEMENT EXECUTE FUNCTION ac_ledger_apply();

CREATE FUNCTION ac_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'credit_ledger is append-only: % refused', TG_OP
	    USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER credit_ledger_append_only BEFORE UPDATE OR DELETE ON credit_ledger
    FOR EACH ROW EXECUTE FUNCTION ac_ledger_append_only();
CREATE TRIGGER credit_ledger_no_truncate BEFORE TRUNCATE ON credit_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ac_ledger_append_only();

-- users.credit_balance starts at 0 and changes only from ac_ledger_apply,
-- the only trigger that updates users: an update outside any trigger
-- (depth 0 when the WHEN clause is evaluated) is refused. The test is in
-- the WHEN clause, so the ledger's updates call no function per row.
CREATE FUNCTION ac_users_balance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'credit_balance changes only through credit_ledger'
	    USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER users_balance_insert BEFORE INSERT ON users
    FOR EACH ROW WHEN (NEW.credit_balance <> 0) EXECUTE FUNCTION ac_users_balance_guard();
CREATE TRIGGER users_balance_update BEFORE UPDATE OF credit_balance ON users
    FOR EACH ROW WHEN (NEW.credit_balance IS DISTINCT FROM OLD.credit_balance
    AND pg_trigger_depth() < 1)
    EXECUTE FUNCTION ac_users_balance_guard();

-- ---- virtual trades ----------------------------------------------------------

CREATE TABLE trades (
	id			bigserial PRIMARY KEY,
	trade_number		integer NOT NULL CHECK (trade_number >= 1),	-- per user and strategy
	user_id			bigint NOT NULL REFERENCES users (id),
	strategy_id		bigint NOT NULL REFERENCES strategies (id),
	subscription_id		bigint REFERENCES subscriptions (id),
	symbol			text NOT NULL,
	timeframe		text NOT NULL,
	side			text NOT NULL CHECK (side IN ('BUY','SELL')),
	entry_price		numeric NOT NULL CHECK (entry_price > 0),
	take_profit		numeric CHECK (take_profit > 0),
	stop_loss		numeric CHECK (stop_loss > 0),
	exit_price		numeric CHECK (exit_price > 0),
	exit_reason		text CHECK (exit_reason IN ('TP_HIT','SL_HIT','REPLACED','OPPOSITE','MANUAL')),
	status			text NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed','replaced')),
	pnl_amount		numeric,
	pnl_percent		numeric,
	opened_at		timestamptz NOT NULL DEFAULT now(),
	closed_at		timestamptz,
	replaced_at		timestamptz,
	entry_signal_id		bigint REFERENCES signals (id),
	exit_signal_id		bigint REFERENCES signals (id),
	replaced_by		bigint REFERENCES trades (id),
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	UNIQUE (user_id, strategy_id, trade_number),
	-- a signal opens at most one trade a user: a re-run opens nothing
	UNIQUE (entry_signal_id, user_id),
	CHECK (side = 'BUY' AND (take_profit IS NULL OR take_profit > entry_price)
	    AND (stop_loss IS NULL OR stop_loss < entry_price)
	    OR side = 'SELL' AND (take_profit IS NULL OR take_profit < entry_price)
	    AND (stop_loss IS NULL OR stop_loss > entry_price)),
	CHECK (CASE status
	    WHEN 'open' THEN exit_reason IS NULL AND exit_price IS NULL
	    WHEN 'replaced' THEN exit_reason = 'REPLACED' AND replaced_at IS NOT NULL
	    ELSE exit_reason IS NOT NULL AND exit_reason <> 'REPLACED' AND closed_at IS NOT NULL END)
);
-- the fan-out reads a user's open trades on a strategy, oldest first
CREATE INDEX trades_open ON trades (strategy_id, user_id, opened_at, id) WHERE status = 'open';
CREATE INDEX trades_user_opened ON trades (user_id, opened_at DESC);
CREATE INDEX trades_exit_signal ON trades (exit_signal_id, user_id) WHERE exit_signal_id IS NOT NULL;

-- ---- deliveries --------------------------------------------------------------

CREATE TABLE deliveries (
	id			bigserial PRIMARY KEY,
	signal_id		bigint NOT NULL REFERENCES signals (id),
	user_id			bigint NOT NULL REFERENCES users (id),
	alarm_id		bigint REFERENCES alarms (id) ON DELETE SET NULL,
	channel			text NOT NULL CHECK (channel IN ('email','telegram','sms','push')),
	kind			text NOT NULL CHECK (kind IN ('entry','exit','replacement')),
	provider		text,
	status			text NOT NULL DEFAULT 'queued'
				    CHECK (status IN ('queued','sent','failed','skipped')),
	skip_reason		text CHECK (skip_reason IN
				    ('no_credits','daily_cap','preference','no_address')),
	attempts		integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	provider_message_id	text,
	error			text,
	message			text,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	sent_at			timestamptz,
	UNIQUE (signal_id, user_id, channel),
	CHECK ((status = 'skipped') = (skip_reason IS NOT NULL))
);
-- the daily cap: a user's deliveries of the last day
CREATE INDEX deliveries_user_created ON deliveries (user_id, created_at);
CREATE INDEX deliveries_queued ON deliveries (created_at) WHERE status = 'queued';
