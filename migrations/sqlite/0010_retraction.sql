-- Retraction and moderation (XEP-0424, XEP-0425, MIX retraction): one
-- archive for both views.
-- A retraction is archived as a message of its own: `retracts` is the
-- archive id of the message it takes back; `moderated` when a moderator
-- (not the sender) took it back, with the moderator's `reason`.
-- The message taken back keeps its row and id as a tombstone: its payload
-- is emptied, `retracted_at` says when, `retraction_id` which retraction
-- (its archive id), and `moderated`, `reason`, `retracted_by_nick` and
-- `retracted_by_pid` (the moderator's nick and participant id) repeat the
-- retraction's, so a tombstone renders from its own row.
ALTER TABLE archive ADD COLUMN retracts TEXT;
ALTER TABLE archive ADD COLUMN moderated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE archive ADD COLUMN reason TEXT;
ALTER TABLE archive ADD COLUMN retracted_at INTEGER;
ALTER TABLE archive ADD COLUMN retraction_id TEXT;
ALTER TABLE archive ADD COLUMN retracted_by_nick TEXT;
ALTER TABLE archive ADD COLUMN retracted_by_pid TEXT;
-- Whether senders may retract their own messages (MIX 'User Message
-- Retraction'), and who may retract anyone's ('Administrator Message
-- Retraction Rights': nobody | owners | admins | moderators).
ALTER TABLE channels ADD COLUMN user_retraction INTEGER NOT NULL DEFAULT 1;
ALTER TABLE channels ADD COLUMN retraction_rights TEXT NOT NULL DEFAULT 'moderators';
-- Who changed the configuration last, and when (ms; 0: never since
-- creation): the MIX config node's 'Last Change Made By' and its item id.
ALTER TABLE channels ADD COLUMN config_by TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN config_at INTEGER NOT NULL DEFAULT 0;
