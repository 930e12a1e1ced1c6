//! Authentication of the client's bearer token and minting of the internal identity.

use http::HeaderMap;
use occasionali_runtime::identity::{ClientTokens, Identity, InternalTokens, ON_BEHALF_OF_HEADER, Principal};
use tonic::Status;

/// The caller of a request, from `authorization: Bearer <jwt>`.
pub fn authenticate(tokens: &ClientTokens, headers: &HeaderMap) -> Result<Principal, Status> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or_else(|| Status::unauthenticated("missing bearer token (authorization: Bearer <token>)"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| Status::unauthenticated("authorization header is not a bearer token"))?;
    tokens
        .verify(token)
        .map_err(|e| Status::unauthenticated(e.to_string()))
}

/// The verified identity the backends will see. Acting on behalf of someone (DEL-2) needs the
/// deleghe check, which this gateway does not perform yet: such calls are refused rather than
/// passed on unchecked.
pub fn identity(principal: Principal, headers: &HeaderMap) -> Result<Identity, Status> {
    if headers.contains_key(ON_BEHALF_OF_HEADER) {
        return Err(Status::failed_precondition(
            "[DEL-2] acting on behalf of another subject requires the deleghe check, not available in this release",
        ));
    }
    Ok(Identity::new(principal))
}

pub fn internal_token(tokens: &InternalTokens, identity: &Identity) -> Result<http::HeaderValue, Status> {
    let token = tokens
        .mint(identity)
        .map_err(|e| Status::internal(e.to_string()))?;
    http::HeaderValue::from_str(&token).map_err(|e| Status::internal(e.to_string()))
}
