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

/// One bad field: its path in the request (`persona.codice_fiscale`), the rule it breaks
/// (`ANA-2`), a stable reason (`ANA_2_CF_CHECK_CHARACTER`) and a readable description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub rule: &'static str,
    pub reason: String,
    pub description: String,
}

/// Collects every violation of a request, so the caller learns them all at once.
#[derive(Clone, Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Violations {
        Violations(Vec::new())
    }

    pub fn add(
        &mut self,
        field: impl Into<String>,
        rule: &'static str,
        reason: impl Into<String>,
        description: impl Into<String>,
    ) {
        self.0.push(FieldViolation {
            field: field.into(),
            rule,
            reason: reason.into(),
            description: description.into(),
        });
    }

    pub fn extend(&mut self, other: Violations) {
        self.0.extend(other.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldViolation> {
        self.0.iter()
    }

    /// `Ok(value)` when nothing was collected, else INVALID_ARGUMENT with all of them.
    pub fn into_result<T>(self, value: T) -> Result<T, AppError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(AppError::Invalid(self.0))
        }
    }

    pub fn check(self) -> Result<(), AppError> {
        self.into_result(())
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

fn summary(v: &[FieldViolation]) -> String {
    v.iter()
        .map(|f| format!("{}: {}", f.field, f.description))
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
        AppError::Invalid(v.0)
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
        match e {
            AppError::Invalid(v) => {
                let reason = v.first().map(|f| f.reason.clone()).unwrap_or_default();
                let mut details = info(&reason, &rules_of(&v), &[]);
                details.set_bad_request(field_violations(&v));
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
        }
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
            .map(Status::from)
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
}
