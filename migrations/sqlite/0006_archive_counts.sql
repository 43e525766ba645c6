-- Messages per channel, kept by triggers, so a MAM answer's <count/> over a
-- whole channel is one row read instead of an index scan of the archive
-- (S4 in docs/benchmarks.md: COUNT(*) over 1,000,000 messages took most of
-- each query's time).
CREATE TABLE archive_counts (
    channel TEXT PRIMARY KEY NOT NULL,
    n       INTEGER NOT NULL
);
INSERT INTO archive_counts (channel, n) SELECT channel, COUNT(*) FROM archive GROUP BY channel;

CREATE TRIGGER archive_counts_insert AFTER INSERT ON archive
BEGIN
    INSERT INTO archive_counts (channel, n) VALUES (NEW.channel, 1)
    ON CONFLICT (channel) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER archive_counts_delete AFTER DELETE ON archive
BEGIN
    UPDATE archive_counts SET n = n - 1 WHERE channel = OLD.channel;
END;
