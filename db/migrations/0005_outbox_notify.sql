-- Wake the outbox relay as soon as an event commits: NOTIFY is delivered at commit (never for a
-- rolled-back transaction) and collapsed to one per transaction, so this costs one message per
-- writing transaction, not per row. The relay also polls, so a missed notification only delays.
CREATE OR REPLACE FUNCTION outbox_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_events', '');
  RETURN NULL;
END $$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS outbox_events_notify ON outbox_events;
--> statement-breakpoint
CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_events_notify();
