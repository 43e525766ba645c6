-- Channels (MIX) = rooms (MUC): one row each, the settings both views show.
CREATE TABLE channels (
    name            TEXT PRIMARY KEY NOT NULL,
    creator         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    adhoc           INTEGER NOT NULL DEFAULT 0,
    title           TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    subject         TEXT NOT NULL DEFAULT '',
    subject_by      TEXT NOT NULL DEFAULT '',
    -- XEP-0404 JID visibility: visible | hidden (MUC: non-anonymous | semi-anonymous)
    jid_visibility  TEXT NOT NULL DEFAULT 'visible'
);

-- Owners, admins, members and outcasts (MIX: config Owner/Administrator,
-- allowed and banned nodes).
CREATE TABLE affiliations (
    channel         TEXT NOT NULL REFERENCES channels(name) ON DELETE CASCADE,
    jid             TEXT NOT NULL,
    affiliation     TEXT NOT NULL,
    PRIMARY KEY (channel, jid)
);

-- Participants: one per user and channel, across sessions.
CREATE TABLE participants (
    channel         TEXT NOT NULL REFERENCES channels(name) ON DELETE CASCADE,
    jid             TEXT NOT NULL,
    participant_id  TEXT NOT NULL,
    nick            TEXT,
    nick_key        TEXT,
    nodes           TEXT NOT NULL DEFAULT '',
    joined_at       INTEGER NOT NULL,
    PRIMARY KEY (channel, jid),
    UNIQUE (channel, participant_id)
);
CREATE UNIQUE INDEX participants_nick ON participants (channel, nick_key);

-- The archive: one row per message, whichever view it came from.
CREATE TABLE archive (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT NOT NULL,
    id              TEXT NOT NULL UNIQUE,
    ts              INTEGER NOT NULL,
    sender_jid      TEXT NOT NULL,
    participant_id  TEXT NOT NULL,
    nick            TEXT NOT NULL,
    submission_id   TEXT,
    payload         TEXT NOT NULL
);
CREATE INDEX archive_channel_seq ON archive (channel, seq);
