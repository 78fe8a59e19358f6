-- Exact totals for the single-filter lists of external users (docs/decisions/list-counts.md): how many
-- live (not erased) users each workspace, channel, tier and group has, kept by triggers in the same
-- transaction as every write to external_users (including a deleted tier's or group's SET NULL), so a
-- list's total is one primary-key read instead of a count over the index.
-- `shard` spreads one total over several rows on PostgreSQL, where concurrent writers would otherwise
-- queue on one row; SQLite has one writer and uses shard 0 only. A total is the sum over its shards.
CREATE TABLE external_user_counts (
    workspace_id  BLOB NOT NULL,
    kind          TEXT NOT NULL,  -- 'workspace', 'channel', 'tier', 'group'
    key_id        BLOB NOT NULL,
    shard         INTEGER NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, kind, key_id, shard)
) WITHOUT ROWID;

INSERT INTO external_user_counts (workspace_id, kind, key_id, shard, n)
SELECT workspace_id, 'workspace', workspace_id, 0, COUNT(*) FROM external_users
WHERE erased_at IS NULL GROUP BY workspace_id;
INSERT INTO external_user_counts (workspace_id, kind, key_id, shard, n)
SELECT workspace_id, 'channel', channel_id, 0, COUNT(*) FROM external_users
WHERE erased_at IS NULL GROUP BY workspace_id, channel_id;
INSERT INTO external_user_counts (workspace_id, kind, key_id, shard, n)
SELECT workspace_id, 'tier', tier_id, 0, COUNT(*) FROM external_users
WHERE erased_at IS NULL AND tier_id IS NOT NULL GROUP BY workspace_id, tier_id;
INSERT INTO external_user_counts (workspace_id, kind, key_id, shard, n)
SELECT workspace_id, 'group', group_id, 0, COUNT(*) FROM external_users
WHERE erased_at IS NULL AND group_id IS NOT NULL GROUP BY workspace_id, group_id;

CREATE TRIGGER external_users_count_insert AFTER INSERT ON external_users WHEN new.erased_at IS NULL BEGIN
    INSERT INTO external_user_counts (workspace_id, kind, key_id, shard, n)
    SELECT new.workspace_id, kind, key_id, 0, 1
    FROM (SELECT 'workspace' AS kind, new.workspace_id AS key_id UNION ALL SELECT 'channel', new.channel_id
          UNION ALL SELECT 'tier', new.tier_id UNION ALL SELECT 'group', new.group_id)
    WHERE key_id IS NOT NULL
    ON CONFLICT (workspace_id, kind, key_id, shard) DO UPDATE SET n = n + 1;
END;

-- A move between channels, tiers or groups, and an erasure: the old keys lose one, the new keys gain one
-- (keys that did not change net out and are not written).
CREATE TRIGGER external_users_count_update AFTER UPDATE OF workspace_id, channel_id, tier_id, group_id, erased_at
ON external_users
WHEN old.workspace_id IS NOT new.workspace_id OR old.channel_id IS NOT new.channel_id
  OR old.tier_id IS NOT new.tier_id OR old.group_id IS NOT new.group_id
  OR (old.erased_at IS NULL) <> (new.erased_at IS NULL)
BEGIN
    INSERT INTO external_user_counts (workspace_id, kind, key_id, shard, n)
    SELECT ws, kind, key_id, 0, SUM(delta)
    FROM (SELECT old.workspace_id AS ws, 'workspace' AS kind, old.workspace_id AS key_id,
                 -(old.erased_at IS NULL) AS delta
          UNION ALL SELECT old.workspace_id, 'channel', old.channel_id, -(old.erased_at IS NULL)
          UNION ALL SELECT old.workspace_id, 'tier', old.tier_id, -(old.erased_at IS NULL)
          UNION ALL SELECT old.workspace_id, 'group', old.group_id, -(old.erased_at IS NULL)
          UNION ALL SELECT new.workspace_id, 'workspace', new.workspace_id, new.erased_at IS NULL
          UNION ALL SELECT new.workspace_id, 'channel', new.channel_id, new.erased_at IS NULL
          UNION ALL SELECT new.workspace_id, 'tier', new.tier_id, new.erased_at IS NULL
          UNION ALL SELECT new.workspace_id, 'group', new.group_id, new.erased_at IS NULL)
    WHERE key_id IS NOT NULL
    GROUP BY ws, kind, key_id HAVING SUM(delta) <> 0
    ON CONFLICT (workspace_id, kind, key_id, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER external_users_count_delete AFTER DELETE ON external_users WHEN old.erased_at IS NULL BEGIN
    UPDATE external_user_counts SET n = n - 1
    WHERE workspace_id = old.workspace_id AND shard = 0
      AND ((kind = 'workspace' AND key_id = old.workspace_id) OR (kind = 'channel' AND key_id = old.channel_id)
        OR (kind = 'tier' AND key_id = old.tier_id) OR (kind = 'group' AND key_id = old.group_id));
END;
