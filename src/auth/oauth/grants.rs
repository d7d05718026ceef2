//! The two grants of the token endpoint. The decisions are pure functions of the stored record,
//! the request and the time ([`check_code`], [`check_refresh`]); [`exchange_code`] and
//! [`refresh`] apply them against the store and issue tokens.
//!
//! Codes: single use, 60 s, bound to client, `redirect_uri` and PKCE challenge, all checked before
//! the code is marked used (so whoever sees a code cannot spoil the real exchange); a second use
//! revokes what the first issued. Refresh tokens: rotated on every use; the same token presented
//! again within [`REFRESH_GRACE_MS`] gets the same successor pair (see [`super::successors`]),
//! after it revokes its whole family; a family lives 30 days at most.

use super::errors::TokenError;
use super::{OAuth, TokenResponse, pkce, secrets};
use crate::store::apps::App;
use crate::store::oauth_tokens::{CodeRow, CodeUse, Family, RefreshRow};

/// Lifetime of an authorization code.
pub const CODE_TTL_MS: i64 = 60_000;
/// A refresh token used twice within this time is a concurrent refresh, not a replay.
pub const REFRESH_GRACE_MS: i64 = 5_000;
/// Absolute lifetime of a refresh token family.
pub const FAMILY_LIFETIME_MS: i64 = 30 * 24 * 3600 * 1000;

/// Whether a (first-use) code may be exchanged by this request.
pub fn check_code(
    code: &CodeRow,
    client_id: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now_ms: i64,
) -> Result<(), TokenError> {
    let bad = |m: &str| Err(TokenError::InvalidGrant(m.to_owned()));
    if code.expires_at <= now_ms {
        return bad("the authorization code has expired; start the authorization again");
    }
    if code.app_id != client_id {
        return bad("the authorization code was issued to another client");
    }
    let Some(redirect_uri) = redirect_uri else {
        return Err(TokenError::InvalidRequest(
            "redirect_uri is required and must equal the one of the authorization request".into(),
        ));
    };
    if redirect_uri != code.redirect_uri {
        return bad("redirect_uri does not match the one of the authorization request");
    }
    let Some(verifier) = verifier else {
        return Err(TokenError::InvalidRequest(
            "code_verifier is required (PKCE)".into(),
        ));
    };
    if !pkce::verify_s256(verifier, &code.code_challenge) {
        return bad("code_verifier does not match the code_challenge");
    }
    Ok(())
}

/// What to do with a presented refresh token.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Issue a new token in the family.
    Rotate,
    /// Reuse after the grace period: revoke the family.
    RevokeFamily,
    /// Reuse within the grace period whose first answer is not known here (it failed, or the
    /// server restarted since): refuse, without revoking.
    Twin,
    /// Refuse, without side effects.
    Refuse(&'static str),
}

/// Decide on a refresh token: `first` says whether this request was the one that marked it used.
pub fn check_refresh(
    row: &RefreshRow,
    first: bool,
    family: &Family,
    client_id: &str,
    now_ms: i64,
) -> RefreshDecision {
    if family.app_id != client_id {
        return RefreshDecision::Refuse("the refresh token was issued to another client");
    }
    if family.revoked_at.is_some() {
        return RefreshDecision::Refuse("the refresh token has been revoked");
    }
    if family.expires_at <= now_ms {
        return RefreshDecision::Refuse("the refresh token has expired; sign in again");
    }
    if first {
        return RefreshDecision::Rotate;
    }
    match row.used_at {
        Some(used) if now_ms - used <= REFRESH_GRACE_MS => RefreshDecision::Twin,
        _ => RefreshDecision::RevokeFamily,
    }
}

/// The scopes granted: `requested` (space-separated) must be a subset of `allowed`; absent means
/// all of `allowed`. Returned in `allowed`'s order.
pub fn narrow_scope(requested: Option<&str>, allowed: &[String]) -> Result<Vec<String>, String> {
    let Some(req) = requested.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(allowed.to_vec());
    };
    let wanted: Vec<&str> = req.split_whitespace().collect();
    if let Some(unknown) = wanted.iter().find(|w| !allowed.iter().any(|a| a == *w)) {
        return Err(format!(
            "scope {unknown:?} is not allowed for this client (allowed: {})",
            allowed.join(" ")
        ));
    }
    Ok(allowed
        .iter()
        .filter(|a| wanted.contains(&a.as_str()))
        .cloned()
        .collect())
}

/// `grant_type=authorization_code`.
pub async fn exchange_code(
    oauth: &OAuth,
    app: &App,
    code: Option<&str>,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    let code = code.ok_or_else(|| TokenError::InvalidRequest("code is required".into()))?;
    let now = oauth.now_ms();
    let code_hash = secrets::hash(code);
    let unknown = || TokenError::InvalidGrant("the authorization code is unknown".into());
    let peek = oauth
        .store()
        .code_by_hash(&code_hash)
        .await?
        .ok_or_else(unknown)?;
    // Another client presenting this code must not burn it for its rightful owner.
    if peek.app_id != app.id {
        return Err(TokenError::InvalidGrant(
            "the authorization code was issued to another client".into(),
        ));
    }
    // Nor may a wrong redirect_uri or verifier: check everything before marking it used.
    if peek.used_at.is_none() {
        check_code(&peek, &app.id, redirect_uri, verifier, now)?;
    }
    let row = match oauth.store().redeem_code(&code_hash, now).await? {
        CodeUse::First(row) => row,
        CodeUse::Reused(row) => {
            if let Some(family) = &row.family_id {
                oauth.revoke_family(family).await?;
                tracing::warn!(client.id = %row.app_id, "authorization code reused: its tokens are revoked");
            }
            return Err(TokenError::InvalidGrant(
                "the authorization code has already been used".into(),
            ));
        }
        CodeUse::Unknown => return Err(unknown()),
    };
    let user = oauth.store().user_by_id(&row.user_id).await?;
    if user.is_none_or(|u| u.disabled) {
        return Err(TokenError::InvalidGrant("the user is disabled".into()));
    }
    let family = Family {
        id: uuid::Uuid::new_v4().to_string(),
        app_id: app.id.clone(),
        user_id: row.user_id.clone(),
        scope: row.scope.clone(),
        created_at: now,
        expires_at: now + FAMILY_LIFETIME_MS,
        revoked_at: None,
    };
    oauth.store().create_family(&family).await?;
    oauth
        .store()
        .set_code_family(&code_hash, &family.id)
        .await?;
    oauth.issue(&family, now).await
}

/// `grant_type=refresh_token`.
pub async fn refresh(
    oauth: &OAuth,
    app: &App,
    token: Option<&str>,
    scope: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    let token =
        token.ok_or_else(|| TokenError::InvalidRequest("refresh_token is required".into()))?;
    let now = oauth.now_ms();
    let hash = secrets::hash(token);
    let unknown = || TokenError::InvalidGrant("the refresh token is unknown".into());
    let peek = oauth
        .store()
        .refresh_by_hash(&hash)
        .await?
        .ok_or_else(unknown)?;
    let family = oauth
        .store()
        .family(&peek.family_id)
        .await?
        .ok_or_else(unknown)?;
    // Refuse another client (or a dead family) before marking the token used, so a stolen
    // token presented elsewhere does not count as its owner's use.
    if let RefreshDecision::Refuse(why) = check_refresh(&peek, true, &family, &app.id, now) {
        return Err(TokenError::InvalidGrant(why.into()));
    }
    let slot = oauth.successor_slot(&hash, now);
    let answer = slot
        .get_or_try_init(|| rotate(oauth, app, &hash, family, scope, now))
        .await?;
    Ok(answer.clone())
}

/// Mark the refresh token used and issue its successor pair (the first request of the grace
/// period; its twins receive the same answer).
async fn rotate(
    oauth: &OAuth,
    app: &App,
    hash: &str,
    mut family: Family,
    scope: Option<&str>,
    now: i64,
) -> Result<TokenResponse, TokenError> {
    let (row, first) = oauth
        .store()
        .use_refresh(hash, now)
        .await?
        .ok_or_else(|| TokenError::InvalidGrant("the refresh token is unknown".into()))?;
    match check_refresh(&row, first, &family, &app.id, now) {
        RefreshDecision::Rotate => {}
        RefreshDecision::Refuse(why) => return Err(TokenError::InvalidGrant(why.into())),
        RefreshDecision::Twin => {
            return Err(TokenError::InvalidGrant(
                "the refresh token was used a moment ago; use the tokens that request received"
                    .into(),
            ));
        }
        RefreshDecision::RevokeFamily => {
            oauth.revoke_family(&family.id).await?;
            tracing::warn!(client.id = %app.id, "refresh token reused: its family is revoked");
            return Err(TokenError::InvalidGrant(
                "the refresh token has already been used; every token of this grant is now revoked"
                    .into(),
            ));
        }
    }
    let user = oauth.store().user_by_id(&family.user_id).await?;
    if user.is_none_or(|u| u.disabled) {
        return Err(TokenError::InvalidGrant("the user is disabled".into()));
    }
    let granted: Vec<String> = family.scope.split_whitespace().map(str::to_owned).collect();
    family.scope = narrow_scope(scope, &granted)
        .map_err(TokenError::InvalidScope)?
        .join(" ");
    oauth.issue(&family, now).await
}

#[cfg(test)]
#[path = "grants_tests.rs"]
mod tests;
