-- Room / channel avatars (XEP-0486 vCard on the room, XEP-0084 nodes on
-- the MIX channel): one stored image, shown in both views. The image is
-- kept apart from the channel row (which every request reads); the row
-- keeps its SHA-1 (hex), '' when there is none.
CREATE TABLE avatars (
    channel         TEXT PRIMARY KEY NOT NULL,
    media_type      TEXT NOT NULL,
    data            TEXT NOT NULL
);
ALTER TABLE channels ADD COLUMN avatar_hash TEXT NOT NULL DEFAULT '';
-- The channel's contacts (MIX info node 'Contact', muc#roominfo_contactjid):
-- bare JIDs, one per line.
ALTER TABLE channels ADD COLUMN contact TEXT NOT NULL DEFAULT '';
-- When the channel is removed by the service (MIX 'End of Life'; ms since
-- 1970), 0: permanent.
ALTER TABLE channels ADD COLUMN end_of_life BIGINT NOT NULL DEFAULT 0;
