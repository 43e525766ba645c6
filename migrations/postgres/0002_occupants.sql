-- MUC occupants: one row per joined session (full JID). A restart keeps who
-- is in which room.
CREATE TABLE occupants (
    channel         TEXT NOT NULL REFERENCES channels(name) ON DELETE CASCADE,
    full_jid        TEXT NOT NULL,
    jid             TEXT NOT NULL,
    joined_at       BIGINT NOT NULL,
    PRIMARY KEY (channel, full_jid)
);
CREATE INDEX occupants_jid ON occupants (channel, jid);

-- Whether a participant joined through MIX (kept across sessions) or exists
-- only because a MUC session is in the room.
ALTER TABLE participants ADD COLUMN via_mix BIGINT NOT NULL DEFAULT 1;
