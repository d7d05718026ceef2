//! People in the browser: signing in with a password (with the per-address and per-account
//! limiters), the browser sign-in session, what happens once a signed-in person reaches an
//! authorization request (a remembered grant that covers it, or the consent page), and their
//! answer on that page. The HTTP forms around it live in `api::oauth`.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::auth::limiter::AccountKey;

use super::authorize::{self as az, AuthzError, ValidAuthz};
use super::{LOGIN_SESSION_MS, OAuth, passwords, secrets};
use crate::store::StoreError;
use crate::store::users::{User, normalize_email};

/// The outcome of a sign-in attempt.
#[derive(Debug)]
pub enum SignIn {
    /// The password is right: a new browser session (its token goes into a cookie).
    Started { session: String, user: User },
    /// Wrong email or password, or a disabled account (indistinguishable on purpose).
    Refused,
    /// The e-mail is longer than any address can be ([`MAX_EMAIL_BYTES`]).
    EmailTooLong,
    /// This address or account failed too often: try again after this long.
    TooMany(Duration),
}

/// The longest e-mail address there can be (RFC 5321: a 256-byte path, less the brackets).
pub const MAX_EMAIL_BYTES: usize = 254;

/// Where a signed-in person goes next on an authorization request.
#[derive(Debug)]
pub enum Next {
    /// A remembered grant covers the request: back to the client with a code.
    Redirect(String),
    /// Ask for consent.
    Consent,
}

impl OAuth {
    /// Check a password and start a browser session. Each attempt counts against the address
    /// and the account from the start (taken back if it succeeds).
    pub async fn sign_in(
        &self,
        ip: IpAddr,
        email: &str,
        password: String,
        now: Instant,
    ) -> Result<SignIn, StoreError> {
        if email.len() > MAX_EMAIL_BYTES {
            return Ok(SignIn::EmailTooLong);
        }
        let account = AccountKey::of(&normalize_email(email));
        if let Err(retry) = self.begin_login(ip, account, now) {
            return Ok(SignIn::TooMany(retry));
        }
        let user = self.store().user_by_email(email).await?;
        let hash = user
            .as_ref()
            .filter(|u| !u.disabled)
            .and_then(|u| u.password_hash.clone());
        let ok = passwords::verify_password(password, hash).await;
        let Some(user) = user.filter(|_| ok) else {
            tracing::info!(client.ip = %ip, "sign-in failed");
            return Ok(SignIn::Refused);
        };
        self.login_succeeded(ip, account);
        let session = secrets::random_token();
        let now_ms = self.now_ms();
        self.store()
            .create_login_session(
                &secrets::hash(&session),
                &user.id,
                now_ms,
                now_ms + LOGIN_SESSION_MS,
            )
            .await?;
        tracing::info!(user.id = %user.id, "signed in");
        Ok(SignIn::Started { session, user })
    }

    /// The person of a browser session, if it is live and the person enabled.
    pub async fn session_user(&self, session: &str) -> Option<User> {
        let user_id = self
            .store()
            .login_session_user(&secrets::hash(session), self.now_ms())
            .await
            .ok()??;
        self.store()
            .user_by_id(&user_id)
            .await
            .ok()?
            .filter(|u| !u.disabled)
    }

    /// End a browser session.
    pub async fn sign_out(&self, session: &str) {
        if let Err(e) = self
            .store()
            .delete_login_session(&secrets::hash(session))
            .await
        {
            tracing::error!(error = %e, "cannot end a sign-in session");
        }
    }

    /// A signed-in person reached a valid authorization request. A remembered grant skips the
    /// consent page for confidential clients only: anyone can claim a public client's id and
    /// listen on a loopback port (RFC 8252 §8.6), so there a person confirms every time.
    pub async fn continue_as(&self, v: &ValidAuthz, user: &User) -> Result<Next, AuthzError> {
        if !v.app.confidential {
            return Ok(Next::Consent);
        }
        let granted = self.store().grant(&user.id, &v.app.id).await.ok().flatten();
        if granted.is_some_and(|g| az::grant_covers(&g, &v.scopes)) {
            return az::issue_code(self, v, &user.id).await.map(Next::Redirect);
        }
        Ok(Next::Consent)
    }

    /// The person's answer on the consent page: allowing remembers the grant (merged with what
    /// was granted before) and issues a code; denying sends `access_denied` back. Either way the
    /// result is where the browser goes.
    pub async fn consent(
        &self,
        v: &ValidAuthz,
        user: &User,
        allow: bool,
    ) -> Result<String, AuthzError> {
        if !allow {
            return Ok(az::error_redirect(
                self,
                &v.redirect_uri,
                "access_denied",
                "the user denied the request",
                v.state.as_deref(),
            ));
        }
        let mut scopes = v.scopes.clone();
        if let Ok(Some(old)) = self.store().grant(&user.id, &v.app.id).await {
            scopes.extend(old.split_whitespace().map(str::to_owned));
        }
        scopes.sort();
        scopes.dedup();
        self.store()
            .save_grant(&user.id, &v.app.id, &scopes.join(" "))
            .await?;
        az::issue_code(self, v, &user.id).await
    }

    /// The person behind an access token (`/oauth/userinfo`): `None` when the token is not
    /// valid or its person is gone.
    pub async fn token_user(&self, token: &str) -> Result<Option<User>, StoreError> {
        let Some(claims) = self.verify_access_token(token).await else {
            return Ok(None);
        };
        self.store().user_by_id(&claims.sub).await
    }
}
