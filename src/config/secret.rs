//! [`Secret`]: a string whose `Debug` never shows it, with a masked preview for people.

use std::fmt;

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
    /// A preview safe to print: `s3c…ken (12 chars)`; short secrets show nothing but their length.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let n = chars.len();
        if n >= 12 {
            let head: String = chars[..3].iter().collect();
            let tail: String = chars[n - 3..].iter().collect();
            format!("{head}…{tail} ({n} chars)")
        } else {
            format!("*** ({n} chars)")
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
