//! Decoding helpers every context uses for the same fields (parse, don't validate): each bad
//! field becomes one field violation named after the rule it serves.

use occasionali_kernel::CodiceFiscaleSoggetto;

use crate::error::Violations;

fn prefix(rule: &'static str) -> String {
    rule.replace('-', "_")
}

/// A required codice fiscale of a person (16 characters) or organisation (11 digits), as
/// stored: trimmed and upper case.
pub fn cf(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        v.add(
            field,
            rule,
            format!("{}_CF_REQUIRED", prefix(rule)),
            "is required",
        );
        return None;
    }
    cf_opzionale(v, field, rule, value)
}

/// An optional codice fiscale (a filter): empty is None.
pub fn cf_opzionale(v: &mut Violations, field: &str, rule: &'static str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return None;
    }
    match CodiceFiscaleSoggetto::parse(value) {
        Ok(cf) => Some(cf.as_str().to_string()),
        Err(e) => {
            v.add(
                field,
                rule,
                format!("{}_{}", prefix(rule), e.reason()),
                e.to_string(),
            );
            None
        }
    }
}
