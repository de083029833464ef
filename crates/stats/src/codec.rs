//! The byte layout shared by every summary's `encode`/`decode` (sketches and metrics): a two-byte header (a format
//! tag naming the sketch type, then a version) followed by little-endian fixed-width fields.
//!
//! Decoding reads through [`Reader`], which checks every length against the bytes that are
//! actually left before slicing or allocating, so truncated or random input becomes a
//! [`StatsError`] rather than a panic or a multi-gigabyte allocation.

use crate::StatsError;

/// Returned for any input that ends before the structure it announces.
pub(crate) const TRUNCATED: StatsError = StatsError::InvalidArgument("summary encoding is truncated");

/// Largest count a decoded summary may claim (4.6e18 values): far beyond any real stream,
/// and low enough that adding to or merging decoded summaries can never overflow a `u64`.
pub(crate) const MAX_COUNT: u64 = 1 << 62;

/// Format tags, one per sketch type, so that bytes of one type are never accepted as another.
pub(crate) const TAG_MOMENTS: u8 = b'M';
pub(crate) const TAG_QUANTILES: u8 = b'Q';
pub(crate) const TAG_DISTINCT: u8 = b'D';
pub(crate) const TAG_FREQUENCIES: u8 = b'F';
pub(crate) const TAG_BINARY: u8 = b'B';
pub(crate) const TAG_SCORES: u8 = b'S';
pub(crate) const TAG_REGRESSION: u8 = b'R';
pub(crate) const TAG_GROUPS: u8 = b'G';

pub(crate) fn put_header(out: &mut Vec<u8>, tag: u8, version: u8) {
    out.push(tag);
    out.push(version);
}

pub(crate) fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Floats are stored as their exact bit pattern, so a round trip is bit-identical (NaN
/// payloads and `-0.0` included).
pub(crate) fn put_f64(out: &mut Vec<u8>, v: f64) {
    put_u64(out, v.to_bits());
}

/// A bounds-checked cursor over an encoded sketch.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    /// Bytes consumed so far: what `decode` reports as "bytes read".
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The bytes not read yet (for decoding a nested summary).
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or(&[])
    }

    /// The next `n` bytes, or [`TRUNCATED`] if fewer are left.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], StatsError> {
        let end = self.pos.checked_add(n).ok_or(TRUNCATED)?;
        let slice = self.bytes.get(self.pos..end).ok_or(TRUNCATED)?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], StatsError> {
        self.take(N)?.try_into().map_err(|_| TRUNCATED)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, StatsError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, StatsError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, StatsError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, StatsError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn f64(&mut self) -> Result<f64, StatsError> {
        Ok(f64::from_bits(self.u64()?))
    }

    /// A count, rejected (as `bad`) above [`MAX_COUNT`].
    pub(crate) fn count(&mut self, bad: StatsError) -> Result<u64, StatsError> {
        let v = self.u64()?;
        if v > MAX_COUNT { Err(bad) } else { Ok(v) }
    }

    /// `count` little-endian `u64`s. The byte length is checked before anything is
    /// allocated, so a corrupt count cannot request more memory than the input holds.
    pub(crate) fn u64s(&mut self, count: usize) -> Result<Vec<u64>, StatsError> {
        let bytes = self.take(count.checked_mul(8).ok_or(TRUNCATED)?)?;
        Ok(bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect())
    }

    /// Checks the format tag and version; `wrong_tag` is the error text for bytes that are
    /// not this sketch type at all.
    pub(crate) fn header(&mut self, tag: u8, version: u8, wrong_tag: &'static str) -> Result<(), StatsError> {
        if self.u8()? != tag {
            return Err(StatsError::InvalidArgument(wrong_tag));
        }
        if self.u8()? != version {
            return Err(StatsError::InvalidArgument("unsupported summary encoding version"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut out = Vec::new();
        put_u16(&mut out, 0xBEEF);
        put_u32(&mut out, 7);
        let mut r = Reader::new(&out);
        assert_eq!(r.u16(), Ok(0xBEEF));
        assert_eq!(r.u64(), Err(TRUNCATED));
        assert_eq!(r.u32(), Ok(7));
        assert_eq!(r.u8(), Err(TRUNCATED));
        assert_eq!(r.u64s(usize::MAX), Err(TRUNCATED));
        assert_eq!(r.position(), 6);
    }
}
