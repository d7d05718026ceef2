//! `POST /oauth/token` (RFC 6749 §3.2 with OAuth 2.1 rules), `POST /oauth/revoke` (RFC 7009) and
//! `POST /oauth/introspect` (RFC 7662). Bodies are form-encoded; errors are the §5.2 JSON;
//! every answer carries `Cache-Control: no-store`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::core;
use super::forms::{Params, client_credentials, token_params};
use crate::app::AppState;
use crate::auth::oauth::errors::TokenError;
use crate::auth::oauth::{OAuth, grants, secrets};
use crate::store::apps::App;

fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// The RFC 6749 §5.2 answer.
pub fn error_response(e: &TokenError) -> Response {
    let status = match e {
        TokenError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
        TokenError::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = json!({"error": e.code(), "error_description": e.to_string()});
    let mut res = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"jean2\""),
        );
    }
    no_store(res)
}

fn ok(body: impl serde::Serialize) -> Response {
    no_store((StatusCode::OK, axum::Json(body)).into_response())
}

fn disabled() -> Response {
    error_response(&TokenError::InvalidRequest(
        "OAuth is not enabled on this server".into(),
    ))
}

/// Parse the body and authenticate the client.
async fn client_request(
    oauth: &OAuth,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Params, App), TokenError> {
    let p = token_params(headers, body)?;
    let (id, secret) = client_credentials(headers, &p)?;
    let app = oauth
        .authenticate_client(id.as_deref(), secret.as_deref())
        .await?;
    Ok((p, app))
}

/// `POST /oauth/token`.
pub async fn token(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(oauth) = core(&app) else {
        return disabled();
    };
    let result = async {
        let (p, client) = client_request(&oauth, &headers, &body).await?;
        match p.get("grant_type") {
            Some("authorization_code") => {
                grants::exchange_code(
                    &oauth,
                    &client,
                    p.get("code"),
                    p.get("redirect_uri"),
                    p.get("code_verifier"),
                )
                .await
            }
            Some("refresh_token") => {
                grants::refresh(&oauth, &client, p.get("refresh_token"), p.get("scope")).await
            }
            Some(other) => Err(TokenError::UnsupportedGrantType(format!(
                "grant_type {other:?} is not supported; use authorization_code or refresh_token"
            ))),
            None => Err(TokenError::InvalidRequest("grant_type is required".into())),
        }
    }
    .await;
    match result {
        Ok(tokens) => ok(tokens),
        Err(e) => error_response(&e),
    }
}

/// What a presented token is, for revocation and introspection.
async fn lookup(oauth: &OAuth, token: &str, client: &App) -> Option<Value> {
    if let Some(claims) = oauth.verify_access_token(token).await {
        if claims.client_id != client.id {
            return None;
        }
        return Some(json!({
            "active": true, "token_type": "Bearer", "scope": claims.scope, "client_id": claims.client_id,
            "sub": claims.sub, "exp": claims.exp, "iat": claims.iat, "iss": claims.iss, "aud": claims.aud,
            "jti": claims.jti,
        }));
    }
    let row = oauth
        .store()
        .refresh_by_hash(&secrets::hash(token))
        .await
        .ok()??;
    let family = oauth.store().family(&row.family_id).await.ok()??;
    let live =
        row.used_at.is_none() && family.revoked_at.is_none() && family.expires_at > oauth.now_ms();
    if family.app_id != client.id || !live {
        return None;
    }
    Some(json!({
        "active": true, "token_type": "refresh_token", "scope": family.scope, "client_id": family.app_id,
        "sub": family.user_id, "exp": family.expires_at / 1000, "iss": oauth.issuer(),
        "family_id": family.id,
    }))
}

/// `POST /oauth/revoke`: always 200 for an authenticated client (RFC 7009 §2.2); a refresh
/// token takes its whole family with it.
pub async fn revoke(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(oauth) = core(&app) else {
        return disabled();
    };
    let (p, client) = match client_request(&oauth, &headers, &body).await {
        Ok(x) => x,
        Err(e) => return error_response(&e),
    };
    let Some(token) = p.get("token") else {
        return error_response(&TokenError::InvalidRequest("token is required".into()));
    };
    let result = match lookup(&oauth, token, &client).await {
        Some(info) if info["token_type"] == "Bearer" => {
            match oauth.verify_access_token(token).await {
                Some(claims) => oauth.revoke_access_token(&claims).await,
                None => Ok(()),
            }
        }
        Some(info) => match info["family_id"].as_str() {
            Some(f) => oauth.revoke_family(f).await,
            None => Ok(()),
        },
        None => Ok(()),
    };
    match result {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => error_response(&TokenError::internal(e)),
    }
}

/// `POST /oauth/introspect`: for confidential clients, about tokens issued to them.
pub async fn introspect(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(oauth) = core(&app) else {
        return disabled();
    };
    let (p, client) = match client_request(&oauth, &headers, &body).await {
        Ok(x) => x,
        Err(e) => return error_response(&e),
    };
    if !client.confidential {
        return error_response(&TokenError::InvalidClient(
            "introspection needs a confidential client's credentials".into(),
        ));
    }
    let Some(token) = p.get("token") else {
        return error_response(&TokenError::InvalidRequest("token is required".into()));
    };
    let mut info = lookup(&oauth, token, &client)
        .await
        .unwrap_or_else(|| json!({"active": false}));
    if let Some(o) = info.as_object_mut() {
        o.remove("family_id");
    }
    ok(info)
}
