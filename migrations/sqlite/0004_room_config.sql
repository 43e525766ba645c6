-- Room / channel configuration shared by both views (muc#owner form, MIX
-- info and config nodes).
-- Listed in disco#items of both domains (MUC: public / hidden).
ALTER TABLE channels ADD COLUMN public INTEGER NOT NULL DEFAULT 1;
-- Only members (MIX: allowed node) may enter / join.
ALTER TABLE channels ADD COLUMN members_only INTEGER NOT NULL DEFAULT 0;
-- Most users in the room at once; 0 = no limit.
ALTER TABLE channels ADD COLUMN max_users INTEGER NOT NULL DEFAULT 0;
-- Who may send private messages: anyone | participants | moderators | none.
ALTER TABLE channels ADD COLUMN allow_pm TEXT NOT NULL DEFAULT 'anyone';
-- Whether participants (not only moderators) may change the subject.
ALTER TABLE channels ADD COLUMN change_subject INTEGER NOT NULL DEFAULT 1;
-- Only occupants with voice may speak (MUC moderated room).
ALTER TABLE channels ADD COLUMN moderated INTEGER NOT NULL DEFAULT 0;
-- Whether participants (not only admins) may invite others.
ALTER TABLE channels ADD COLUMN allow_invites INTEGER NOT NULL DEFAULT 1;
-- Natural language of the room (muc#roomconfig_lang), '' if unset.
ALTER TABLE channels ADD COLUMN lang TEXT NOT NULL DEFAULT '';
-- A room created by MUC presence stays locked until its owner configures it
-- or accepts the instant room (XEP-0045 10.1).
ALTER TABLE channels ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;
-- A participant's role when set by a moderator (visitor / participant /
-- moderator); NULL = the default role of its affiliation.
ALTER TABLE participants ADD COLUMN role TEXT;
