-- Messages per channel, kept by triggers, so a MAM answer's <count/> over a
-- whole channel is one row read instead of an index scan of the archive
-- (S4 in docs/benchmarks.md: COUNT(*) over 1,000,000 messages took most of
-- each query's time). Statement-level triggers: a bulk insert or a channel's
-- deletion updates each counter once.
CREATE TABLE archive_counts (
    channel TEXT PRIMARY KEY NOT NULL,
    n       BIGINT NOT NULL
);
INSERT INTO archive_counts (channel, n) SELECT channel, COUNT(*) FROM archive GROUP BY channel;

CREATE FUNCTION archive_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO archive_counts AS c (channel, n)
        SELECT channel, COUNT(*) FROM archive_new GROUP BY channel
    ON CONFLICT (channel) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END;
$$;

CREATE FUNCTION archive_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE archive_counts AS c SET n = c.n - d.k
        FROM (SELECT channel, COUNT(*) AS k FROM archive_old GROUP BY channel) AS d
        WHERE c.channel = d.channel;
    RETURN NULL;
END;
$$;

CREATE TRIGGER archive_counts_added AFTER INSERT ON archive
    REFERENCING NEW TABLE AS archive_new FOR EACH STATEMENT EXECUTE FUNCTION archive_counts_added();
CREATE TRIGGER archive_counts_removed AFTER DELETE ON archive
    REFERENCING OLD TABLE AS archive_old FOR EACH STATEMENT EXECUTE FUNCTION archive_counts_removed();
