-- Registered nicks (XEP-0045 §7.10 room registration, the MIX seed's nick
-- registration): one registry for both views. A row with channel '' is
-- registered with the service and reserved in every channel; otherwise in
-- that channel only. nick_key is the nick's PRECIS comparison key
-- (channel/nick.rs): one user per key and scope.
CREATE TABLE registered_nicks (
    channel         TEXT NOT NULL,
    jid             TEXT NOT NULL,
    nick            TEXT NOT NULL,
    nick_key        TEXT NOT NULL,
    PRIMARY KEY (channel, jid)
);
CREATE UNIQUE INDEX registered_nicks_key ON registered_nicks (channel, nick_key);
CREATE INDEX registered_nicks_any_key ON registered_nicks (nick_key);
-- Who uses a nick anywhere (a registration with the service must not take
-- a nick another user is using in some channel).
CREATE INDEX participants_nick_key ON participants (nick_key);
