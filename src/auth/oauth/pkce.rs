//! PKCE (RFC 7636), `S256` only: `BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge`.
//! `plain` is refused by the authorization endpoint, so it never reaches here.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::secrets::ct_eq;

/// The S256 challenge of a verifier.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A verifier is 43–128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An S256 challenge is exactly 43 base64url characters (a SHA-256 digest).
pub fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// Whether `verifier` answers `challenge`.
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    valid_verifier(verifier) && ct_eq(&challenge_of(verifier), challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636, Appendix B.
    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_matches_the_rfc_7636_appendix_b_vector() {
        assert_eq!(challenge_of(RFC_VERIFIER), RFC_CHALLENGE);
        assert!(verify_s256(RFC_VERIFIER, RFC_CHALLENGE));
        assert!(valid_challenge(RFC_CHALLENGE));
    }

    #[test]
    fn wrong_or_malformed_verifiers_fail() {
        let cases = [
            (
                "one character changed",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            ),
            ("the challenge itself (plain)", RFC_CHALLENGE),
            ("too short", "abc"),
            (
                "forbidden character",
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+",
            ),
        ];
        for (label, v) in cases {
            assert!(!verify_s256(v, RFC_CHALLENGE), "{label}");
        }
    }
}
