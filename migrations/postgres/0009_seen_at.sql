-- The last sign of life of each session (ms): entering, a presence, any
-- stanza it sent to the channel, an answer to the idle-session sweep's
-- ping (docs/muc.md "Housekeeping"). The sweep pings sessions silent for
-- longer than `[service] idle_session_check_secs`, oldest first: one
-- indexed range scan per table. (`updated_at` stays what it was: when the
-- presence last changed, which decides the session the MUC view shows.)
ALTER TABLE occupants ADD COLUMN seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE occupants SET seen_at = GREATEST(joined_at, updated_at);
CREATE INDEX occupants_seen ON occupants (seen_at);
ALTER TABLE mix_presence ADD COLUMN seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE mix_presence SET seen_at = updated_at;
CREATE INDEX mix_presence_seen ON mix_presence (seen_at);
