//! The one mapping from domain errors to `tonic::Status` with google.rpc details (GW-3):
//! INVALID_ARGUMENT carries one BadRequest field violation per bad field, every error carries
//! an ErrorInfo whose reason is a stable UPPER_SNAKE code and whose metadata names the rule.

use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Domain of every ErrorInfo we emit.
pub const ERROR_DOMAIN: &str = "occasionali.inps.it";

/// ErrorInfo reason of a call that failed because the context's database is unreachable or
/// cannot serve now (UNAVAILABLE, retryable).
pub const DATABASE_UNAVAILABLE: &str = "DATABASE_UNAVAILABLE";

/// The client-facing message of [`DATABASE_UNAVAILABLE`]; the cause goes to the log.
const DATABASE_UNAVAILABLE_MESSAGE: &str = "database unavailable, retry later";

/// How long the RetryInfo of a database outage suggests waiting (the health watcher checks the
/// database every second).
const DATABASE_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

pub use occasionali_kernel::violazioni::{FieldViolation, Violations};

impl From<Violations> for AppError {
    fn from(v: Violations) -> AppError {
        AppError::Invalid(v.into_vec())
    }
}

/// What went wrong, as the caller needs to know it.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid request: {}", summary(.0))]
    Invalid(Vec<FieldViolation>),
    #[error("{message}")]
    FailedPrecondition {
        rule: &'static str,
        reason: String,
        message: String,
        /// Extra facts for the caller (e.g. available and needed amounts).
        metadata: Vec<(String, String)>,
        /// Fields involved, when the refusal is about specific inputs.
        violations: Vec<FieldViolation>,
    },
    #[error("{message}")]
    PermissionDenied {
        rule: &'static str,
        reason: String,
        message: String,
    },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{message}")]
    AlreadyExists {
        rule: &'static str,
        reason: String,
        message: String,
    },
    #[error("{message}")]
    Aborted {
        rule: &'static str,
        reason: String,
        message: String,
    },
    #[error("{0}")]
    Unavailable(String),
    /// The context's database cannot be reached or cannot serve now ([`crate::db::is_unavailable`]).
    /// The cause goes to the log; the caller gets UNAVAILABLE with a short message.
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(String),
    /// A server fault. The message goes to the log, never to the caller.
    #[error("internal error: {0}")]
    Internal(String),
    /// Another context's answer about the caller's request (a bad field, a refused rule),
    /// passed on as it came, with its details.
    #[error("{}", .0.message())]
    Upstream(Box<Status>),
}

/// The readable list of a request's violations: the first [`MAX_VIOLATIONS`] only, as a request
/// with thousands of bad entries must not build a message as large as itself ([`bound`] says
/// how many more there are).
fn summary(v: &[FieldViolation]) -> String {
    v.iter()
        .take(MAX_VIOLATIONS)
        .map(|f| {
            format!(
                "{}: {}",
                truncate(&f.field, MAX_FIELD_CHARS),
                truncate(&f.description, MAX_DESCRIPTION_CHARS)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl AppError {
    pub fn invalid(
        field: impl Into<String>,
        rule: &'static str,
        reason: impl Into<String>,
        description: impl Into<String>,
    ) -> AppError {
        let mut v = Violations::new();
        v.add(field, rule, reason, description);
        AppError::from(v)
    }

    pub fn precondition(
        rule: &'static str,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> AppError {
        AppError::FailedPrecondition {
            rule,
            reason: reason.into(),
            message: message.into(),
            metadata: Vec::new(),
            violations: Vec::new(),
        }
    }

    pub fn denied(rule: &'static str, reason: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::PermissionDenied {
            rule,
            reason: reason.into(),
            message: message.into(),
        }
    }

    pub fn already_exists(
        rule: &'static str,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> AppError {
        AppError::AlreadyExists {
            rule,
            reason: reason.into(),
            message: message.into(),
        }
    }

    pub fn aborted(rule: &'static str, reason: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::Aborted {
            rule,
            reason: reason.into(),
            message: message.into(),
        }
    }

    pub fn internal(e: impl fmt::Display) -> AppError {
        AppError::Internal(e.to_string())
    }

    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> AppError {
        if let AppError::FailedPrecondition { metadata, .. } = &mut self {
            metadata.push((key.into(), value.into()));
        }
        self
    }

    pub fn code(&self) -> Code {
        match self {
            AppError::Invalid(_) => Code::InvalidArgument,
            AppError::FailedPrecondition { .. } => Code::FailedPrecondition,
            AppError::PermissionDenied { .. } => Code::PermissionDenied,
            AppError::Unauthenticated(_) => Code::Unauthenticated,
            AppError::NotFound(_) => Code::NotFound,
            AppError::AlreadyExists { .. } => Code::AlreadyExists,
            AppError::Aborted { .. } => Code::Aborted,
            AppError::Unavailable(_) | AppError::DatabaseUnavailable(_) => Code::Unavailable,
            AppError::Internal(_) => Code::Internal,
            AppError::Upstream(s) => s.code(),
        }
    }
}

fn field_violations(v: &[FieldViolation]) -> Vec<tonic_types::FieldViolation> {
    v.iter()
        .map(|f| {
            let mut fv =
                tonic_types::FieldViolation::new(f.field.clone(), format!("[{}] {}", f.rule, f.description));
            fv.reason = f.reason.clone();
            fv
        })
        .collect()
}

fn rules_of(v: &[FieldViolation]) -> String {
    let mut rules: Vec<&str> = v.iter().map(|f| f.rule).collect();
    rules.sort_unstable();
    rules.dedup();
    rules.join(",")
}

fn info(reason: &str, rule: &str, extra: &[(String, String)]) -> ErrorDetails {
    let mut metadata: std::collections::HashMap<String, String> = extra.iter().cloned().collect();
    if !rule.is_empty() {
        metadata.insert("rule".into(), rule.into());
    }
    ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata)
}

impl From<AppError> for Status {
    fn from(e: AppError) -> Status {
        let code = e.code();
        let status = match e {
            AppError::Invalid(v) => {
                let reason = v.first().map(|f| f.reason.clone()).unwrap_or_default();
                let listed = &v[..v.len().min(MAX_VIOLATIONS)];
                let omitted = v.len() - listed.len();
                let extra = if omitted > 0 {
                    vec![(VIOLATIONS_OMITTED.to_string(), omitted.to_string())]
                } else {
                    Vec::new()
                };
                let mut details = info(&reason, &rules_of(&v), &extra);
                details.set_bad_request(field_violations(listed));
                Status::with_error_details(code, format!("invalid request: {}", summary(&v)), details)
            }
            AppError::FailedPrecondition {
                rule,
                reason,
                message,
                metadata,
                violations,
            } => {
                let mut details = info(&reason, rule, &metadata);
                if !violations.is_empty() {
                    details.set_bad_request(field_violations(&violations));
                }
                details.add_precondition_failure_violation(reason.clone(), rule, message.clone());
                Status::with_error_details(code, format!("[{rule}] {message}"), details)
            }
            AppError::PermissionDenied {
                rule,
                reason,
                message,
            }
            | AppError::AlreadyExists {
                rule,
                reason,
                message,
            }
            | AppError::Aborted {
                rule,
                reason,
                message,
            } => {
                let details = info(&reason, rule, &[]);
                let text = if rule.is_empty() {
                    message
                } else {
                    format!("[{rule}] {message}")
                };
                Status::with_error_details(code, text, details)
            }
            AppError::Unauthenticated(m) => Status::unauthenticated(m),
            AppError::NotFound(what) => Status::not_found(format!("{what} not found")),
            AppError::Unavailable(m) => Status::unavailable(m),
            AppError::DatabaseUnavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                let mut details = info(DATABASE_UNAVAILABLE, "", &[]);
                details.set_retry_info(Some(DATABASE_RETRY_DELAY));
                Status::with_error_details(code, DATABASE_UNAVAILABLE_MESSAGE, details)
            }
            AppError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                Status::internal("internal error")
            }
            AppError::Upstream(s) => *s,
        };
        bound(status)
    }
}

/// A database error is UNAVAILABLE when the database is out of reach ([`crate::db::is_unavailable`]),
/// else a server fault (a statement or data the code did not expect).
impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> AppError {
        if crate::db::is_unavailable(&e) {
            AppError::DatabaseUnavailable(e.to_string())
        } else {
            AppError::Internal(format!("database: {e}"))
        }
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: sea_orm::TransactionError<AppError>) -> AppError {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

/// A `Status` from another context, passed on to our caller. Server faults elsewhere become
/// UNAVAILABLE here (the dependency failed, not the request), and so does a call to it that ran
/// out of time: DEADLINE_EXCEEDED, or CANCELLED, which tonic answers when a server-side deadline
/// expires.
pub fn from_upstream(context: &str, status: Status) -> AppError {
    match status.code() {
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::Cancelled
        | Code::Internal
        | Code::Unknown
        | Code::Unimplemented => {
            AppError::Unavailable(format!("{context} is unavailable: {}", status.message()))
        }
        Code::Unauthenticated => AppError::Internal(format!(
            "{context} refused our service identity: {}",
            status.message()
        )),
        // About the request itself: the caller should see it as the context said it.
        Code::InvalidArgument
        | Code::NotFound
        | Code::FailedPrecondition
        | Code::Aborted
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::OutOfRange
        | Code::ResourceExhausted => AppError::Upstream(Box::new(status)),
        _ => AppError::Internal(format!(
            "{context} answered {:?}: {}",
            status.code(),
            status.message()
        )),
    }
}

/// ErrorInfo reason of a request whose bytes are not a message of the method's type (invalid
/// protobuf, a cut or unframed body, no message at all): the caller's mistake, INVALID_ARGUMENT.
pub const MALFORMED_REQUEST: &str = "MALFORMED_REQUEST";

/// ErrorInfo reason of a request in a content type other than gRPC with protobuf: UNIMPLEMENTED.
pub const UNSUPPORTED_CONTENT_TYPE: &str = "UNSUPPORTED_CONTENT_TYPE";

/// The rule a malformed request is refused under: never INTERNAL for a user's mistake.
pub const MALFORMED_RULE: &str = "GW-3";

/// INVALID_ARGUMENT for a request that could not be decoded; `what` says what was wrong and,
/// when known, `field` the path of the field that did not decode.
pub fn malformed(what: &str, field: Option<&str>) -> Status {
    let mut details = info(MALFORMED_REQUEST, MALFORMED_RULE, &[]);
    if let Some(field) = field {
        let mut fv = tonic_types::FieldViolation::new(field, format!("[{MALFORMED_RULE}] {what}"));
        fv.reason = MALFORMED_REQUEST.into();
        details.set_bad_request(vec![fv]);
    }
    bound(Status::with_error_details(
        Code::InvalidArgument,
        format!("malformed request: {what}"),
        details,
    ))
}

/// UNIMPLEMENTED for a request sent as `content_type` (absent: `None`).
pub fn unsupported_content_type(content_type: Option<&str>) -> Status {
    let what = match content_type {
        Some(ct) => format!("content-type {ct:?} is not supported"),
        None => "a content-type is required".to_string(),
    };
    bound(Status::with_error_details(
        Code::Unimplemented,
        format!("{what}: send application/grpc (protobuf messages)"),
        info(UNSUPPORTED_CONTENT_TYPE, MALFORMED_RULE, &[]),
    ))
}

// What an error may carry. Messages and descriptions often echo the caller's input (a 10,000
// character date, a list of a million bad codes); the whole status travels in HTTP/2 trailers,
// which hyper refuses beyond 16 KiB of header list (the gateway then sees a transport error and
// answers UNAVAILABLE). Every string is cut to these lengths and the status, as sent, kept
// within STATUS_HEADER_BUDGET bytes: with grpc-status and the rest of the block, under 8 KiB,
// half of the 16 KiB limit.

/// Characters of a status message.
pub const MAX_MESSAGE_CHARS: usize = 512;
/// Characters of a field path, an ErrorInfo metadata value or any other echoed value.
pub const MAX_FIELD_CHARS: usize = 128;
/// Characters of one violation's description.
pub const MAX_DESCRIPTION_CHARS: usize = 256;
/// Characters of a reason, a metadata key, a subject or a type.
pub const MAX_REASON_CHARS: usize = 64;
/// Violations listed in a BadRequest or PreconditionFailure; the rest are counted. GW-3 wants
/// one per bad field and the largest request (a LAO communication) has fewer fields than this;
/// a repeated field of a million bad entries has more. The byte budget may list fewer.
pub const MAX_VIOLATIONS: usize = 50;
/// Entries of an ErrorInfo's metadata.
pub const MAX_METADATA: usize = 16;
/// Bytes of `grpc-message` (percent-encoded) plus `grpc-status-details-bin` (base64) as sent.
pub const STATUS_HEADER_BUDGET: usize = 7 * 1024;
/// Bytes of `grpc-message` as sent (percent-encoded: up to 12 bytes per character).
const MESSAGE_HEADER_BUDGET: usize = 1024;
/// ErrorInfo metadata key counting the violations not listed.
pub const VIOLATIONS_OMITTED: &str = "violations_omitted";

/// `s` cut to `max` characters, the last one an ellipsis when cut.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if s[at..].chars().nth(1).is_some() => format!("{}…", &s[..at]),
        _ => s.to_string(),
    }
}

/// Bytes `c` takes in `grpc-message`, which percent-encodes controls, non-ASCII and
/// ` "#%<>`?{}` (gRPC over HTTP/2; tonic's encoding set).
fn encoded_len(c: char) -> usize {
    if c.is_ascii() && !c.is_ascii_control() && !" \"#%<>`?{}".contains(c) {
        1
    } else {
        3 * c.len_utf8()
    }
}

fn message_header_len(s: &str) -> usize {
    s.chars().map(encoded_len).sum()
}

/// `s` cut to at most `max` bytes once percent-encoded.
fn truncate_encoded(s: &str, max: usize) -> String {
    if message_header_len(s) <= max {
        return s.to_string();
    }
    let room = max.saturating_sub(encoded_len('…'));
    let mut used = 0;
    let mut out = String::new();
    for c in s.chars() {
        used += encoded_len(c);
        if used > room {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

fn bound_message(m: &str) -> String {
    truncate_encoded(&truncate(m, MAX_MESSAGE_CHARS), MESSAGE_HEADER_BUDGET)
}

/// Bytes of a status's message and details as they go on the wire.
fn header_len(status: &Status) -> usize {
    message_header_len(status.message()) + status.details().len().div_ceil(3) * 4
}

/// `s` cut to `max` characters (see [`truncate`]), noting whether it was.
fn cut(s: &mut String, max: usize, changed: &mut bool) {
    if s.chars().nth(max).is_some() {
        *s = truncate(s, max);
        *changed = true;
    }
}

fn cut_list<T>(v: &mut Vec<T>, changed: &mut bool) -> usize {
    let over = v.len().saturating_sub(MAX_VIOLATIONS);
    if over > 0 {
        v.truncate(MAX_VIOLATIONS);
        *changed = true;
    }
    over
}

/// Cuts every string of `d` to its limit; returns how many violations it left out.
fn bound_detail(d: &mut tonic_types::ErrorDetail, changed: &mut bool) -> usize {
    use tonic_types::ErrorDetail;
    let c = changed;
    match d {
        ErrorDetail::BadRequest(b) => {
            let over = cut_list(&mut b.field_violations, c);
            for v in &mut b.field_violations {
                cut(&mut v.field, MAX_FIELD_CHARS, c);
                cut(&mut v.description, MAX_DESCRIPTION_CHARS, c);
                cut(&mut v.reason, MAX_REASON_CHARS, c);
                if let Some(l) = &mut v.localized_message {
                    cut(&mut l.message, MAX_DESCRIPTION_CHARS, c);
                    cut(&mut l.locale, MAX_REASON_CHARS, c);
                }
            }
            over
        }
        ErrorDetail::PreconditionFailure(p) => {
            let over = cut_list(&mut p.violations, c);
            for v in &mut p.violations {
                cut(&mut v.r#type, MAX_REASON_CHARS, c);
                cut(&mut v.subject, MAX_FIELD_CHARS, c);
                cut(&mut v.description, MAX_DESCRIPTION_CHARS, c);
            }
            over
        }
        ErrorDetail::QuotaFailure(q) => {
            cut_list(&mut q.violations, c);
            for v in &mut q.violations {
                cut(&mut v.subject, MAX_FIELD_CHARS, c);
                cut(&mut v.description, MAX_DESCRIPTION_CHARS, c);
            }
            0
        }
        ErrorDetail::ErrorInfo(i) => {
            cut(&mut i.reason, MAX_REASON_CHARS, c);
            cut(&mut i.domain, MAX_REASON_CHARS, c);
            let over = i.metadata.len() > MAX_METADATA
                || i.metadata.iter().any(|(k, v)| {
                    k.chars().nth(MAX_REASON_CHARS).is_some() || v.chars().nth(MAX_FIELD_CHARS).is_some()
                });
            if over {
                i.metadata = bound_metadata(std::mem::take(&mut i.metadata));
                *c = true;
            }
            0
        }
        ErrorDetail::DebugInfo(x) => {
            cut_list(&mut x.stack_entries, c);
            for e in &mut x.stack_entries {
                cut(e, MAX_FIELD_CHARS, c);
            }
            cut(&mut x.detail, MAX_DESCRIPTION_CHARS, c);
            0
        }
        ErrorDetail::RequestInfo(x) => {
            cut(&mut x.request_id, MAX_FIELD_CHARS, c);
            cut(&mut x.serving_data, MAX_FIELD_CHARS, c);
            0
        }
        ErrorDetail::ResourceInfo(x) => {
            cut(&mut x.resource_type, MAX_REASON_CHARS, c);
            cut(&mut x.resource_name, MAX_FIELD_CHARS, c);
            cut(&mut x.owner, MAX_FIELD_CHARS, c);
            cut(&mut x.description, MAX_DESCRIPTION_CHARS, c);
            0
        }
        ErrorDetail::Help(x) => {
            cut_list(&mut x.links, c);
            for l in &mut x.links {
                cut(&mut l.description, MAX_DESCRIPTION_CHARS, c);
                cut(&mut l.url, MAX_DESCRIPTION_CHARS, c);
            }
            0
        }
        ErrorDetail::LocalizedMessage(x) => {
            cut(&mut x.locale, MAX_REASON_CHARS, c);
            cut(&mut x.message, MAX_MESSAGE_CHARS, c);
            0
        }
        // RetryInfo is a duration; a kind added later is left to the budget.
        _ => 0,
    }
}

/// The google.rpc details tonic-types knows (the others are a context's own typed payloads,
/// e.g. prestazioni's StatoLimite, kept as they are).
const STANDARD_DETAILS: [&str; 10] = [
    "type.googleapis.com/google.rpc.RetryInfo",
    "type.googleapis.com/google.rpc.DebugInfo",
    "type.googleapis.com/google.rpc.QuotaFailure",
    "type.googleapis.com/google.rpc.ErrorInfo",
    "type.googleapis.com/google.rpc.PreconditionFailure",
    "type.googleapis.com/google.rpc.BadRequest",
    "type.googleapis.com/google.rpc.RequestInfo",
    "type.googleapis.com/google.rpc.ResourceInfo",
    "type.googleapis.com/google.rpc.Help",
    "type.googleapis.com/google.rpc.LocalizedMessage",
];

/// `status` with every string cut to its limit, at most [`MAX_VIOLATIONS`] violations per
/// detail (ErrorInfo counts the rest under `violations_omitted`, the message says so), and the
/// whole within [`STATUS_HEADER_BUDGET`]: violations, then metadata, then the other details
/// give way, never the code, the ErrorInfo reason or the rule. A status already within every
/// limit is returned as it is, byte for byte (a replayed refusal stays identical).
pub fn bound(status: Status) -> Status {
    use prost::Message as _;
    use tonic_types::ErrorDetail;
    if status.code() == Code::Ok {
        return status;
    }
    let message_fits = status.message().chars().nth(MAX_MESSAGE_CHARS).is_none()
        && message_header_len(status.message()) <= MESSAGE_HEADER_BUDGET;
    if status.details().is_empty() && message_fits {
        return status;
    }
    let code = status.code();
    let metadata = status.metadata().clone();
    // Details that do not decode are dropped: they could only be cut at random.
    let rpc = tonic_types::pb::Status::decode(status.details()).unwrap_or_default();
    let (standard, mut custom): (Vec<_>, Vec<_>) = rpc
        .details
        .into_iter()
        .partition(|a| STANDARD_DETAILS.contains(&a.type_url.as_str()));
    let standard = tonic_types::pb::Status {
        code: code as i32,
        message: String::new(),
        details: standard,
    };
    let mut details = Status::with_details(code, "", standard.encode_to_vec().into()).get_error_details_vec();
    let mut changed = false;
    // Violations already left out where the status was built (or bounded before).
    let mut omitted: usize = details
        .iter()
        .find_map(|d| match d {
            ErrorDetail::ErrorInfo(i) => i.metadata.get(VIOLATIONS_OMITTED)?.parse().ok(),
            _ => None,
        })
        .unwrap_or(0);
    for d in &mut details {
        omitted += bound_detail(d, &mut changed);
    }
    if !changed && message_fits && header_len(&status) <= STATUS_HEADER_BUDGET {
        return status;
    }
    let message = bound_message(without_omitted_note(status.message()));
    let build = |details: &[ErrorDetail], custom: &[prost_types::Any], omitted: usize| {
        let mut details = details.to_vec();
        let mut message = message.clone();
        if omitted > 0 {
            for d in &mut details {
                if let ErrorDetail::ErrorInfo(i) = d {
                    i.metadata.insert(VIOLATIONS_OMITTED.into(), omitted.to_string());
                }
            }
            message = format!("{message}{}", omitted_note(omitted));
        }
        let built = Status::with_error_details_vec(code, message.clone(), details);
        let mut rpc = tonic_types::pb::Status::decode(built.details()).unwrap_or_default();
        rpc.details.extend(custom.iter().cloned());
        Status::with_details_and_metadata(code, message, rpc.encode_to_vec().into(), metadata.clone())
    };
    let mut bounded = build(&details, &custom, omitted);
    // Over budget (long non-ASCII texts, many violations): drop listed violations from the end,
    // then ErrorInfo metadata other than the rule, then every detail but ErrorInfo and RetryInfo.
    while header_len(&bounded) > STATUS_HEADER_BUDGET {
        let dropped_violation = details.iter_mut().rev().any(|d| match d {
            ErrorDetail::BadRequest(b) => b.field_violations.pop().is_some(),
            ErrorDetail::PreconditionFailure(p) => p.violations.pop().is_some(),
            _ => false,
        });
        if dropped_violation {
            omitted += 1;
        } else {
            let mut trimmed = false;
            for d in &mut details {
                if let ErrorDetail::ErrorInfo(i) = d
                    && i.metadata.keys().any(|k| k != "rule")
                {
                    i.metadata.retain(|k, _| k == "rule");
                    trimmed = true;
                }
            }
            if !trimmed {
                let before = details.len() + custom.len();
                custom.clear();
                details.retain(|d| matches!(d, ErrorDetail::ErrorInfo(_) | ErrorDetail::RetryInfo(_)));
                if details.len() == before {
                    break;
                }
            }
        }
        bounded = build(&details, &custom, omitted);
    }
    bounded
}

fn omitted_note(n: usize) -> String {
    format!(" ({n} more violations not listed)")
}

/// `message` without the note [`bound`] adds, so bounding twice (a status passed on from
/// another context) says it once.
fn without_omitted_note(message: &str) -> &str {
    if let Some(at) = message.rfind(" (")
        && let Some(n) = message[at + 2..].strip_suffix(" more violations not listed)")
        && n.parse::<usize>().is_ok()
    {
        return &message[..at];
    }
    message
}

fn bound_metadata(
    metadata: std::collections::HashMap<String, String>,
) -> std::collections::HashMap<String, String> {
    let mut entries: Vec<(String, String)> = metadata.into_iter().collect();
    // The rule first, then a stable order, so what is kept does not depend on hashing.
    entries.sort_by(|a, b| (a.0 != "rule", &a.0).cmp(&(b.0 != "rule", &b.0)));
    entries
        .into_iter()
        .take(MAX_METADATA)
        .map(|(k, v)| (truncate(&k, MAX_REASON_CHARS), truncate(&v, MAX_FIELD_CHARS)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_every_field_and_the_rules() {
        let mut v = Violations::new();
        v.add(
            "persona.codice_fiscale",
            "ANA-2",
            "ANA_2_CF_CHECK_CHARACTER",
            "check character",
        );
        v.add(
            "metodo_pagamento.iban",
            "ANA-4",
            "ANA_4_IBAN_CHECKSUM",
            "bad iban",
        );
        let status: Status = v
            .check()
            .err()
            .map(|v| Status::from(AppError::from(v)))
            .unwrap_or_else(|| Status::ok(""));
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let br = details
            .bad_request()
            .map(|b| b.field_violations.clone())
            .unwrap_or_default();
        assert_eq!(br.len(), 2);
        assert_eq!(br[1].field, "metodo_pagamento.iban");
        assert!(br[1].description.starts_with("[ANA-4]"));
        let info = details.error_info().cloned();
        assert_eq!(
            info.map(|i| i.metadata.get("rule").cloned()),
            Some(Some("ANA-2,ANA-4".into()))
        );
    }

    #[test]
    fn internal_hides_the_cause() {
        let status = Status::from(AppError::internal("connection refused to 10.0.0.1"));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn a_database_outage_is_unavailable_with_a_short_message() {
        let refused = sea_orm::sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused to 10.0.0.1:5432",
        ));
        let e = AppError::from(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(
            std::sync::Arc::new(refused),
        )));
        let status = Status::from(e);
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(status.message(), "database unavailable, retry later");
        let details = status.get_error_details();
        assert_eq!(
            details.error_info().map(|i| i.reason.clone()).as_deref(),
            Some(DATABASE_UNAVAILABLE)
        );
        assert!(details.retry_info().is_some());
        let pool = AppError::from(sea_orm::DbErr::ConnectionAcquire(
            sea_orm::ConnAcquireErr::Timeout,
        ));
        assert_eq!(pool.code(), Code::Unavailable);
        // A statement the code did not expect stays a server fault.
        let bad = AppError::from(sea_orm::DbErr::Custom("no such column".into()));
        assert_eq!(bad.code(), Code::Internal);
    }

    #[test]
    fn an_upstream_out_of_time_is_unavailable() {
        for status in [
            Status::deadline_exceeded("deadline"),
            Status::cancelled("Timeout expired"),
            Status::unavailable("database unavailable, retry later"),
        ] {
            let e = from_upstream("portafoglio", status);
            assert_eq!(e.code(), Code::Unavailable, "{e}");
        }
        let refused = from_upstream("portafoglio", Status::failed_precondition("no funds"));
        assert_eq!(refused.code(), Code::FailedPrecondition);
    }

    #[test]
    fn precondition_carries_rule_and_metadata() {
        let e = AppError::precondition("POR-4", "POR_4_INSUFFICIENT_BALANCE", "not enough")
            .with_metadata("available", "10.00");
        let status = Status::from(e);
        assert_eq!(status.code(), Code::FailedPrecondition);
        let info = status.get_error_details().error_info().cloned();
        let info = info.unwrap_or_else(|| panic!("no error info"));
        assert_eq!(info.reason, "POR_4_INSUFFICIENT_BALANCE");
        assert_eq!(info.metadata.get("available").map(String::as_str), Some("10.00"));
    }
    /// Bytes the status takes in HTTP/2 trailers as hyper counts them (name + value + 32).
    fn trailer_bytes(status: &Status) -> usize {
        let mut headers = http::HeaderMap::new();
        let _ = status.add_header(&mut headers);
        headers.iter().map(|(k, v)| k.as_str().len() + v.len() + 32).sum()
    }

    fn listed(status: &Status) -> Vec<tonic_types::FieldViolation> {
        status
            .get_error_details()
            .bad_request()
            .map(|b| b.field_violations.clone())
            .unwrap_or_default()
    }

    #[test]
    fn echoed_input_is_cut_and_the_status_fits_in_trailers() {
        for size in [10_000, 1_000_000] {
            for filler in ["9", "è", "😀", "%"] {
                let input = filler.repeat(size);
                let mut v = Violations::new();
                v.add(
                    "data_inizio".to_string() + &input,
                    "DEL-1",
                    "DEL_1_DATE".to_string() + &input,
                    format!("{input} is not a date (YYYY-MM-DD)"),
                );
                let status = Status::from(
                    v.check()
                        .err()
                        .map(AppError::from)
                        .unwrap_or(AppError::NotFound(String::new())),
                );
                assert_eq!(status.code(), Code::InvalidArgument);
                let bytes = trailer_bytes(&status);
                assert!(bytes <= 8 * 1024, "{size} × {filler}: {bytes} bytes");
                let fv = listed(&status);
                assert_eq!(fv.len(), 1);
                assert!(fv[0].description.chars().count() <= MAX_DESCRIPTION_CHARS);
                assert!(fv[0].description.ends_with('…'));
                assert!(status.message().chars().count() <= MAX_MESSAGE_CHARS + 40);
                let precondition = Status::from(
                    AppError::precondition("POR-4", "POR_4_INSUFFICIENT_BALANCE", input.clone())
                        .with_metadata("available", input.clone()),
                );
                assert!(trailer_bytes(&precondition) <= 8 * 1024);
                let info = precondition.get_error_details().error_info().cloned();
                assert_eq!(
                    info.as_ref()
                        .and_then(|i| i.metadata.get("rule"))
                        .map(String::as_str),
                    Some("POR-4")
                );
            }
        }
    }

    #[test]
    fn a_thousand_violations_list_what_fits_and_count_the_rest() {
        let mut v = Violations::new();
        for i in 0..1000 {
            v.add(format!("stati[{i}]"), "PRE-1", "PRE_1_STATO", "è".repeat(300));
        }
        let status = Status::from(AppError::from(v));
        assert!(trailer_bytes(&status) <= 8 * 1024, "{}", trailer_bytes(&status));
        let fv = listed(&status);
        assert!(!fv.is_empty() && fv.len() <= MAX_VIOLATIONS, "{}", fv.len());
        assert_eq!(fv[0].field, "stati[0]");
        let info = status.get_error_details().error_info().cloned();
        let omitted: usize = info
            .and_then(|i| i.metadata.get(VIOLATIONS_OMITTED).and_then(|n| n.parse().ok()))
            .unwrap_or_default();
        assert_eq!(omitted + fv.len(), 1000);
        assert!(
            status.message().ends_with(&omitted_note(omitted)),
            "{}",
            status.message()
        );
        // Passed on by another context (AppError::Upstream), it says so once.
        let again = Status::from(AppError::Upstream(Box::new(status.clone())));
        assert_eq!(again.message(), status.message());
        assert_eq!(listed(&again).len(), fv.len());
    }

    #[test]
    fn a_context_s_own_details_survive_and_a_bounded_status_is_left_byte_for_byte() {
        use prost::Message as _;
        let own = prost_types::Any {
            type_url: "type.googleapis.com/occasionali.prestazioni.v1.StatoLimite".into(),
            value: vec![8, 1],
        };
        let with_own = |description: &str| {
            let mut details = info(
                "PRE_8_LIMIT",
                "PRE-8",
                &[("a".into(), "1".into()), ("b".into(), "2".into())],
            );
            details.add_precondition_failure_violation("PRE_8_LIMIT", "PRE-8", description);
            let built = Status::with_error_details(Code::FailedPrecondition, "[PRE-8] over", details);
            let mut rpc = tonic_types::pb::Status::decode(built.details()).unwrap_or_default();
            rpc.details.push(own.clone());
            Status::with_details(
                Code::FailedPrecondition,
                "[PRE-8] over",
                rpc.encode_to_vec().into(),
            )
        };
        let small = with_own("over the limit");
        assert_eq!(bound(small.clone()).details(), small.details());
        let long = bound(with_own(&"x".repeat(10_000)));
        let rpc = tonic_types::pb::Status::decode(long.details()).unwrap_or_default();
        assert!(rpc.details.contains(&own), "{rpc:?}");
        let pf = long.get_error_details().precondition_failure().cloned();
        let description = pf
            .map(|p| p.violations[0].description.clone())
            .unwrap_or_default();
        assert_eq!(description.chars().count(), MAX_DESCRIPTION_CHARS);
    }

    #[test]
    fn a_small_status_is_left_as_it_is() {
        let status = Status::not_found("prestazione not found");
        let bounded = bound(status.clone());
        assert_eq!(bounded.message(), status.message());
        assert!(bounded.details().is_empty());
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
    }
}
