-- 014_billing: money in — Stripe subscriptions and manual (UPI, bank
-- transfer) payments — and the subscription lifecycle.
--
-- Stripe's events arrive at least once and in any order. Each is stored
-- once under its id (stripe_events) by ac-hook and processed by the
-- worker. What Stripe says about a subscription is kept as it says it
-- (stripe_subscriptions, stripe_invoices: the latest event by Stripe's
-- "created" wins a status, an invoice once paid stays paid) and folded
-- into the subscription the user sees once the checkout has told us whose
-- it is, in whichever order the two arrived. Credits are granted once per
-- paid invoice under the ledger key invoice:<id>.
--
-- A manual payment is a pending subscription with a payment beside it;
-- only an operator's approval makes it active and grants its credits
-- (ledger key payment:<id>).

-- ---- subscriptions: what the lifecycle needs --------------------------------

ALTER TABLE subscriptions
	-- when Stripe first reported a failed renewal; the grace runs from here
	ADD COLUMN past_due_since	timestamptz,
	-- when a cancelled subscription stopped (its period is clipped to it)
	ADD COLUMN ended_at		timestamptz,
	-- why it is no longer active, for the dashboard
	ADD COLUMN end_reason		text CHECK (end_reason IN
	    ('period_end', 'payment_failed', 'cancelled', 'rejected', 'replaced')),
	-- the period end a renewal reminder went out for (once per period)
	ADD COLUMN reminded_period_end	timestamptz;

-- A cancelled subscription now records when it stopped, so the signals of
-- its (clipped) period stay visible, as an expired one's do (011, 013).
CREATE OR REPLACE FUNCTION ac_visible_periods(p_user bigint)
    RETURNS TABLE (strategy_id bigint, period_start timestamptz, period_end timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT ps.strategy_id, s.period_start, s.period_end FROM subscriptions s
	    JOIN plan_strategies ps ON ps.plan_id = s.plan_id
	    WHERE s.user_id = p_user AND (s.status IN ('active', 'past_due', 'expired')
	    OR s.status = 'cancelled' AND s.ended_at IS NOT NULL)
$$;

-- The lifecycle's sweeps: what ends, what is reminded.
CREATE INDEX subscriptions_past_due ON subscriptions (past_due_since) WHERE status = 'past_due';

-- A plan names its Stripe price once.
CREATE UNIQUE INDEX plans_stripe_price ON plans (stripe_price_id) WHERE stripe_price_id IS NOT NULL;
ALTER TABLE plans ADD CONSTRAINT plans_stripe_price_id_check
    CHECK (stripe_price_id ~ '^price_[A-Za-z0-9_]{1,200}$');

-- ---- Stripe ------------------------------------------------------------------

ALTER TABLE users ADD COLUMN stripe_customer_id text UNIQUE
    CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9_]{1,200}$');

-- The Checkout Sessions our responders created: whose, for which plan.
CREATE TABLE checkout_sessions (
	id			text PRIMARY KEY CHECK (id ~ '^cs_[A-Za-z0-9_]{1,250}$'),
	user_id			bigint NOT NULL REFERENCES users (id),
	plan_id			bigint NOT NULL REFERENCES plans (id),
	idempotency_key		text NOT NULL UNIQUE,
	url			text NOT NULL,
	created_at		timestamptz NOT NULL DEFAULT now(),
	completed_at		timestamptz,
	stripe_subscription_id	text
);
CREATE INDEX checkout_sessions_user ON checkout_sessions (user_id, created_at DESC);

-- Every event, stored once by id before anything acts on it.
CREATE TABLE stripe_events (
	id		text PRIMARY KEY CHECK (id ~ '^evt_[A-Za-z0-9_]{1,250}$'),
	type		text NOT NULL CHECK (length(type) BETWEEN 1 AND 100),
	created		timestamptz NOT NULL,		-- Stripe's "created"
	payload		jsonb NOT NULL,
	received_at	timestamptz NOT NULL DEFAULT now(),
	deliveries	integer NOT NULL DEFAULT 1,	-- copies received
	status		text NOT NULL DEFAULT 'received'
			    CHECK (status IN ('received', 'processed', 'ignored', 'failed')),
	processed_at	timestamptz,
	error		text
);
CREATE INDEX stripe_events_pending ON stripe_events (received_at) WHERE status = 'received';

-- A Stripe subscription as Stripe last described it. status and the
-- period come from the customer.subscription.* event with the greatest
-- "created" (status_at); user_id from the checkout that bought it.
CREATE TABLE stripe_subscriptions (
	id			text PRIMARY KEY CHECK (id ~ '^sub_[A-Za-z0-9_]{1,250}$'),
	customer		text,
	user_id			bigint REFERENCES users (id),
	plan_id			bigint REFERENCES plans (id),	-- from the checkout
	checkout_session	text,
	price_id		text,
	status			text,			-- Stripe's word
	status_at		timestamptz,
	period_start		timestamptz,
	period_end		timestamptz,
	cancel_at_period_end	boolean NOT NULL DEFAULT false,
	ended_at		timestamptz,
	updated_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stripe_subscriptions_user ON stripe_subscriptions (user_id);

CREATE TABLE stripe_invoices (
	id			text PRIMARY KEY CHECK (id ~ '^in_[A-Za-z0-9_]{1,250}$'),
	stripe_subscription_id	text NOT NULL,
	customer		text,
	price_id		text,
	period_start		timestamptz,
	period_end		timestamptz,
	amount_paid		bigint,
	currency		text,
	attempt_count		integer,
	status			text NOT NULL CHECK (status IN ('paid', 'failed')),
	status_at		timestamptz NOT NULL,
	credits			integer,		-- granted, once
	granted_at		timestamptz,
	CHECK ((granted_at IS NULL) = (credits IS NULL))
);
CREATE INDEX stripe_invoices_subscription ON stripe_invoices (stripe_subscription_id);

-- ---- manual payments ------------------------------------------------------------

CREATE TABLE payments (
	id		bigserial PRIMARY KEY,
	user_id		bigint NOT NULL REFERENCES users (id),
	plan_id		bigint NOT NULL REFERENCES plans (id),
	subscription_id	bigint NOT NULL UNIQUE REFERENCES subscriptions (id),
	transaction_id	text NOT NULL CHECK (transaction_id ~ '^[A-Za-z0-9-]{6,64}$'),
	amount_minor	bigint NOT NULL CHECK (amount_minor > 0),
	currency	text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	method		text NOT NULL CHECK (method IN ('upi', 'bank_transfer', 'other')),
	proof_file	text CHECK (proof_file ~ '^[0-9a-f]{32}\.(png|jpg|pdf)$'),
	proof_bytes	integer CHECK (proof_bytes > 0),
	status		text NOT NULL DEFAULT 'pending'
			    CHECK (status IN ('pending', 'approved', 'rejected')),
	reviewed_by	text,
	reviewed_at	timestamptz,
	rejection_reason text CHECK (length(rejection_reason) BETWEEN 1 AND 500),
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK ((status = 'pending') = (reviewed_at IS NULL)),
	CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL))
);
-- a transaction id pays once, however it is written
CREATE UNIQUE INDEX payments_transaction ON payments (upper(transaction_id));
CREATE INDEX payments_user ON payments (user_id, id DESC);
CREATE INDEX payments_pending ON payments (created_at) WHERE status = 'pending';

-- A payment pays exactly its plan's price, in its currency.
CREATE FUNCTION ac_payments_amount() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	p plans%ROWTYPE;
BEGIN
	SELECT * INTO p FROM plans WHERE id = NEW.plan_id;
	IF NEW.amount_minor <> p.price_minor OR NEW.currency <> p.currency THEN
		RAISE EXCEPTION 'the amount must be the plan''s price, % %',
		    to_char(p.price_minor / 100.0, 'FM999999990.00'), p.currency
		    USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER payments_amount BEFORE INSERT OR UPDATE OF amount_minor, currency, plan_id
    ON payments FOR EACH ROW EXECUTE FUNCTION ac_payments_amount();

-- The 5-active rule, again: a Stripe subscription's upsert (INSERT ... ON
-- CONFLICT) fires the BEFORE INSERT trigger with a fresh id, so the row
-- being updated must not count against itself.
CREATE OR REPLACE FUNCTION ac_subscriptions_limit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM users WHERE id = NEW.user_id FOR NO KEY UPDATE;
	IF (SELECT count(*) FROM subscriptions
	    WHERE user_id = NEW.user_id AND status = 'active' AND id <> NEW.id
	    AND (NEW.stripe_subscription_id IS NULL
		OR stripe_subscription_id IS DISTINCT FROM NEW.stripe_subscription_id)) >= 5 THEN
		RAISE EXCEPTION 'user % already has 5 active subscriptions', NEW.user_id
		    USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END $$;

-- A plan's max_strategies holds however many alarms are added at once: the
-- user's row is locked first (as for the 5-active rule), so two concurrent
-- adds cannot both see one slot left. The allowance is the largest of the
-- user's current plans (-1: no limit); an alarm on a strategy the user has
-- one on already is the unique key's business.
CREATE FUNCTION ac_alarms_limit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	allowed integer;
BEGIN
	PERFORM 1 FROM users WHERE id = NEW.user_id FOR NO KEY UPDATE;
	SELECT CASE WHEN bool_or(p.max_strategies = -1) THEN -1 ELSE max(p.max_strategies) END
	    INTO allowed FROM subscriptions s JOIN plans p ON p.id = s.plan_id
	    WHERE s.user_id = NEW.user_id AND s.status IN ('active', 'past_due')
	    AND s.period_start <= now() AND s.period_end > now();
	IF allowed IS NOT NULL AND allowed >= 0 AND (SELECT count(*) FROM alarms
	    WHERE user_id = NEW.user_id AND strategy_id <> NEW.strategy_id) >= allowed THEN
		RAISE EXCEPTION 'strategy_limit: the plan allows alarms on % strategies', allowed
		    USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER alarms_limit BEFORE INSERT ON alarms
    FOR EACH ROW EXECUTE FUNCTION ac_alarms_limit();

-- Proration invoices (a plan changed mid-period) are paid but grant no
-- period's credits: the reason an invoice was made is kept.
ALTER TABLE stripe_invoices ADD COLUMN billing_reason text;
