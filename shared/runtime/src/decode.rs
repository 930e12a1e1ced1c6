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

/// ErrorInfo reason of a repeated field holding more values than it may (GW-3).
pub const TOO_MANY_VALUES: &str = "REQUEST_TOO_MANY_VALUES";

/// The rule a request's shape answers to: errors are precise, a user's mistake is never INTERNAL
/// and no request may make a service work or allocate beyond what its purpose needs.
const RULE_SHAPE: &str = "GW-3";

/// A repeated field of at most `max` values. More is one field violation (reason
/// [`TOO_MANY_VALUES`], naming the cap) and none of the values is looked at, so the work a
/// request causes never grows with a list longer than its purpose allows.
pub fn al_massimo<'a, T>(v: &mut Violations, field: &str, values: &'a [T], max: usize) -> &'a [T] {
    if values.len() <= max {
        return values;
    }
    v.add(
        field,
        RULE_SHAPE,
        TOO_MANY_VALUES,
        format!("at most {max} values, got {}", values.len()),
    );
    &[]
}

/// An enum filter (`repeated SomeEnum`): at most as many values as the enum has (a longer list
/// can select nothing more), each decoded by `decodifica` (which records its own violation and
/// answers None for a value it does not know), duplicates dropped, first occurrence kept.
pub fn filtro_enum<T: PartialEq>(
    v: &mut Violations,
    field: &str,
    values: &[i32],
    valori_enum: usize,
    mut decodifica: impl FnMut(&mut Violations, usize, i32) -> Option<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    for (i, n) in al_massimo(v, field, values, valori_enum).iter().enumerate() {
        if let Some(t) = decodifica(v, i, *n)
            && !out.contains(&t)
        {
            out.push(t);
        }
    }
    out
}

/// Distinct values of a repeated field of at most `max` values, first occurrence kept.
pub fn distinti<T: PartialEq + Clone>(v: &mut Violations, field: &str, values: &[T], max: usize) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for t in al_massimo(v, field, values, max) {
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_field_over_its_cap_is_one_violation_naming_the_cap() {
        let mut v = Violations::new();
        let values = vec![1; 1_900_000];
        assert!(al_massimo(&mut v, "stati", &values, 6).is_empty());
        let f: Vec<_> = v.iter().collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].field, "stati");
        assert_eq!(f[0].rule, "GW-3");
        assert_eq!(f[0].reason, TOO_MANY_VALUES);
        assert_eq!(f[0].description, "at most 6 values, got 1900000");
        let mut v = Violations::new();
        assert_eq!(al_massimo(&mut v, "stati", &values[..6], 6).len(), 6);
        assert!(v.is_empty());
    }

    #[test]
    fn enum_filters_are_capped_decoded_and_deduplicated() {
        let decodifica = |v: &mut Violations, i: usize, n: i32| {
            if n > 0 && n < 4 {
                Some(n)
            } else {
                v.add(format!("stati[{i}]"), "X-1", "X_1_UNKNOWN", "unknown");
                None
            }
        };
        let mut v = Violations::new();
        assert_eq!(
            filtro_enum(&mut v, "stati", &[2, 1, 2], 3, decodifica),
            vec![2, 1]
        );
        assert!(v.is_empty());
        assert_eq!(filtro_enum(&mut v, "stati", &[2, 9], 3, decodifica), vec![2]);
        assert_eq!(v.iter().next().map(|f| f.field.as_str()), Some("stati[1]"));
        let mut v = Violations::new();
        assert!(filtro_enum(&mut v, "stati", &[1, 1, 1, 1], 3, decodifica).is_empty());
        assert_eq!(v.iter().next().map(|f| f.reason.as_str()), Some(TOO_MANY_VALUES));
    }

    #[test]
    fn distinct_values_keep_their_first_order() {
        let mut v = Violations::new();
        assert_eq!(distinti(&mut v, "ids", &[3, 1, 3, 2], 4), vec![3, 1, 2]);
        assert!(distinti(&mut v, "ids", &[3, 1, 3, 2, 5], 4).is_empty());
        assert_eq!(v.len(), 1);
    }
}
