//! Random secrets and their hashes: authorization codes, refresh tokens, client secrets, API keys
//! (`jean_sk_…`) and sign-in session ids are 32 random bytes, base64url. The database keeps only
//! their SHA-256; comparisons of stored hashes go through `subtle`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Every API key starts with this, so it is recognisable (and greppable by secret scanners).
pub const API_KEY_PREFIX: &str = "jean_sk_";

/// 32 random bytes from the OS, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API key: `jean_sk_` + 43 characters.
pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", random_token())
}

/// Whether a presented credential is shaped like an API key.
pub fn is_api_key(s: &str) -> bool {
    s.starts_with(API_KEY_PREFIX)
}

/// `text` (a URL path and query, as logged) with every `/`, `?`, `&` or `=`-separated piece that
/// holds an API key, percent-encoded or not, replaced by `***`.
pub fn scrub_api_keys(text: &str) -> std::borrow::Cow<'_, str> {
    if !holds_api_key(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive(['/', '?', '&', '=']) {
        let (body, delimiter) = match piece.char_indices().last() {
            Some((i, '/' | '?' | '&' | '=')) => piece.split_at(i),
            _ => (piece, ""),
        };
        out.push_str(if holds_api_key(body) { "***" } else { body });
        out.push_str(delimiter);
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `raw`, percent-decoded, contains an API key prefix (in any case).
fn holds_api_key(raw: &str) -> bool {
    let decoded: String = url::form_urlencoded::parse(format!("x={raw}").as_bytes())
        .map(|(_, v)| v.into_owned())
        .collect();
    decoded.to_ascii_lowercase().contains(API_KEY_PREFIX)
        || raw.to_ascii_lowercase().contains(API_KEY_PREFIX)
}

/// The part of a key safe to show in listings: `jean_sk_AbCd`.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(API_KEY_PREFIX.len() + 4).collect()
}

/// SHA-256 of a secret, lower-case hex: what the database stores and indexes.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Whether `presented` hashes to `stored_hash`, in constant time.
pub fn matches_hash(presented: &str, stored_hash: &str) -> bool {
    let candidate = hash(presented);
    candidate.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// Constant-time equality of two strings (CSRF tokens). Unequal lengths are unequal.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_prefixed_random_and_hash_matches() {
        let a = new_api_key();
        let b = new_api_key();
        assert!(a.starts_with("jean_sk_") && a.len() == 8 + 43, "{a}");
        assert_ne!(a, b);
        assert!(matches_hash(&a, &hash(&a)));
        assert!(!matches_hash(&b, &hash(&a)));
        assert_eq!(key_prefix(&a).len(), 12);
    }

    #[test]
    fn api_keys_are_scrubbed_from_logged_urls_however_encoded() {
        let key = new_api_key();
        let encoded = key.replace('_', "%5F");
        let cases = [
            (
                format!("/oauth/authorize?client_id={key}&x=1"),
                "/oauth/authorize?client_id=***&x=1",
            ),
            (format!("/a?client_id={encoded}"), "/a?client_id=***"),
            (format!("/a/{key}/b"), "/a/***/b"),
            (format!("/a?{key}"), "/a?***"),
            (
                "/a?client_id=app_1&limit=5".to_owned(),
                "/a?client_id=app_1&limit=5",
            ),
        ];
        for (uri, want) in cases {
            assert_eq!(scrub_api_keys(&uri), want, "{uri}");
        }
    }
}
