use uuid::Uuid;

/// Lower-case hex of `bytes`: digests and opaque page tokens. A page of links writes many of them, and
/// `format!` per byte cost more than the rest of a link.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// A new super identity's id: time-ordered (UUID v7), so that each new one is added at the end of the
/// two indexes keyed by it (the identities' own and the users' `super_identity_id`) rather than on a
/// random page of each; at a million users a random key dirties a page per row in every write
/// (docs/performance.md, "Time-ordered super identity ids"). Seed 001 types `superIdentityId` as a UUID
/// without naming its version, while it calls the entities' own ids "UUID v4 strings", which they stay.
pub fn new_super_identity_id() -> Uuid {
    Uuid::now_v7()
}

/// Parses an id the way the seeds' pattern allows: a hyphenated UUID of version 1 to 8 with the RFC 4122
/// variant, or the nil or the max UUID (seed 000's `id` pattern; seed 001 calls them "UUID v4 strings").
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    for (i, c) in b.iter().enumerate() {
        let hyphen = matches!(i, 8 | 13 | 18 | 23);
        if hyphen != (*c == b'-') || (!hyphen && !c.is_ascii_hexdigit()) {
            return None;
        }
    }
    let id = Uuid::parse_str(s).ok()?;
    if id.is_nil() || id.is_max() {
        return Some(id);
    }
    let version_ok = (b'1'..=b'8').contains(&b[14]);
    let variant_ok = matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B');
    (version_ok && variant_ok).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_two_lower_case_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn accepts_versions_one_to_eight_nil_and_max() {
        assert!(parse_uuid("3c90c3cc-0d44-4b50-8888-8dd25736052a").is_some());
        assert!(parse_uuid("3C90C3CC-0D44-1B50-A888-8DD25736052A").is_some());
        assert!(parse_uuid("3c90c3cc-0d44-8b50-b888-8dd25736052a").is_some());
        assert!(parse_uuid("00000000-0000-0000-0000-000000000000").is_some());
        assert!(parse_uuid("ffffffff-ffff-ffff-ffff-ffffffffffff").is_some());
    }

    #[test]
    fn refuses_other_versions_variants_and_forms() {
        assert!(parse_uuid("3c90c3cc-0d44-0b50-8888-8dd25736052a").is_none());
        assert!(parse_uuid("3c90c3cc-0d44-9b50-8888-8dd25736052a").is_none());
        assert!(parse_uuid("3c90c3cc-0d44-4b50-c888-8dd25736052a").is_none());
        assert!(parse_uuid("3c90c3cc0d444b5088888dd25736052a").is_none());
        assert!(parse_uuid("{3c90c3cc-0d44-4b50-8888-8dd25736052a}").is_none());
        assert!(parse_uuid("not-a-uuid").is_none());
        assert!(parse_uuid("").is_none());
    }

    #[test]
    fn new_super_identity_ids_sort_in_the_order_they_were_made_and_parse_as_ids() {
        let ids: Vec<Uuid> = (0..1_000).map(|_| new_super_identity_id()).collect();
        assert!(ids.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()), "each after the one before");
        for id in &ids[..3] {
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(parse_uuid(&id.to_string()), Some(*id), "a client may send it back");
        }
    }
}
