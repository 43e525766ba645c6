-- Service-wide bans (XEP-0050 ad-hoc commands of the service admins): a
-- bare JID, or a domain (no '@': every JID of that domain), kept out of
-- every channel in both views (MUC enter refused as an outcast's, MIX join
-- refused), whatever the channel's own affiliations say.
CREATE TABLE service_bans (
    jid             TEXT PRIMARY KEY NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    banned_by       TEXT NOT NULL,
    banned_at       INTEGER NOT NULL
);
