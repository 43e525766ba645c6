-- Whether the sender's real JID was visible when the message was archived
-- (XEP-0404): MAM shows each message as the channel showed it then, so a
-- channel made JID-visible later does not reveal who wrote its older
-- messages. Messages archived before this migration take their channel's
-- visibility at the time of the migration.
ALTER TABLE archive ADD COLUMN jid_visible BIGINT NOT NULL DEFAULT 1;
UPDATE archive SET jid_visible = 0
    WHERE channel IN (SELECT name FROM channels WHERE jid_visibility <> 'visible');
