//! Who the bearer of an access token is: `GET /oauth/userinfo` (checks the token itself, being
//! outside `/api`) and `GET /api/v1/user/me` (behind the auth layer).

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::core;
use crate::app::AppState;
use crate::auth::Principal;
use crate::auth::layer::{Presented, presented};
use crate::error::AppError;
use crate::store::users::User;

fn describe(u: &User) -> Value {
    json!({"id": u.id, "email": u.email, "email_verified": u.email_verified, "created_at": u.created_at})
}

fn invalid_token() -> Response {
    let mut res = (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"error": "invalid_token", "error_description": "a valid access token is required"})),
    )
        .into_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    res
}

/// `GET /oauth/userinfo` with `Authorization: Bearer <access token>`.
pub async fn userinfo(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let Some(oauth) = core(&app) else {
        return invalid_token();
    };
    let Presented::Header(Some(token)) = presented(&headers, None) else {
        return invalid_token();
    };
    match oauth.token_user(token).await {
        Ok(Some(u)) => {
            let mut v = describe(&u);
            v["sub"] = json!(u.id);
            axum::Json(v).into_response()
        }
        Ok(None) => invalid_token(),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// `GET /api/v1/user/me`: the user of a user's access token.
pub async fn me(
    State(app): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, AppError> {
    let Some(user_id) = principal.user_id() else {
        return Err(AppError::Forbidden(
            "This endpoint describes the person behind a user's access token; this credential is not one".into(),
        ));
    };
    let user = app
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| AppError::NotFound("User not found".into()))?;
    Ok(axum::Json(describe(&user)).into_response())
}
