//! The shared owner token, compared in constant time so that neither the token nor its length
//! leaks through timing: how long a comparison takes depends only on the length of what was
//! presented, never on the token.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Presented credentials up to this long are compared with a zero-padded copy of the token
/// directly; longer ones through SHA-256 digests (hashing every request's credential cost more
/// than the rest of the check).
const DIRECT: usize = 256;

/// The configured `JEAN2_AUTH_TOKEN`, as it is checked.
#[derive(Clone)]
pub struct SharedToken {
    /// The token, zero-padded to [`DIRECT`] bytes (a longer token is not copied here: it is
    /// matched through `digest` alone).
    padded: Box<[u8; DIRECT]>,
    len: usize,
    digest: [u8; 32],
}

impl SharedToken {
    pub fn of(token: &str) -> Self {
        let mut padded = Box::new([0u8; DIRECT]);
        if let Some(head) = padded.get_mut(..token.len()) {
            head.copy_from_slice(token.as_bytes());
        }
        Self {
            padded,
            len: token.len(),
            digest: Sha256::digest(token.as_bytes()).into(),
        }
    }

    /// Whether `presented` is the token. No early exit: every presented byte is compared
    /// (against the padded token, or its digest against the token's), the lengths too, and the
    /// differences folded into one word compared once.
    pub fn matches(&self, presented: &str) -> bool {
        let presented = presented.as_bytes();
        let Some(expected) = self.padded.get(..presented.len()) else {
            let digest: [u8; 32] = Sha256::digest(presented).into();
            return differs(&digest, &self.digest).ct_eq(&0).into();
        };
        let lengths = (presented.len() ^ self.len) as u64;
        (differs(presented, expected) | lengths).ct_eq(&0).into()
    }

    /// Whether two configured tokens are the same (`jean2 reload` closes sockets on a change).
    pub fn same_as(&self, other: &SharedToken) -> bool {
        self.digest == other.digest
    }
}

/// The bits in which two slices of the same length differ, folded into one word, eight bytes
/// at a time (`subtle` per byte costs an optimisation barrier for each).
fn differs(a: &[u8], b: &[u8]) -> u64 {
    let (mut a, mut b) = (a.chunks_exact(8), b.chunks_exact(8));
    let words = (&mut a)
        .zip(&mut b)
        .fold(0u64, |acc, (x, y)| acc | (word(x) ^ word(y)));
    let rest = a
        .remainder()
        .iter()
        .zip(b.remainder())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    words | u64::from(rest)
}

impl std::fmt::Debug for SharedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedToken(***)")
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
        let d = SharedToken::of("s3cret-token");
        assert!(d.matches("s3cret-token"));
        for wrong in [
            "",
            "s3cret-toke",
            "s3cret-tokenn",
            "s3cret-token\0",
            "S3cret-token",
            " s3cret-token",
            "s3cret-tokeN",
            "x3cret-token",
        ] {
            assert!(!d.matches(wrong), "{wrong:?}");
        }
        let long_wrong = "s".repeat(DIRECT + 1);
        assert!(!d.matches(&long_wrong), "longer than the padded copy");
    }

    #[test]
    fn tokens_around_and_beyond_the_padded_length_match_exactly() {
        for n in [1, 7, 8, 9, 63, 64, 65, DIRECT - 1, DIRECT, DIRECT + 1, 1000] {
            let token: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            let d = SharedToken::of(&token);
            assert!(d.matches(&token), "{n}");
            let mut last_changed = token.clone().into_bytes();
            let last = last_changed.len() - 1;
            last_changed[last] ^= 1;
            assert!(
                !d.matches(std::str::from_utf8(&last_changed).unwrap()),
                "{n}"
            );
            assert!(!d.matches(&token[..n - 1]), "{n}: one short");
            assert!(!d.matches(&format!("{token}a")), "{n}: one more");
        }
    }

    #[test]
    fn same_as_compares_the_tokens() {
        assert!(SharedToken::of("a").same_as(&SharedToken::of("a")));
        assert!(!SharedToken::of("a").same_as(&SharedToken::of("b")));
        assert_eq!(
            format!("{:?}", SharedToken::of("s3cret")),
            "SharedToken(***)"
        );
    }
}
