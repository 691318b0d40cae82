//! Rendered responses kept per projection version: the home page, the person pages and the JSON
//! list are the same bytes for everyone until the list changes, so they are rendered once per
//! (version, language, query) and served from memory after.
//!
//! Bounded: at most [`RESPONSE_CACHE_ENTRIES_MAX`] bodies of at most [`RESPONSE_CACHE_BODY_BYTES_MAX`]
//! each; when full, it is emptied (cheaper than bookkeeping for eviction, and a full cache means
//! the traffic is spread over many queries anyway). A new version empties it too. The key is
//! built from the checked query, never from raw request text, so hostile queries cannot mint
//! more keys than the valid ones they stand for.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;

/// Most responses kept.
pub const RESPONSE_CACHE_ENTRIES_MAX: usize = 512;

/// Largest body kept, in bytes (a page of the list is about 40 KiB; downloads are not kept).
pub const RESPONSE_CACHE_BODY_BYTES_MAX: usize = 256 * 1024;

/// A cached body with its content type.
#[derive(Clone)]
pub(crate) struct CachedBody {
    pub(crate) content_type: &'static str,
    pub(crate) body: Bytes,
}

#[derive(Default)]
struct Entries {
    version: u64,
    bodies: HashMap<String, CachedBody>,
}

/// The response cache of one server.
#[derive(Default)]
pub(crate) struct ResponseCache {
    entries: Mutex<Entries>,
}

impl ResponseCache {
    /// The body kept for `key` at `version`, if any.
    pub(crate) fn get(&self, version: u64, key: &str) -> Option<CachedBody> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.version != version {
            return None;
        }
        entries.bodies.get(key).cloned()
    }

    /// Keeps `body` for `key` at `version` (rendered from that version's projection).
    pub(crate) fn put(&self, version: u64, key: String, body: CachedBody) {
        if body.body.len() > RESPONSE_CACHE_BODY_BYTES_MAX {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.version != version {
            if version < entries.version {
                // Rendered from an older projection than what is kept: worthless.
                return;
            }
            entries.bodies.clear();
            entries.version = version;
        }
        if entries.bodies.len() >= RESPONSE_CACHE_ENTRIES_MAX {
            entries.bodies.clear();
        }
        entries.bodies.insert(key, body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &'static str) -> CachedBody {
        CachedBody { content_type: "text/plain", body: Bytes::from_static(text.as_bytes()) }
    }

    #[test]
    fn a_new_version_forgets_the_old_bodies_and_the_size_is_bounded() {
        let cache = ResponseCache::default();
        cache.put(1, "a".into(), body("one"));
        assert_eq!(cache.get(1, "a").map(|hit| hit.body), Some(Bytes::from_static(b"one")));
        assert!(cache.get(2, "a").is_none(), "another version never sees it");
        cache.put(2, "b".into(), body("two"));
        assert!(cache.get(1, "a").is_none());
        cache.put(1, "a".into(), body("late"));
        assert!(cache.get(1, "a").is_none(), "an older rendering is not kept");
        for index in 0..RESPONSE_CACHE_ENTRIES_MAX * 3 {
            cache.put(2, format!("k{index}"), body("x"));
            let entries = cache.entries.lock().expect("lock");
            assert!(entries.bodies.len() <= RESPONSE_CACHE_ENTRIES_MAX);
        }
    }
}
