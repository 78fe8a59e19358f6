-- One person across channels: merges, automatic matching, erasure, and the audit trail of them.

-- A merged super identity stays as a forwarding address: `merged_into` names the survivor that has
-- all of its external users now. Never a chain: merging into X re-points those merged into the absorbed.
ALTER TABLE super_identities ADD COLUMN merged_into UUID REFERENCES super_identities (id);
ALTER TABLE super_identities ADD COLUMN merged_at BIGINT;
CREATE INDEX ix_super_identities_merged_into ON super_identities (merged_into) WHERE merged_into IS NOT NULL;

-- Automatic matching of new external users by e-mail or phone, off until an admin turns it on.
ALTER TABLE workspaces ADD COLUMN auto_match BOOLEAN NOT NULL DEFAULT FALSE;

-- The identifier as matching compares it (`domain::identity::match_key`: a lower-cased e-mail address,
-- or a phone number as + and digits), NULL when it is neither. Indexed, so matching never scans.
ALTER TABLE external_users ADD COLUMN match_key TEXT;
-- An erased external user keeps its row (tickets still name it as requester) with every personal
-- field cleared; it is hidden from every list and lookup of external users.
ALTER TABLE external_users ADD COLUMN erased_at BIGINT;
UPDATE external_users SET match_key = lower(trim(identifier)) WHERE identifier LIKE '%_@_%';
UPDATE external_users SET match_key = '+' || translate(trim(identifier), ' -().+', '')
WHERE match_key IS NULL AND identifier IS NOT NULL
  AND translate(trim(identifier), ' -().+', '') ~ '^[0-9]{7,15}$'
  AND position('+' in substr(trim(identifier), 2)) = 0;
CREATE INDEX ix_external_users_match_key ON external_users (workspace_id, match_key) WHERE match_key IS NOT NULL;

-- Who merged, linked, unlinked or erased whom, and when: ids only, never the personal data itself.
CREATE TABLE audit_records (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces (id),
    action        TEXT NOT NULL,
    actor_id      UUID NOT NULL,
    subject_id    UUID NOT NULL,
    target_id     UUID,
    at            BIGINT NOT NULL
);
CREATE INDEX ix_audit_records_workspace ON audit_records (workspace_id, at, id);
CREATE INDEX ix_audit_records_subject ON audit_records (subject_id);
