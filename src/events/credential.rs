//! What an open connection authenticated with, reduced to what revocation matches on, and what
//! can be revoked. The hub keeps one [`Credential`] per connection, so a revocation is one pass
//! over the connections (no check per message or per broadcast).

/// The credential a connection was opened with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    /// None: authentication was off.
    Open,
    /// The shared `JEAN2_AUTH_TOKEN`.
    SharedToken,
    /// An application's API key (by its hash).
    ApiKey {
        app_id: Box<str>,
        key_hash: Box<str>,
    },
    /// A person's access token.
    User {
        user_id: Box<str>,
        app_id: Box<str>,
        /// The refresh family (grant) that issued it.
        family: Box<str>,
        /// The token's own id (`jti`).
        token_id: Box<str>,
        /// When it expires (Unix ms).
        expires_at_ms: i64,
    },
}

/// Something that no longer opens anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked<'a> {
    /// Authentication was turned on: connections opened without a credential.
    Open,
    /// The shared token changed (or was removed).
    SharedToken,
    /// A user was disabled.
    User(&'a str),
    /// An application was revoked (its keys and its users' tokens).
    App(&'a str),
    /// An API key, by its hash.
    ApiKey(&'a str),
    /// A refresh family and every access token it issued.
    Family(&'a str),
    /// One access token, by its id.
    AccessToken(&'a str),
}

impl Credential {
    /// Whether this credential stops working with `revoked`.
    pub fn is_revoked_by(&self, revoked: Revoked<'_>) -> bool {
        match (self, revoked) {
            (Credential::Open, Revoked::Open) => true,
            (Credential::SharedToken, Revoked::SharedToken) => true,
            (Credential::ApiKey { app_id, .. }, Revoked::App(a)) => **app_id == *a,
            (Credential::ApiKey { key_hash, .. }, Revoked::ApiKey(h)) => **key_hash == *h,
            (Credential::User { user_id, .. }, Revoked::User(u)) => **user_id == *u,
            (Credential::User { app_id, .. }, Revoked::App(a)) => **app_id == *a,
            (Credential::User { family, .. }, Revoked::Family(f)) => **family == *f,
            (Credential::User { token_id, .. }, Revoked::AccessToken(t)) => **token_id == *t,
            _ => false,
        }
    }

    /// When it expires by itself (Unix ms).
    pub fn expires_at_ms(&self) -> Option<i64> {
        match self {
            Credential::User { expires_at_ms, .. } => Some(*expires_at_ms),
            _ => None,
        }
    }

    /// Whether it is checked against the database (API keys and access tokens).
    pub fn is_oauth(&self) -> bool {
        matches!(self, Credential::ApiKey { .. } | Credential::User { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_revocation_matches_only_its_own_credentials() {
        let user = Credential::User {
            user_id: "u1".into(),
            app_id: "a1".into(),
            family: "f1".into(),
            token_id: "t1".into(),
            expires_at_ms: 0,
        };
        let key = Credential::ApiKey {
            app_id: "a1".into(),
            key_hash: "h1".into(),
        };
        for (r, on_user, on_key) in [
            (Revoked::User("u1"), true, false),
            (Revoked::User("u2"), false, false),
            (Revoked::App("a1"), true, true),
            (Revoked::App("a2"), false, false),
            (Revoked::ApiKey("h1"), false, true),
            (Revoked::Family("f1"), true, false),
            (Revoked::AccessToken("t1"), true, false),
            (Revoked::SharedToken, false, false),
            (Revoked::Open, false, false),
        ] {
            assert_eq!(user.is_revoked_by(r), on_user, "user token, {r:?}");
            assert_eq!(key.is_revoked_by(r), on_key, "API key, {r:?}");
        }
        assert!(Credential::SharedToken.is_revoked_by(Revoked::SharedToken));
        assert!(!Credential::SharedToken.is_revoked_by(Revoked::Open));
        assert!(Credential::Open.is_revoked_by(Revoked::Open));
    }
}
