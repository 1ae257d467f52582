-- 026_push_devices: a subscriber's browsers for push, more than one.
--
-- users.push_player_id held one OneSignal subscription id, so enabling push
-- on a phone silently unlinked the laptop. Each linked browser is now a row:
-- its subscription id (the SDK's, a UUID, unique: a browser belongs to the
-- account last signed in on it), a label read from its User-Agent ("Chrome
-- on Android") for the account page, and when it was linked. A push goes to
-- every device of the user in one OneSignal request
-- (include_subscription_ids); lib/account/push.c keeps at most 5 per user,
-- dropping the longest linked.
CREATE TABLE push_devices (
	id		bigserial PRIMARY KEY,
	user_id		bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	subscription_id	text NOT NULL UNIQUE
			CHECK (length(subscription_id) BETWEEN 1 AND 128
			    AND strpos(subscription_id, ',') = 0),
	label		text NOT NULL DEFAULT 'a browser' CHECK (length(label) BETWEEN 1 AND 60),
	linked_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_devices_user ON push_devices (user_id, id);

INSERT INTO push_devices (user_id, subscription_id, linked_at)
	SELECT id, push_player_id, updated_at FROM users WHERE push_player_id IS NOT NULL
	ON CONFLICT (subscription_id) DO NOTHING;
ALTER TABLE users DROP COLUMN push_player_id;
