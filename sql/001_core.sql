-- 001_core: strategies, the signals they receive, what was refused, and the
-- pending-jobs table. The migrations bookkeeping table is created by
-- `acctl migrate` itself.

CREATE TABLE strategies (
	id			bigserial PRIMARY KEY,
	name			text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	description		text NOT NULL DEFAULT '',
	symbol			text NOT NULL CHECK (symbol ~ '^[A-Z0-9._!-]{1,31}$'),
	timeframe		text NOT NULL CHECK (timeframe IN
				    ('1m','5m','15m','30m','1h','2h','4h','6h','12h','1d','1w')),
	strategy		text NOT NULL CHECK (length(strategy) BETWEEN 1 AND 127),
	-- UT Bot parameters
	key_value		numeric(8,3) NOT NULL DEFAULT 1 CHECK (key_value > 0),
	atr_period		integer NOT NULL DEFAULT 10 CHECK (atr_period BETWEEN 1 AND 500),
	ema_period		integer NOT NULL DEFAULT 1 CHECK (ema_period BETWEEN 1 AND 500),
	heikin_ashi		boolean NOT NULL DEFAULT false,
	pine_script		text,
	-- the webhook secret: shown to operators, looked up by its hash
	webhook_token		text NOT NULL UNIQUE,
	webhook_token_hash	bytea NOT NULL UNIQUE,
	-- trade management
	max_open_trades		integer NOT NULL DEFAULT 3 CHECK (max_open_trades BETWEEN 1 AND 5),
	allow_opposite_signals	boolean NOT NULL DEFAULT true,
	replace_on_same_signal	boolean NOT NULL DEFAULT true,
	auto_close_on_tp_sl	boolean NOT NULL DEFAULT true,
	-- which actions are accepted, which payload fields are required
	enabled_actions		text[] NOT NULL DEFAULT '{BUY,SELL,TP_HIT,SL_HIT}'
				    CHECK (enabled_actions <@ '{BUY,SELL,TP_HIT,SL_HIT}'),
	required_fields		text[] NOT NULL DEFAULT '{symbol,timeframe,action,price,time}'
				    CHECK (required_fields <@
				    '{symbol,timeframe,strategy,action,price,take_profit,stop_loss,time}'),
	price_tolerance		numeric(6,4) NOT NULL DEFAULT 0.05 CHECK (price_tolerance >= 0),
	credit_cost		integer NOT NULL DEFAULT 1 CHECK (credit_cost >= 0),
	status			text NOT NULL DEFAULT 'active'
				    CHECK (status IN ('active','inactive','testing')),
	-- statistics
	total_alerts		bigint NOT NULL DEFAULT 0,
	total_trades		bigint NOT NULL DEFAULT 0,
	success_rate		numeric(6,3) NOT NULL DEFAULT 0,
	last_alert_at		timestamptz,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	UNIQUE (symbol, timeframe, strategy)
);
CREATE INDEX strategies_status ON strategies (status);

CREATE TABLE signals (
	id			bigserial PRIMARY KEY,
	strategy_id		bigint NOT NULL REFERENCES strategies (id),
	idempotency_key		text NOT NULL UNIQUE,
	raw_body		text NOT NULL,
	content_type		text NOT NULL DEFAULT '',
	remote_addr		text NOT NULL DEFAULT '',
	request_id		text NOT NULL DEFAULT '',
	received_at		timestamptz NOT NULL,
	stored_at		timestamptz NOT NULL DEFAULT now(),
	processed_at		timestamptz,
	spooled			boolean NOT NULL DEFAULT false,
	symbol			text NOT NULL,
	timeframe		text NOT NULL,
	action			text NOT NULL CHECK (action IN ('BUY','SELL','TP_HIT','SL_HIT')),
	price			numeric NOT NULL CHECK (price > 0),
	take_profit		numeric CHECK (take_profit > 0),
	stop_loss		numeric CHECK (stop_loss > 0),
	alert_time		timestamptz,
	status			text NOT NULL DEFAULT 'received'
				    CHECK (status IN ('received','processed','failed','rejected')),
	matched_users		integer NOT NULL DEFAULT 0,
	delivered_count		integer NOT NULL DEFAULT 0,
	failed_count		integer NOT NULL DEFAULT 0,
	processing_ms		integer
);
-- Every alert writes a signal and a job: each index here is paid on the
-- ingest path, so only what a query needs. Recent signals are read by id.
CREATE INDEX signals_strategy ON signals (strategy_id, id DESC);

CREATE TABLE webhook_rejects (
	id			bigserial PRIMARY KEY,
	received_at		timestamptz NOT NULL DEFAULT now(),
	http_status		integer NOT NULL,
	code			text NOT NULL,
	field			text,
	message			text NOT NULL,
	strategy_id		bigint REFERENCES strategies (id),
	remote_addr		text NOT NULL DEFAULT '',
	request_id		text NOT NULL DEFAULT '',
	content_type		text NOT NULL DEFAULT '',
	body_excerpt		text NOT NULL DEFAULT '',	-- first 4 KiB, invalid UTF-8 replaced
	body_bytes		integer NOT NULL DEFAULT 0,
	security_event		boolean NOT NULL DEFAULT false,	-- a bad token
	reviewed_at		timestamptz
);
CREATE INDEX webhook_rejects_received ON webhook_rejects (received_at DESC);
CREATE INDEX webhook_rejects_unreviewed ON webhook_rejects (received_at) WHERE reviewed_at IS NULL;

CREATE TABLE jobs (
	id			bigserial PRIMARY KEY,
	kind			text NOT NULL CHECK (kind ~ '^[a-z_]{1,40}$'),
	payload			jsonb NOT NULL DEFAULT '{}',
	state			text NOT NULL DEFAULT 'pending'
				    CHECK (state IN ('pending','running','done','failed','dead')),
	priority		smallint NOT NULL DEFAULT 0,
	run_at			timestamptz NOT NULL DEFAULT now(),
	attempts		integer NOT NULL DEFAULT 0,
	max_attempts		integer NOT NULL DEFAULT 20 CHECK (max_attempts >= 1),
	locked_by		text,
	locked_until		timestamptz,
	last_error		text,
	unique_key		text UNIQUE,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	finished_at		timestamptz
);
-- what a worker claims: due pending jobs, best priority first
CREATE INDEX jobs_due ON jobs (priority DESC, run_at, id) WHERE state = 'pending';
-- what the rescuer looks at: running jobs whose lease may have expired
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE state = 'running';
