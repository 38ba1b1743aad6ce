//! DynamoDB numbers: exact decimals of up to 38 significant digits whose magnitude
//! lies in 1E-130 ..= 9.9999999999999999999999999999999999999E+125 (or is zero).
//!
//! A number is held normalised as `sign × coefficient × 10^exponent`, with the
//! coefficient free of trailing zeros. 38 digits fit in a `u128` (< 3.4E38), so
//! parsing, comparing and hashing never allocate, and equal numbers have equal
//! fields: derived `Eq`/`Hash` compare numerically (`1.0 == 1`, `-0 == 0`).
//!
//! Accepted text is Java `BigDecimal`'s grammar, which DynamoDB uses: an optional
//! sign, digits with at most one `.` (at least one digit), an optional exponent
//! `e`/`E` with optional sign and at least one digit; no blanks, no `NaN`/`Infinity`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::error::{Result, StoreError};

/// Most significant digits a number may carry.
pub const MAX_DIGITS: u32 = 38;
/// Largest allowed power of ten of the leading digit (9.99…E+125).
const MAX_ADJUSTED: i64 = 125;
/// Smallest allowed power of ten of the leading digit (1E-130).
const MIN_ADJUSTED: i64 = -130;

const DIGITS_MSG: &str = "Attempting to store more than 38 significant digits in a Number";
const OVERFLOW_MSG: &str =
    "Number overflow. Attempting to store a number with magnitude larger than supported range";
const UNDERFLOW_MSG: &str =
    "Number underflow. Attempting to store a number with magnitude smaller than supported range";

/// An exact DynamoDB number. `Display` gives DynamoDB's normalised text: no
/// exponent, no leading or trailing zeros ("1e2" → "100", "1.50" → "1.5").
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// Zero, or a value with no trailing zeros and at most 38 digits.
    coefficient: u128,
    /// Power of ten of the coefficient's last digit; 0 for zero.
    exponent: i16,
}

/// Number of decimal digits of `n` (1 for zero).
fn digit_count(n: u128) -> u32 {
    n.checked_ilog10().map_or(1, |d| d + 1)
}

impl Number {
    /// Zero.
    pub const ZERO: Number = Number {
        negative: false,
        coefficient: 0,
        exponent: 0,
    };

    /// Parses DynamoDB number text, rejecting what DynamoDB rejects with its messages.
    pub fn parse(text: &str) -> Result<Number> {
        parse::parse(text)
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.coefficient == 0
    }

    /// True for numbers below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// How many significant digits the number has (zero has one).
    pub fn significant_digits(&self) -> u32 {
        digit_count(self.coefficient)
    }

    /// Power of ten of the leading digit (`123.4` → 2, `0.05` → -2, zero → 0).
    pub fn adjusted_exponent(&self) -> i32 {
        i32::from(self.exponent) + digit_count(self.coefficient) as i32 - 1
    }

    /// The significant digits, most significant first ("0" for zero).
    pub fn digits(&self) -> String {
        self.coefficient.to_string()
    }

    /// The exact sum, or DynamoDB's error when it cannot be stored.
    pub fn checked_add(&self, other: &Number) -> Result<Number> {
        arith::add(self, other)
    }

    /// The exact difference, or DynamoDB's error when it cannot be stored.
    pub fn checked_sub(&self, other: &Number) -> Result<Number> {
        arith::add(self, &other.negated())
    }

    /// The number with its sign flipped (zero stays zero).
    pub fn negated(&self) -> Number {
        Number {
            negative: !self.negative && self.coefficient != 0,
            ..self.clone()
        }
    }

    /// Builds a number from parts, checking DynamoDB's limits in DynamoDB's order
    /// (overflow, underflow, then digits). `coefficient` may have trailing zeros.
    fn from_parts(negative: bool, coefficient: u128, exponent: i64) -> Result<Number> {
        let (mut coefficient, mut exponent) = (coefficient, exponent);
        if coefficient == 0 {
            return Ok(Number::ZERO);
        }
        while coefficient % 10 == 0 {
            coefficient /= 10;
            exponent += 1;
        }
        let digits = i64::from(digit_count(coefficient));
        check_limits(exponent.saturating_add(digits - 1), digits)?;
        Ok(Number {
            negative,
            coefficient,
            // In range: adjusted ∈ [-130, 125] and digits ≤ 38 bound it to [-167, 125].
            exponent: i16::try_from(exponent).map_err(|_| invalid(OVERFLOW_MSG))?,
        })
    }

    /// An order-preserving encoding: for any numbers `a`, `b`,
    /// `a.key_bytes().cmp(&b.key_bytes()) == a.cmp(&b)`. It is also
    /// self-delimiting (no encoding is a proper prefix of another), so it can be
    /// followed by more key material.
    ///
    /// Layout: a class byte (1 negative, 2 zero, 3 positive); for non-zero, the
    /// adjusted exponent biased into one byte, then one byte per digit, then a
    /// terminator that sorts below every digit. Negative numbers invert the
    /// exponent and digit bytes and use a terminator that sorts above, so larger
    /// magnitudes come first.
    pub fn key_bytes(&self) -> Vec<u8> {
        if self.coefficient == 0 {
            return vec![2];
        }
        let mut out = Vec::with_capacity(3 + MAX_DIGITS as usize);
        let biased = (i64::from(self.adjusted_exponent()) - MIN_ADJUSTED).clamp(0, 255) as u8;
        let digits = self.coefficient.to_string();
        if self.negative {
            out.push(1);
            out.push(255 - biased);
            out.extend(digits.bytes().map(|d| b'9' - d + b'0'));
            out.push(0xff);
        } else {
            out.push(3);
            out.push(biased);
            out.extend(digits.bytes());
            out.push(0);
        }
        out
    }

    /// Compares magnitudes, ignoring signs.
    fn cmp_magnitude(&self, other: &Number) -> Ordering {
        match (self.coefficient == 0, other.coefficient == 0) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        self.adjusted_exponent()
            .cmp(&other.adjusted_exponent())
            .then_with(|| left_aligned(self.coefficient).cmp(&left_aligned(other.coefficient)))
    }
}

/// The coefficient scaled to exactly 38 digits, so equal leading exponents compare
/// digit by digit. Fits: the coefficient has at most 38 digits.
fn left_aligned(coefficient: u128) -> u128 {
    coefficient * 10u128.pow(MAX_DIGITS - digit_count(coefficient))
}

/// Checks the range and precision limits for a number whose leading digit is at
/// power `adjusted` and which has `digits` significant digits.
fn check_limits(adjusted: i64, digits: i64) -> Result<()> {
    if adjusted > MAX_ADJUSTED {
        Err(invalid(OVERFLOW_MSG))
    } else if adjusted < MIN_ADJUSTED {
        Err(invalid(UNDERFLOW_MSG))
    } else if digits > i64::from(MAX_DIGITS) {
        Err(invalid(DIGITS_MSG))
    } else {
        Ok(())
    }
}

fn invalid(message: &str) -> StoreError {
    StoreError::Validation(message.to_string())
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        let sign = |n: &Number| match (n.coefficient == 0, n.negative) {
            (true, _) => 1,
            (false, true) => 0,
            (false, false) => 2,
        };
        sign(self).cmp(&sign(other)).then_with(|| {
            let magnitude = self.cmp_magnitude(other);
            if self.negative {
                magnitude.reverse()
            } else {
                magnitude
            }
        })
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.coefficient.to_string();
        if self.negative {
            f.write_str("-")?;
        }
        let exponent = i32::from(self.exponent);
        let len = digits.len() as i32;
        if exponent >= 0 {
            f.write_str(&digits)?;
            (0..exponent).try_for_each(|_| f.write_str("0"))
        } else if -exponent < len {
            let (int, frac) = digits.split_at((len + exponent) as usize);
            write!(f, "{int}.{frac}")
        } else {
            f.write_str("0.")?;
            (0..(-exponent - len)).try_for_each(|_| f.write_str("0"))?;
            f.write_str(&digits)
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl FromStr for Number {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Number> {
        Number::parse(text)
    }
}

impl From<i64> for Number {
    fn from(value: i64) -> Number {
        // An i64 has at most 19 digits: always in range.
        Number::from_parts(value < 0, u128::from(value.unsigned_abs()), 0).unwrap_or(Number::ZERO)
    }
}

mod parse {
    //! The text → number parser: one pass, no allocation.

    use super::{Number, check_limits};
    use crate::error::{Result, StoreError};

    /// Exponents beyond this are out of range whatever the digits; clamping keeps
    /// the arithmetic below from overflowing on absurd input like "1e999999999999999999999".
    const EXPONENT_CLAMP: i64 = 1_000_000_000;

    fn not_a_number(text: &str) -> StoreError {
        StoreError::Validation(if text.is_empty() {
            "The parameter cannot be converted to a numeric value".to_string()
        } else {
            format!("The parameter cannot be converted to a numeric value: {text}")
        })
    }

    /// What the mantissa scan found.
    #[derive(Default)]
    struct Mantissa {
        /// The significant digits seen so far (only the first 38 are kept).
        coefficient: u128,
        /// Index (among all mantissa digits) of the first and last non-zero digit.
        first: Option<usize>,
        last: usize,
        /// Digits before the decimal point.
        integer_len: usize,
        /// All mantissa digits.
        len: usize,
    }

    impl Mantissa {
        fn push(&mut self, digit: u8) {
            let index = self.len;
            self.len += 1;
            if digit == 0 {
                return;
            }
            let first = *self.first.get_or_insert(index);
            // Only accumulate while the span fits 38 digits; longer spans are
            // rejected later from the indices alone.
            if index - first < super::MAX_DIGITS as usize {
                let gap = (index - self.last) as u32;
                let scale = if self.coefficient == 0 {
                    1
                } else {
                    10u128.pow(gap)
                };
                self.coefficient = self.coefficient * scale + u128::from(digit);
            }
            self.last = index;
        }
    }

    pub(super) fn parse(text: &str) -> Result<Number> {
        let bytes = text.as_bytes();
        let (negative, mut i) = match bytes.first() {
            Some(b'-') => (true, 1),
            Some(b'+') => (false, 1),
            _ => (false, 0),
        };
        let mut mantissa = Mantissa::default();
        let mut seen_point = false;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'0'..=b'9' => mantissa.push(b - b'0'),
                b'.' if !seen_point => {
                    seen_point = true;
                    mantissa.integer_len = mantissa.len;
                }
                _ => break,
            }
            i += 1;
        }
        if !seen_point {
            mantissa.integer_len = mantissa.len;
        }
        if mantissa.len == 0 {
            return Err(not_a_number(text));
        }
        let exponent = match bytes.get(i) {
            None => 0,
            Some(b'e' | b'E') => {
                parse_exponent(&bytes[i + 1..]).ok_or_else(|| not_a_number(text))?
            }
            Some(_) => return Err(not_a_number(text)),
        };
        let Some(first) = mantissa.first else {
            return Ok(Number::ZERO);
        };
        let digits = (mantissa.last - first + 1) as i64;
        // Power of ten of the leading significant digit.
        let adjusted = mantissa.integer_len as i64 - 1 - first as i64 + exponent;
        check_limits(adjusted, digits)?;
        Number::from_parts(negative, mantissa.coefficient, adjusted - (digits - 1))
    }

    /// `[+-]?digits`, clamped to ±EXPONENT_CLAMP; None when malformed.
    fn parse_exponent(bytes: &[u8]) -> Option<i64> {
        let (negative, digits) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            Some(b'+') => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let value = digits.iter().fold(0i64, |acc, d| {
            (acc * 10 + i64::from(d - b'0')).min(EXPONENT_CLAMP)
        });
        Some(if negative { -value } else { value })
    }
}

mod arith {
    //! Exact addition over decimal digit vectors. Operands are aligned to the
    //! smaller exponent; the span is at most ~300 digits (1E126 down to 1E-167).

    use std::cmp::Ordering;

    use super::Number;
    use crate::error::Result;

    /// Little-endian digits of `n.coefficient × 10^(n.exponent - base)`.
    fn aligned_digits(n: &Number, base: i16) -> Vec<u8> {
        let shift = (n.exponent - base) as usize;
        let mut digits = vec![0u8; shift];
        let mut c = n.coefficient;
        while c > 0 {
            digits.push((c % 10) as u8);
            c /= 10;
        }
        digits
    }

    pub(super) fn add(a: &Number, b: &Number) -> Result<Number> {
        if a.is_zero() {
            return Ok(b.clone());
        }
        if b.is_zero() {
            return Ok(a.clone());
        }
        let base = a.exponent.min(b.exponent);
        let (x, y) = (aligned_digits(a, base), aligned_digits(b, base));
        let (negative, digits) = if a.negative == b.negative {
            (a.negative, add_digits(&x, &y))
        } else {
            match a.cmp_magnitude(b) {
                Ordering::Equal => return Ok(Number::ZERO),
                Ordering::Greater => (a.negative, sub_digits(&x, &y)),
                Ordering::Less => (b.negative, sub_digits(&y, &x)),
            }
        };
        from_digits(negative, &digits, i64::from(base))
    }

    fn add_digits(x: &[u8], y: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(x.len().max(y.len()) + 1);
        let mut carry = 0;
        for i in 0..x.len().max(y.len()) {
            let sum = x.get(i).copied().unwrap_or(0) + y.get(i).copied().unwrap_or(0) + carry;
            out.push(sum % 10);
            carry = sum / 10;
        }
        if carry > 0 {
            out.push(carry);
        }
        out
    }

    /// `x - y` for `x ≥ y`.
    fn sub_digits(x: &[u8], y: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(x.len());
        let mut borrow = 0;
        for (i, &xd) in x.iter().enumerate() {
            let yd = y.get(i).copied().unwrap_or(0) + borrow;
            if xd >= yd {
                out.push(xd - yd);
                borrow = 0;
            } else {
                out.push(xd + 10 - yd);
                borrow = 1;
            }
        }
        out
    }

    /// Builds a number from little-endian digits times `10^exponent`, checking
    /// DynamoDB's limits on the exact result.
    fn from_digits(negative: bool, digits: &[u8], exponent: i64) -> Result<Number> {
        let Some(low) = digits.iter().position(|&d| d != 0) else {
            return Ok(Number::ZERO);
        };
        let high = digits.iter().rposition(|&d| d != 0).unwrap_or(low);
        let count = (high - low + 1) as i64;
        super::check_limits(exponent + high as i64, count)?;
        let coefficient = digits[low..=high]
            .iter()
            .rev()
            .fold(0u128, |acc, &d| acc * 10 + u128::from(d));
        Number::from_parts(negative, coefficient, exponent + low as i64)
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use bigdecimal::BigDecimal;
    use proptest::prelude::*;

    use super::*;
    use crate::value::testing::arb_number;

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn error(text: &str) -> String {
        match Number::parse(text) {
            Ok(n) => panic!("{text:?} parsed as {n}"),
            Err(e) => e.to_string(),
        }
    }

    /// The independent oracle: bigdecimal, normalised to plain text.
    fn big(x: &Number) -> BigDecimal {
        BigDecimal::from_str(&x.to_string()).unwrap()
    }

    fn plain(b: &BigDecimal) -> String {
        let text = b.normalized().to_plain_string();
        if text == "-0" { "0".to_string() } else { text }
    }

    #[test]
    fn normalises_like_dynamodb() {
        for (input, shown) in [
            ("100", "100"),
            ("1e2", "100"),
            ("1E+2", "100"),
            ("0.001", "0.001"),
            ("1e-3", "0.001"),
            ("-0", "0"),
            ("-0.000e5", "0"),
            ("1.50", "1.5"),
            ("+1", "1"),
            ("1.", "1"),
            (".5", "0.5"),
            ("-0015.789e6", "-15789000"),
            (
                "0000012345678901234567890123456789012345678",
                "12345678901234567890123456789012345678",
            ),
            (
                "-00001.23456789012345678901234567890123456780000",
                "-1.2345678901234567890123456789012345678",
            ),
            ("123.456e-1", "12.3456"),
            ("1e0", "1"),
        ] {
            assert_eq!(n(input).to_string(), shown, "{input}");
        }
    }

    #[test]
    fn accepts_the_range_limits() {
        let max = "9.9999999999999999999999999999999999999E+125";
        assert_eq!(
            n(max).to_string(),
            format!("{}{}", "9".repeat(38), "0".repeat(88))
        );
        assert_eq!(
            n(&format!("-{max}")).to_string(),
            format!("-{}{}", "9".repeat(38), "0".repeat(88))
        );
        assert_eq!(n("1E-130").to_string(), format!("0.{}1", "0".repeat(129)));
        assert_eq!(n("-1E-130").to_string(), format!("-0.{}1", "0".repeat(129)));
        assert_eq!(
            n("0009.99999999999999999999999999999999999990000e125").to_string(),
            n(max).to_string()
        );
        assert_eq!(n("0001.000e-130"), n("1e-130"));
        // The smallest exponent reachable: 38 digits starting at 1E-130.
        let tiny = format!("1.{}1e-130", "0".repeat(36));
        assert_eq!(n(&tiny).significant_digits(), 38);
        assert_eq!(n(&tiny).to_string().parse::<Number>().unwrap(), n(&tiny));
    }

    #[test]
    fn rejects_what_dynamodb_rejects() {
        let digits = "Attempting to store more than 38 significant digits in a Number";
        let overflow = "Number overflow. Attempting to store a number with magnitude larger than supported range";
        let underflow = "Number underflow. Attempting to store a number with magnitude smaller than supported range";
        assert_eq!(error("123456789012345678901234567890123456789"), digits);
        assert_eq!(error("-1.23456789012345678901234567890123456789"), digits);
        assert_eq!(error(&format!("1{}1", "0".repeat(37))), digits);
        assert_eq!(error("1e126"), overflow);
        assert_eq!(error("-1e126"), overflow);
        assert_eq!(error("10E125"), overflow);
        assert_eq!(error("1e999999999999999999999999"), overflow);
        // Overflow is reported before too many digits, as DynamoDB does.
        assert_eq!(error(&format!("{}e200", "1".repeat(40))), overflow);
        assert_eq!(error("1e-131"), underflow);
        assert_eq!(error("-1e-131"), underflow);
        assert_eq!(error("0.1e-130"), underflow);
        assert_eq!(error("1e-99999999999999999999"), underflow);
        assert_eq!(
            error(""),
            "The parameter cannot be converted to a numeric value"
        );
        for bad in [
            "abc",
            " 1",
            "1 ",
            "1e",
            "1e+",
            "e5",
            ".",
            "-",
            "+",
            "NaN",
            "Infinity",
            "-Infinity",
            "1..2",
            "1.2.3",
            "--1",
            "+-1",
            "0x10",
            "1_000",
            "١",
        ] {
            assert_eq!(
                error(bad),
                format!("The parameter cannot be converted to a numeric value: {bad}")
            );
        }
    }

    #[test]
    fn zero_is_zero_whatever_its_exponent() {
        assert_eq!(n("0e999999999999"), Number::ZERO);
        assert_eq!(n("-0.0000"), Number::ZERO);
        assert!(!n("-0").is_negative());
    }

    #[test]
    fn compares_numerically() {
        assert_eq!(n("1.0"), n("1"));
        assert_eq!(n("-0"), n("0"));
        let sorted = [
            "-1e125", "-100", "-1.5", "-1", "-0.001", "0", "1e-130", "0.001", "1", "1.5", "2",
            "10", "99.9", "100", "9.9e125",
        ];
        for pair in sorted.windows(2) {
            assert!(n(pair[0]) < n(pair[1]), "{} < {}", pair[0], pair[1]);
            assert!(
                n(pair[0]).key_bytes() < n(pair[1]).key_bytes(),
                "key {} < {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn adds_exactly() {
        assert_eq!(n("0.1").checked_add(&n("0.2")).unwrap().to_string(), "0.3");
        assert_eq!(n("1").checked_sub(&n("1.0")).unwrap(), Number::ZERO);
        assert_eq!(n("-5").checked_add(&n("3")).unwrap().to_string(), "-2");
        assert_eq!(n("5").checked_sub(&n("7.25")).unwrap().to_string(), "-2.25");
        assert_eq!(n("99").checked_add(&n("1")).unwrap().to_string(), "100");
        let max37 = "9".repeat(37);
        assert_eq!(
            n(&max37).checked_add(&n("1")).unwrap().to_string(),
            format!("1{}", "0".repeat(37))
        );
    }

    #[test]
    fn arithmetic_reports_what_cannot_be_stored() {
        let max = n("9.9999999999999999999999999999999999999E+125");
        assert!(error_of(max.checked_add(&n("1E+125"))).starts_with("Number overflow"));
        assert!(error_of(max.negated().checked_sub(&n("1E+125"))).starts_with("Number overflow"));
        // 1E+37 + 0.1 needs 39 digits.
        assert_eq!(
            error_of(n("1e37").checked_add(&n("0.1"))),
            "Attempting to store more than 38 significant digits in a Number"
        );
        let tiny = n(&format!("1.{}1e-130", "0".repeat(36)));
        assert!(error_of(tiny.checked_sub(&n("1e-130"))).starts_with("Number underflow"));
        // Cancellation back into range is fine.
        assert_eq!(max.checked_sub(&max).unwrap(), Number::ZERO);
    }

    fn error_of(result: Result<Number>) -> String {
        result
            .map(|n| panic!("expected an error, got {n}"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn converts_from_integers() {
        assert_eq!(Number::from(i64::MIN).to_string(), i64::MIN.to_string());
        assert_eq!(Number::from(1200), n("1.2e3"));
        assert_eq!(Number::from(0), Number::ZERO);
    }

    proptest! {
        #[test]
        fn display_round_trips(x in arb_number()) {
            prop_assert_eq!(Number::parse(&x.to_string()).unwrap(), x.clone());
            prop_assert_eq!(plain(&big(&x)), x.to_string());
        }

        #[test]
        fn key_bytes_order_is_numeric_order(a in arb_number(), b in arb_number()) {
            prop_assert_eq!(a.key_bytes().cmp(&b.key_bytes()), a.cmp(&b));
            prop_assert_eq!(a.cmp(&b), big(&a).cmp(&big(&b)));
            prop_assert_eq!(a == b, a.key_bytes() == b.key_bytes());
        }

        #[test]
        fn key_bytes_are_self_delimiting(a in arb_number(), b in arb_number()) {
            let (ka, kb) = (a.key_bytes(), b.key_bytes());
            prop_assert!(ka == kb || !(ka.starts_with(&kb) || kb.starts_with(&ka)));
        }

        #[test]
        fn add_and_sub_match_bigdecimal(a in arb_number(), b in arb_number()) {
            for (result, exact) in [
                (a.checked_add(&b), big(&a) + big(&b)),
                (a.checked_sub(&b), big(&a) - big(&b)),
            ] {
                match result {
                    Ok(sum) => prop_assert_eq!(sum.to_string(), plain(&exact)),
                    // The exact result must really be unstorable.
                    Err(_) => prop_assert!(Number::parse(&plain(&exact)).is_err(), "{}", plain(&exact)),
                }
            }
        }

        #[test]
        fn parse_never_panics(text in "[-+0-9.eE]{0,12}|.{0,8}") {
            let _ = Number::parse(&text);
        }
    }
}
