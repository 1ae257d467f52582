-- 006_mail: account emails (email_outbox) sent through the email channel's
-- providers, Resend then SMTP, as deliveries are (lib/deliver.h, job
-- "email"): what a row keeps of its sends. With no provider configured
-- the row is still marked sent by provider 'outbox'.

-- The provider's id of the sent message, and the sends that reached a
-- provider (the n-th send is step n of the email plan).
ALTER TABLE email_outbox
	ADD COLUMN provider_message_id text,
	ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0);
