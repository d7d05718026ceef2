//! The token endpoint's errors (RFC 6749 §5.2), independent of HTTP: the handler turns each into
//! its status, JSON body and, for `invalid_client`, `WWW-Authenticate`.

/// An error of the token, revocation or introspection endpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidClient(String),
    #[error("{0}")]
    InvalidGrant(String),
    #[error("{0}")]
    UnauthorizedClient(String),
    #[error("{0}")]
    UnsupportedGrantType(String),
    #[error("{0}")]
    InvalidScope(String),
    #[error("{0}")]
    ServerError(String),
}

impl TokenError {
    /// The RFC 6749 `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::InvalidClient(_) => "invalid_client",
            TokenError::InvalidGrant(_) => "invalid_grant",
            TokenError::UnauthorizedClient(_) => "unauthorized_client",
            TokenError::UnsupportedGrantType(_) => "unsupported_grant_type",
            TokenError::InvalidScope(_) => "invalid_scope",
            TokenError::ServerError(_) => "server_error",
        }
    }

    /// A store failure: logged by the caller, the client sees `server_error`.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "oauth: internal error");
        TokenError::ServerError("an internal error occurred".into())
    }
}

impl From<crate::store::StoreError> for TokenError {
    fn from(e: crate::store::StoreError) -> Self {
        TokenError::internal(e)
    }
}
