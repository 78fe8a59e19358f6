-- Exact totals for the single-filter lists of external users (docs/decisions/list-counts.md): how many
-- live (not erased) users each workspace, channel, tier and group has, kept by a trigger in the same
-- transaction as every write to external_users (including a deleted tier's or group's SET NULL), so a
-- list's total is one index range read instead of a count over the index.
-- `shard` (from the user's id) spreads one total over 16 rows, so concurrent creates do not queue on
-- one row lock; a total is the sum over its shards.
CREATE TABLE external_user_counts (
    workspace_id  UUID NOT NULL,
    kind          TEXT NOT NULL,  -- 'workspace', 'channel', 'tier', 'group'
    key_id        UUID NOT NULL,
    shard         SMALLINT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, kind, key_id, shard)
);

INSERT INTO external_user_counts (workspace_id, kind, key_id, shard, n)
SELECT workspace_id, 'workspace', workspace_id, 0, COUNT(*) FROM external_users
WHERE erased_at IS NULL GROUP BY workspace_id
UNION ALL
SELECT workspace_id, 'channel', channel_id, 0, COUNT(*) FROM external_users
WHERE erased_at IS NULL GROUP BY workspace_id, channel_id
UNION ALL
SELECT workspace_id, 'tier', tier_id, 0, COUNT(*) FROM external_users
WHERE erased_at IS NULL AND tier_id IS NOT NULL GROUP BY workspace_id, tier_id
UNION ALL
SELECT workspace_id, 'group', group_id, 0, COUNT(*) FROM external_users
WHERE erased_at IS NULL AND group_id IS NOT NULL GROUP BY workspace_id, group_id;

CREATE FUNCTION external_users_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o external_users;
    w external_users;
    o_d BIGINT := 0;
    w_d BIGINT := 0;
    s SMALLINT;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        o := OLD;
        IF OLD.erased_at IS NULL THEN o_d := -1; END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        w := NEW;
        IF NEW.erased_at IS NULL THEN w_d := 1; END IF;
    END IF;
    s := get_byte(uuid_send(coalesce(w.id, o.id)), 15) % 16;
    -- In key order, so two writers touching the same rows lock them in the same order (no deadlock).
    INSERT INTO external_user_counts AS c (workspace_id, kind, key_id, shard, n)
    SELECT d.ws, d.kind, d.key_id, s, SUM(d.delta)
    FROM (VALUES (o.workspace_id, 'workspace', o.workspace_id, o_d), (o.workspace_id, 'channel', o.channel_id, o_d),
                 (o.workspace_id, 'tier', o.tier_id, o_d), (o.workspace_id, 'group', o.group_id, o_d),
                 (w.workspace_id, 'workspace', w.workspace_id, w_d), (w.workspace_id, 'channel', w.channel_id, w_d),
                 (w.workspace_id, 'tier', w.tier_id, w_d), (w.workspace_id, 'group', w.group_id, w_d))
         AS d (ws, kind, key_id, delta)
    WHERE d.key_id IS NOT NULL AND d.delta <> 0
    GROUP BY d.ws, d.kind, d.key_id HAVING SUM(d.delta) <> 0
    ORDER BY d.ws, d.kind, d.key_id
    ON CONFLICT (workspace_id, kind, key_id, shard) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END;
$$;

CREATE TRIGGER external_users_count_insert AFTER INSERT ON external_users
FOR EACH ROW WHEN (NEW.erased_at IS NULL) EXECUTE FUNCTION external_users_count();
-- A move between channels, tiers or groups, and an erasure: the old keys lose one, the new keys gain one.
CREATE TRIGGER external_users_count_update AFTER UPDATE OF workspace_id, channel_id, tier_id, group_id, erased_at
ON external_users FOR EACH ROW
WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id OR OLD.channel_id IS DISTINCT FROM NEW.channel_id
   OR OLD.tier_id IS DISTINCT FROM NEW.tier_id OR OLD.group_id IS DISTINCT FROM NEW.group_id
   OR (OLD.erased_at IS NULL) <> (NEW.erased_at IS NULL))
EXECUTE FUNCTION external_users_count();
CREATE TRIGGER external_users_count_delete AFTER DELETE ON external_users
FOR EACH ROW WHEN (OLD.erased_at IS NULL) EXECUTE FUNCTION external_users_count();
