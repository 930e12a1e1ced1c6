//! Prefixed identifiers (`prest_0190…`): the prefix says what the id names, the UUID v7 body
//! sorts by creation time so that index inserts stay append-mostly. They are unique, not secret:
//! never use one as a token.

use uuid::Uuid;

/// `prefix` + `_` + 32 lowercase hex digits of a UUID v7. The embedded timestamp is for
/// ordering only; business time always comes from the injected [`crate::Clock`].
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::now_v7().simple())
}

/// Whether `id` has the shape [`new_id`] produces for `prefix`.
pub fn is_id(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|hex| {
            hex.len() == 32
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// FNV-1a 64: a stable hash across builds and processes (the std hasher is randomised), for
/// page-token fingerprints and advisory-lock keys. Not for secrets.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_unique_and_ordered() {
        let ids: Vec<String> = (0..100).map(|_| new_id("prest")).collect();
        for id in &ids {
            assert!(is_id("prest", id), "{id}");
            assert!(!is_id("com", id));
            assert_eq!(id.len(), "prest_".len() + 32);
        }
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len());
        // v7 ids from one process are monotonic.
        assert_eq!(sorted, ids);
        assert!(!is_id("prest", "prest_XYZ"));
        assert!(!is_id("prest", "prest"));
    }
}
