//! What is wrong with a request, field by field: the vocabulary of every validation, pure so
//! that the domains can speak it; the runtime maps it to INVALID_ARGUMENT with a BadRequest.

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

    /// `Ok(value)` when nothing was collected, else all of them (INVALID_ARGUMENT at the edge).
    pub fn into_result<T>(self, value: T) -> Result<T, Violations> {
        if self.0.is_empty() { Ok(value) } else { Err(self) }
    }

    pub fn check(self) -> Result<(), Violations> {
        self.into_result(())
    }

    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }
}
