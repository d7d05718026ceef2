//! The shared owner token: stored as a SHA-256 digest and compared in constant time, so neither
//! the token nor its length leaks through timing.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The digest of the configured `JEAN2_AUTH_TOKEN`.
#[derive(Clone)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Whether `presented` is the token. Both sides are hashed to a fixed length first, then
    /// compared with `subtle`: no early exit, whatever the lengths.
    pub fn matches(&self, presented: &str) -> bool {
        let candidate: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Word by word into one difference, compared once (`subtle` per byte costs 32
        // optimisation barriers on every request).
        let diff = self
            .0
            .chunks_exact(8)
            .zip(candidate.chunks_exact(8))
            .fold(0u64, |acc, (a, b)| acc | (word(a) ^ word(b)));
        diff.ct_eq(&0).into()
    }

    /// Whether two configured tokens are the same (`jean2 reload` closes sockets on a change).
    pub fn same_as(&self, other: &TokenDigest) -> bool {
        self.0 == other.0
    }
}

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest(***)")
    }
}

/// Eight bytes as a word.
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_ne_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_exact_token() {
        let d = TokenDigest::of("s3cret-token");
        assert!(d.matches("s3cret-token"));
        for wrong in [
            "",
            "s3cret-toke",
            "s3cret-tokenn",
            "S3cret-token",
            " s3cret-token",
        ] {
            assert!(!d.matches(wrong), "{wrong:?}");
        }
    }
}
