//! `AppError`: every failure a handler can return, with its status code and the JSON body the
//! Jean2 clients expect (`PROTOCOL.md` §2). Internal causes are logged once, never sent.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{Method, StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::store::StoreError;

/// The JSON 404 of `PROTOCOL.md` §2 for a path (or a method on it) no route serves.
pub fn endpoint_not_found(method: &Method, path: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({
            "error": "Not Found",
            "message": "The requested endpoint does not exist",
            "path": path,
            "method": method.as_str(),
        })),
    )
        .into_response()
}

/// One field that failed validation: `{"path":"name","message":"Name is required"}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400 `bad_request` with a message.
    #[error("{0}")]
    BadRequest(String),
    /// 400 `bad_request` "Validation failed" with the field list in `details`.
    #[error("Validation failed")]
    Validation(Vec<FieldError>),
    /// 403 `forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `not_found`, e.g. "Workspace not found".
    #[error("{0}")]
    NotFound(String),
    /// 409 `conflict`.
    #[error("{0}")]
    Conflict(String),
    /// 413 `payload_too_large`.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 422 `unprocessable_entity`.
    #[error("{0}")]
    Unprocessable(String),
    /// 503 while the server cannot serve the request right now.
    #[error("{0}")]
    Unavailable(String),
    /// 500: the cause is logged, the client sees a generic message.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(e.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) | AppError::Validation(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error` code string of the body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) | AppError::Validation(_) => "bad_request",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::Unprocessable(_) => "unprocessable_entity",
            AppError::Unavailable(_) => "service_unavailable",
            AppError::Internal(_) => "Internal Server Error",
        }
    }
}

/// Store failures in HTTP terms, mapped once here: a missing row is 404 naming what is missing
/// ("Session not found"), a taken key 409 with the store's message, anything else 500.
impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity) => AppError::NotFound(format!("{entity} not found")),
            StoreError::Conflict(m) => AppError::Conflict(m),
            other => AppError::internal(other),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            AppError::Validation(details) => json!({
                "error": self.code(), "message": "Validation failed", "details": details,
            }),
            AppError::Internal(cause) => {
                tracing::error!(error = %format!("{cause:#}"), "request failed");
                json!({"error": self.code(), "message": "An internal error occurred"})
            }
            other => json!({"error": other.code(), "message": other.to_string()}),
        };
        (status, axum::Json(body)).into_response()
    }
}

/// `Json<T>` whose rejections come back in our error shape (a malformed body is a 400
/// `bad_request`, never axum's plain text).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    match rejection {
        JsonRejection::JsonDataError(e) => AppError::Validation(vec![FieldError::new(
            "",
            e.body_text()
                .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
                .to_owned(),
        )]),
        JsonRejection::JsonSyntaxError(_) => {
            AppError::BadRequest("Malformed JSON in request body".into())
        }
        JsonRejection::MissingJsonContentType(_) => AppError::BadRequest(
            "Expected a JSON body with header Content-Type: application/json".into(),
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::PayloadTooLarge("Request body is too large".into())
        }
        other => AppError::BadRequest(other.body_text()),
    }
}

/// `Query<T>` whose rejections come back in our error shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(AppError::BadRequest(
                e.body_text()
                    .trim_start_matches("Failed to deserialize query string: ")
                    .to_owned(),
            )),
            Err(other) => Err(AppError::BadRequest(other.body_text())),
        }
    }
}
