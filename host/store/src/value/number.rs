//! DynamoDB numbers: exact decimals. (Placeholder being replaced by the full implementation.)

use std::fmt;
use std::str::FromStr;

use bigdecimal::BigDecimal;

use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Number(BigDecimal);

impl Number {
    pub fn parse(text: &str) -> Result<Number> {
        BigDecimal::from_str(text)
            .map(|d| Number(d.normalized()))
            .map_err(|_| {
                StoreError::Validation(format!(
                    "A value provided cannot be converted into a number: {text}"
                ))
            })
    }

    pub fn checked_add(&self, other: &Number) -> Result<Number> {
        Ok(Number((&self.0 + &other.0).normalized()))
    }

    pub fn checked_sub(&self, other: &Number) -> Result<Number> {
        Ok(Number((&self.0 - &other.0).normalized()))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.to_plain_string())
    }
}
