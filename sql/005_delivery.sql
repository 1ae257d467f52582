-- 005_delivery: what delivery through the real providers needs — a user's
-- Telegram chat marked unreachable when the bot was blocked, and the
-- one-time codes of the portal's Telegram deep link (t.me/<bot>?start=<code>).

-- Set when Telegram answered 403 (bot blocked by the user); cleared when the
-- user links a chat again. Telegram deliveries to such a user fail at once.
ALTER TABLE users ADD COLUMN telegram_unreachable_at timestamptz;

-- A code is valid until expires_at and only once (used_at). Codes are
-- random (lib/telegram.c), 32 URL-safe characters as the deep link allows.
CREATE TABLE telegram_link_codes (
	code		text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_-]{16,64}$'),
	user_id		bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	CHECK (expires_at > created_at)
);
CREATE INDEX telegram_link_codes_user ON telegram_link_codes (user_id);
