//! The bounds-checked cursor every decoding of the encoded form walks with.

use super::super::Number;
use crate::error::{Result, StoreError};

pub(super) fn corrupt(what: String) -> StoreError {
    StoreError::Storage(format!("corrupt item: {what}"))
}

/// A bounds-checked cursor over encoded bytes.
pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn byte(&mut self) -> Result<u8> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| corrupt("unexpected end of data".to_string()))?;
        self.pos += 1;
        Ok(b)
    }

    pub(super) fn varint(&mut self) -> Result<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f)
                .checked_shl(shift)
                .filter(|v| v >> shift == u64::from(b & 0x7f))
                .ok_or_else(|| corrupt("varint overflows 64 bits".to_string()))?;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(corrupt("varint longer than 10 bytes".to_string()))
    }

    /// A count of following elements; each takes at least one byte, so a count
    /// beyond the remaining bytes is corrupt (and never drives an allocation).
    pub(super) fn count(&mut self) -> Result<usize> {
        let n = self.varint()?;
        let remaining = self.bytes.len() - self.pos;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= remaining)
            .ok_or_else(|| corrupt(format!("count {n} exceeds the {remaining} bytes left")))
    }

    pub(super) fn slice(&mut self) -> Result<&'a [u8]> {
        let len = self.count()?;
        let slice = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(slice)
    }

    pub(super) fn string(&mut self) -> Result<&'a str> {
        let slice = self.slice()?;
        std::str::from_utf8(slice).map_err(|e| corrupt(format!("invalid UTF-8: {e}")))
    }

    /// The next attribute name of a map, after `previous`: maps are encoded in
    /// name order, so a name out of order (or repeated) is damage.
    pub(super) fn name_after(&mut self, previous: Option<&str>) -> Result<&'a str> {
        let name = self.string()?;
        if previous.is_some_and(|previous| previous >= name) {
            return Err(corrupt(format!(
                "attribute name {name:?} out of order or repeated"
            )));
        }
        Ok(name)
    }

    /// Fails unless every byte was read.
    pub(super) fn finish(&self) -> Result<()> {
        match self.bytes.len() - self.pos {
            0 => Ok(()),
            trailing => Err(corrupt(format!("{trailing} trailing bytes after the item"))),
        }
    }

    pub(super) fn list_of<T>(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let count = self.count()?;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(element(self)?);
        }
        Ok(out)
    }

    /// A number with its stored (normalised) text.
    pub(super) fn number_text(&mut self) -> Result<(Number, &'a str)> {
        let slice = self.slice()?;
        std::str::from_utf8(slice)
            .ok()
            .and_then(|text| Some((Number::parse(text).ok()?, text)))
            .ok_or_else(|| {
                corrupt(format!(
                    "invalid number {:?}",
                    String::from_utf8_lossy(slice)
                ))
            })
    }
}
