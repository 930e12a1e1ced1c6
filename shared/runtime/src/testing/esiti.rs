//! What a call answered, as the suites check it: success or the expected code, the rule and
//! reason of its ErrorInfo, the fields of its BadRequest.

use std::collections::HashMap;

use tonic::{Code, Response, Status};
use tonic_types::StatusExt;

/// The message of a successful call; a failure panics with its code, message and fields.
#[track_caller]
pub fn ok<T>(r: Result<Response<T>, Status>) -> T {
    match r {
        Ok(r) => r.into_inner(),
        Err(s) => panic!(
            "expected success, got {:?}: {} {:?}",
            s.code(),
            s.message(),
            violazioni(&s)
        ),
    }
}

/// The status of a failed call, checked to carry `code`.
#[track_caller]
pub fn err<T: std::fmt::Debug>(r: Result<Response<T>, Status>, code: Code) -> Status {
    match r {
        Ok(r) => panic!("expected {code:?}, got success: {:?}", r.into_inner()),
        Err(s) => {
            assert_eq!(
                s.code(),
                code,
                "unexpected status: {} {:?}",
                s.message(),
                violazioni(&s)
            );
            s
        }
    }
}

/// INVALID_ARGUMENT naming exactly `expected` fields (in any order) and carrying `rule`.
#[track_caller]
pub fn invalid<T: std::fmt::Debug>(r: Result<Response<T>, Status>, expected: &[&str], rule: &str) -> Status {
    let s = err(r, Code::InvalidArgument);
    let mut got = fields(&s);
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|f| (*f).to_string()).collect();
    want.sort();
    assert_eq!(got, want, "field violations of: {}", s.message());
    let rules = rule_of(&s);
    assert!(
        rules.split(',').any(|r| r == rule),
        "rule {rule} not in ErrorInfo rule {rules:?}"
    );
    s
}

/// The status of a refusal with `code`, checked to carry `rule` and `reason`.
#[track_caller]
pub fn refused<T: std::fmt::Debug>(
    r: Result<Response<T>, Status>,
    code: Code,
    rule: &str,
    reason: &str,
) -> Status {
    let s = err(r, code);
    assert_eq!(rule_of(&s), rule, "{}", s.message());
    assert_eq!(reason_of(&s), reason, "{}", s.message());
    s
}

/// The field paths of an error's BadRequest violations.
pub fn fields(s: &Status) -> Vec<String> {
    violazioni(s).into_iter().map(|(f, _)| f).collect()
}

/// (field, reason) of every BadRequest violation.
pub fn violazioni(s: &Status) -> Vec<(String, String)> {
    s.get_error_details()
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|f| (f.field.clone(), f.reason.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// (field, description) of every BadRequest violation (descriptions open with the rule).
pub fn descrizioni(s: &Status) -> Vec<(String, String)> {
    s.get_error_details()
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|f| (f.field.clone(), f.description.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The reason of the violation on `field`.
pub fn reason_of_field(s: &Status, field: &str) -> String {
    violazioni(s)
        .into_iter()
        .find(|(f, _)| f == field)
        .map(|(_, r)| r)
        .unwrap_or_default()
}

/// The rule IDs in an error's ErrorInfo (`metadata.rule`).
pub fn rule_of(s: &Status) -> String {
    s.get_error_details()
        .error_info()
        .and_then(|i| i.metadata.get("rule").cloned())
        .unwrap_or_default()
}

/// The value of `key` in an error's ErrorInfo metadata (empty when absent): what a refusal
/// names besides its rule, e.g. the head of a chain it was not made on.
pub fn metadata_of(s: &Status, key: &str) -> String {
    s.get_error_details()
        .error_info()
        .and_then(|i| i.metadata.get(key).cloned())
        .unwrap_or_default()
}

/// The ErrorInfo's reason.
pub fn reason_of(s: &Status) -> String {
    s.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

/// The code, ErrorInfo reason and metadata, and the BadRequest descriptions of an error.
pub fn errore(s: &Status) -> (Code, String, HashMap<String, String>, Vec<String>) {
    let d = s.get_error_details();
    let (reason, md) = d
        .error_info()
        .map(|i| (i.reason.clone(), i.metadata.clone()))
        .unwrap_or_default();
    let descrizioni = d
        .bad_request()
        .map(|b| b.field_violations.iter().map(|f| f.description.clone()).collect())
        .unwrap_or_default();
    (s.code(), reason, md, descrizioni)
}
