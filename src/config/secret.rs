//! [`Secret`]: a string whose `Debug` never shows it, with a masked preview for people.

use std::fmt;

/// Shorter tokens are warned about by `jean2 start` and `jean2 auth`.
pub const MIN_TOKEN_CHARS: usize = 16;

/// A secret string: its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself. Call sites are easy to grep for.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// A preview safe to print: at most 4 characters of the secret show, whatever its length
    /// (`s3…en (24 chars)`); a secret shorter than [`MIN_TOKEN_CHARS`] shows only its length.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let n = chars.len();
        if n >= MIN_TOKEN_CHARS {
            let head: String = chars[..2].iter().collect();
            let tail: String = chars[n - 2..].iter().collect();
            format!("{head}…{tail} ({n} chars)")
        } else {
            format!("*** ({n} chars)")
        }
    }

    /// Whether the secret is too short to be a good token (warned about, not refused).
    pub fn is_short(&self) -> bool {
        self.0.chars().count() < MIN_TOKEN_CHARS
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
