//! Little-endian byte writing and bounds-checked reading for the window encoding.

use crate::MonitorError;
use riskops_stats::StatsError;

/// A riskops-stats decoder: the value and the bytes it used.
pub type Decode<T> = fn(&[u8]) -> Result<(T, usize), StatsError>;

pub struct Writer {
    pub out: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    pub fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.out.extend_from_slice(s.as_bytes());
    }
}

pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], MonitorError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else { return Err(MonitorError::Decode("truncated window state".into())) };
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    pub fn u8(&mut self) -> Result<u8, MonitorError> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32, MonitorError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    pub fn u64(&mut self) -> Result<u64, MonitorError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    pub fn str(&mut self) -> Result<String, MonitorError> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| MonitorError::Decode("a name is not UTF-8".into()))
    }

    /// Decodes one riskops-stats summary at the current position.
    pub fn sketch<T>(&mut self, decode: Decode<T>) -> Result<T, MonitorError> {
        let (value, used) =
            decode(&self.bytes[self.pos..]).map_err(|e| MonitorError::Decode(format!("summary: {e}")))?;
        self.take(used)?;
        Ok(value)
    }
}
