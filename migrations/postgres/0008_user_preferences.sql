-- A participant's preferences (XEP-0404 "User Preferences"), set in the
-- join form or with <user-preference/>: whether its real JID may be shown
-- (default | never | always | prefer not), whether it takes private
-- messages (allow | block), whether its vCard may be fetched through the
-- channel (allow | block) and whether its presence is shared (share | not share).
-- Channels' jid_visibility gains a third value, 'maybe-visible'.
ALTER TABLE participants ADD COLUMN pref_jid TEXT NOT NULL DEFAULT 'default';
ALTER TABLE participants ADD COLUMN pref_pm TEXT NOT NULL DEFAULT 'allow';
ALTER TABLE participants ADD COLUMN pref_vcard TEXT NOT NULL DEFAULT 'allow';
ALTER TABLE participants ADD COLUMN pref_presence TEXT NOT NULL DEFAULT 'share';
