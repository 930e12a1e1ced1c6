//! Money. Amounts are `Decimal` with exactly two decimals, never floats (STACK.md: no float path
//! for money; STYLE habit 5), with checked arithmetic.
//!
//! Invariant: the amount in cents fits an `i64`, so [`Euro::cents`] is total.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EuroError {
    #[error("not a decimal amount (e.g. 12.40)")]
    Format,
    #[error("more than two decimals")]
    TooManyDecimals,
    #[error("amount must not be negative")]
    Negative,
    #[error("amount is too large")]
    Overflow,
}

impl EuroError {
    /// Stable code for `ErrorInfo.reason` (AIP-193).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Format => "EURO_FORMAT",
            Self::TooManyDecimals => "EURO_TOO_MANY_DECIMALS",
            Self::Negative => "EURO_NEGATIVE",
            Self::Overflow => "EURO_OVERFLOW",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Euro(Decimal);

impl Euro {
    pub const ZERO: Euro = Euro(Decimal::from_parts(0, 0, 0, false, 2));

    /// Accepts `12`, `12.4`, `12.41`, `-3.00` (surrounding whitespace ignored); refuses more
    /// than two decimals, exponents, signs other than a leading `-`, commas and empty input.
    pub fn parse(s: &str) -> Result<Euro, EuroError> {
        let s = s.trim();
        let (negative, unsigned) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = match unsigned.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (unsigned, None),
        };
        let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
            return Err(EuroError::Format);
        }
        let frac = frac.unwrap_or("");
        if frac.len() > 2 {
            return Err(EuroError::TooManyDecimals);
        }
        let mut cents: i128 = 0;
        for b in int
            .bytes()
            .chain(frac.bytes())
            .chain("00".bytes().take(2 - frac.len()))
        {
            cents = cents
                .checked_mul(10)
                .and_then(|c| c.checked_add(i128::from(b - b'0')))
                .ok_or(EuroError::Overflow)?;
        }
        let cents = i64::try_from(if negative { -cents } else { cents }).map_err(|_| EuroError::Overflow)?;
        Ok(Euro::from_cents(cents))
    }

    /// Like [`Euro::parse`], refusing negative amounts (compensations, contributions).
    pub fn parse_non_negative(s: &str) -> Result<Euro, EuroError> {
        let e = Euro::parse(s)?;
        if e.is_negative() {
            return Err(EuroError::Negative);
        }
        Ok(e)
    }

    /// An amount already held as a `Decimal` with at most two decimals.
    pub fn from_decimal(d: Decimal) -> Result<Euro, EuroError> {
        let normal = d.normalize();
        if normal.scale() > 2 {
            return Err(EuroError::TooManyDecimals);
        }
        Euro::checked_new(normal).ok_or(EuroError::Overflow)
    }

    pub fn from_cents(cents: i64) -> Euro {
        Euro(Decimal::new(cents, 2))
    }

    pub fn cents(&self) -> i64 {
        // The invariant keeps the mantissa (at scale 2) within i64.
        i64::try_from(self.0.mantissa()).unwrap_or(if self.0.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        })
    }

    pub fn amount(&self) -> Decimal {
        self.0
    }

    pub fn is_negative(&self) -> bool {
        self.0 < Decimal::ZERO
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    pub fn is_positive(&self) -> bool {
        self.0 > Decimal::ZERO
    }

    pub fn checked_add(self, other: Euro) -> Option<Euro> {
        self.cents().checked_add(other.cents()).map(Euro::from_cents)
    }

    pub fn checked_sub(self, other: Euro) -> Option<Euro> {
        self.cents().checked_sub(other.cents()).map(Euro::from_cents)
    }

    pub fn checked_mul_int(self, n: i64) -> Option<Euro> {
        self.cents().checked_mul(n).map(Euro::from_cents)
    }

    pub fn checked_neg(self) -> Option<Euro> {
        self.cents().checked_neg().map(Euro::from_cents)
    }

    /// Sum without overflow; `None` if any partial sum overflows.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Euro>) -> Option<Euro> {
        amounts
            .into_iter()
            .try_fold(Euro::ZERO, |acc, e| acc.checked_add(e))
    }

    /// `self × rate` rounded to the cent, half away from zero (9.00 × 0.035 = 0.315 → 0.32).
    /// `None` only if the result does not fit; with `|rate| ≤ 1` it always fits.
    pub fn checked_percent_half_up(&self, rate: Decimal) -> Option<Euro> {
        let product = self.0.checked_mul(rate)?;
        Euro::checked_new(product.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
    }

    /// [`Euro::checked_percent_half_up`] for rates (contribution percentages) in `[-1, 1]`,
    /// which cannot overflow; an out-of-range result saturates instead of panicking.
    pub fn percent_half_up(&self, rate: Decimal) -> Euro {
        self.checked_percent_half_up(rate).unwrap_or_else(|| {
            if self.is_negative() != rate.is_sign_negative() {
                Euro::from_cents(i64::MIN)
            } else {
                Euro::from_cents(i64::MAX)
            }
        })
    }

    /// Rescales to 2 decimals and checks that the cents fit an i64.
    fn checked_new(d: Decimal) -> Option<Euro> {
        let mut d = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        d.rescale(2);
        if d.scale() != 2 {
            return None;
        }
        i64::try_from(d.mantissa()).ok().map(Euro::from_cents)
    }
}

impl Default for Euro {
    /// `0.00`: a derived default would be `0` with scale 0 and print without decimals.
    fn default() -> Self {
        Euro::ZERO
    }
}

impl std::str::FromStr for Euro {
    type Err = EuroError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Euro::parse(s)
    }
}

/// Always two decimals, `.` separator, no grouping: `12.40`, `-3.00`.
impl fmt::Display for Euro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Euro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Euro({})", self.0)
    }
}

/// As a string (`"12.40"`): JSON numbers are floats for most consumers.
impl serde::Serialize for Euro {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Euro {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Euro::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn e(s: &str) -> Euro {
        Euro::parse(s).unwrap()
    }

    #[test]
    fn parse_accepts_up_to_two_decimals() {
        assert_eq!(e("12").to_string(), "12.00");
        assert_eq!(e("12.4").to_string(), "12.40");
        assert_eq!(e("12.41").to_string(), "12.41");
        assert_eq!(e(" 0.05 ").cents(), 5);
        assert_eq!(e("-3.00").to_string(), "-3.00");
        assert_eq!(e("-0").to_string(), "0.00");
        assert_eq!(e("-0"), Euro::ZERO);
        assert_eq!(e("007.10"), Euro::from_cents(710));
        assert_eq!(Euro::default().to_string(), "0.00");
        assert_eq!(Euro::ZERO.to_string(), "0.00");
    }

    #[test]
    fn parse_refusals() {
        for (input, err) in [
            ("", EuroError::Format),
            ("abc", EuroError::Format),
            ("1e3", EuroError::Format),
            ("1.2e1", EuroError::Format),
            ("12,40", EuroError::Format),
            ("+5", EuroError::Format),
            ("12.", EuroError::Format),
            (".5", EuroError::Format),
            ("--1", EuroError::Format),
            ("1 000", EuroError::Format),
            ("NaN", EuroError::Format),
            ("12.345", EuroError::TooManyDecimals),
            ("12.340", EuroError::TooManyDecimals),
            ("92233720368547758.08", EuroError::Overflow),
            ("99999999999999999999999999999999999999999", EuroError::Overflow),
        ] {
            assert_eq!(Euro::parse(input), Err(err), "{input}");
        }
        assert_eq!(e("92233720368547758.07").cents(), i64::MAX);
        assert_eq!(Euro::parse_non_negative("-3.00"), Err(EuroError::Negative));
        assert_eq!(EuroError::Negative.reason(), "EURO_NEGATIVE");
        assert_eq!(Euro::parse_non_negative("3").unwrap(), e("3.00"));
    }

    #[test]
    fn cpo_contribution_rounding() {
        assert_eq!(e("36.00").percent_half_up(dec!(0.33)), e("11.88"));
        assert_eq!(e("36.00").percent_half_up(dec!(0.035)), e("1.26"));
        assert_eq!(e("49.14").percent_half_up(dec!(0.01)), e("0.49"));
        assert_eq!(e("9.00").percent_half_up(dec!(0.035)), e("0.32"));
        assert_eq!(e("-9.00").percent_half_up(dec!(0.035)), e("-0.32"));
        assert_eq!(e("9.00").percent_half_up(dec!(0.035)).to_string(), "0.32");
        assert_eq!(e("10.00").percent_half_up(dec!(0.5)).to_string(), "5.00");
        assert!(
            Euro::from_cents(i64::MAX)
                .checked_percent_half_up(dec!(2))
                .is_none()
        );
    }

    #[test]
    fn checked_arithmetic() {
        assert_eq!(e("1.10").checked_add(e("2.25")), Some(e("3.35")));
        assert_eq!(e("1.10").checked_sub(e("2.25")), Some(e("-1.15")));
        assert_eq!(e("1.10").checked_mul_int(3), Some(e("3.30")));
        assert_eq!(Euro::from_cents(i64::MAX).checked_add(e("0.01")), None);
        assert_eq!(Euro::from_cents(i64::MIN).checked_sub(e("0.01")), None);
        assert_eq!(Euro::from_cents(i64::MAX).checked_mul_int(2), None);
        assert_eq!(Euro::from_cents(i64::MIN).checked_neg(), None);
        assert_eq!(
            Euro::checked_sum([e("1.00"), e("2.50"), e("-0.25")]),
            Some(e("3.25"))
        );
        assert!(e("-0.01").is_negative());
        assert!(!Euro::ZERO.is_negative() && Euro::ZERO.is_zero());
        assert!(e("0.01").is_positive());
        assert!(e("2") > e("1.99"));
        assert_eq!(e("1.5").amount(), dec!(1.50));
        assert_eq!(e("1.5").amount().scale(), 2);
    }

    #[test]
    fn from_decimal() {
        assert_eq!(Euro::from_decimal(dec!(1.5)).unwrap().to_string(), "1.50");
        assert_eq!(Euro::from_decimal(dec!(1.500)).unwrap(), e("1.50"));
        assert_eq!(Euro::from_decimal(dec!(1.505)), Err(EuroError::TooManyDecimals));
        assert_eq!(Euro::from_decimal(Decimal::MAX), Err(EuroError::Overflow));
    }

    #[test]
    fn serde_as_string() {
        let json = serde_json::to_string(&e("12.4")).unwrap();
        assert_eq!(json, "\"12.40\"");
        assert_eq!(serde_json::from_str::<Euro>(&json).unwrap(), e("12.40"));
        assert!(serde_json::from_str::<Euro>("12.4").is_err());
        assert!(serde_json::from_str::<Euro>("\"1.234\"").is_err());
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(cents in any::<i64>()) {
            let x = Euro::from_cents(cents);
            prop_assert_eq!(Euro::parse(&x.to_string()), Ok(x));
            prop_assert_eq!(Euro::from_cents(x.cents()), x);
            prop_assert_eq!(x.cents(), cents);
            prop_assert_eq!(x.amount().scale(), 2);
        }

        #[test]
        fn add_then_sub_loses_no_cent(a in -1_000_000_000i64..1_000_000_000, b in -1_000_000_000i64..1_000_000_000) {
            let (a, b) = (Euro::from_cents(a), Euro::from_cents(b));
            prop_assert_eq!(a.checked_add(b).and_then(|s| s.checked_sub(b)), Some(a));
        }

        #[test]
        fn percent_is_within_half_a_cent(cents in -10_000_000i64..10_000_000, permille in 0u32..=1000) {
            let x = Euro::from_cents(cents);
            let rate = Decimal::new(i64::from(permille), 3);
            let exact = x.amount() * rate;
            let rounded = x.percent_half_up(rate);
            prop_assert!((rounded.amount() - exact).abs() <= dec!(0.005));
            prop_assert_eq!(rounded.amount().scale(), 2);
        }
    }
}
