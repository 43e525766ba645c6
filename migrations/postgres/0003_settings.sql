-- Installation-wide settings. The participant id salt makes participant ids
-- (and so XEP-0421 occupant ids) stable per user and channel without being
-- guessable from the JID.
CREATE TABLE settings (
    key             TEXT PRIMARY KEY NOT NULL,
    value           TEXT NOT NULL
);
INSERT INTO settings (key, value) VALUES ('participant_id_salt', md5(random()::text || clock_timestamp()::text));

-- When the subject was last set (XEP-0045 delay on the subject sent to
-- entering occupants); 0 until it is set.
ALTER TABLE channels ADD COLUMN subject_at BIGINT NOT NULL DEFAULT 0;
