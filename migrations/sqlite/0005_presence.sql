-- Presence in both views (XEP-0045 occupant presence, XEP-0403 MIX-PRESENCE).
-- What each MUC session last said about its availability: a serialised
-- <presence xmlns='jabber:client'> with show, status and the payloads the
-- room passes on (caps, avatar hash, unknown ones); NULL = plain available.
ALTER TABLE occupants ADD COLUMN presence TEXT;
-- When that presence was last set (the room shows a user's most recently
-- updated session).
ALTER TABLE occupants ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
-- The MIX presence node's MIX clients: one row per online client (full JID)
-- of a participant that sends presence to the channel (XEP-0403).
CREATE TABLE mix_presence (
    channel         TEXT NOT NULL,
    full_jid        TEXT NOT NULL,
    jid             TEXT NOT NULL,
    presence        TEXT NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (channel, full_jid),
    FOREIGN KEY (channel, jid) REFERENCES participants(channel, jid) ON DELETE CASCADE
);
CREATE INDEX mix_presence_jid ON mix_presence (channel, jid);
