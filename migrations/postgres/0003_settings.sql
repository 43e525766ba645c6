-- Installation-wide settings. The participant id salt makes participant ids
-- (and so XEP-0421 occupant ids) stable per user and channel without being
-- guessable from the JID.
CREATE TABLE settings (
    key             TEXT PRIMARY KEY NOT NULL,
    value           TEXT NOT NULL
);
INSERT INTO settings (key, value) VALUES ('participant_id_salt', md5(random()::text || clock_timestamp()::text));
