//! Password hashing for people who sign in (the dashboard): argon2id with OWASP's
//! recommended cost (m = 19 MiB, t = 2, p = 1) and a 16-byte random salt.
//!
//! Stored as `argon2id$v=19$m=19456,t=2,p=1$<salt hex>$<hash hex>`; the cost is kept with
//! each hash so it can be raised later without invalidating old ones.

use crate::encode::{hex, unhex};
use crate::error::{Error, Result};
use crate::secret::Secret;
use argon2::{Algorithm, Argon2, Params, Version};

const MIN_LEN: usize = 12;
const MAX_LEN: usize = 1024;

/// Refuses passwords too short to resist guessing (NIST SP 800-63B asks for at least 8;
/// we ask for 12) or long enough to be a denial of service.
pub fn validate(password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&n) {
        return Err(Error::invalid("password", format!("must be {MIN_LEN} to {MAX_LEN} characters")));
    }
    Ok(())
}

pub fn hash(password: &Secret<String>) -> Result<String> {
    validate(password.expose())?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::internal(format!("no randomness from the OS: {e}")))?;
    let (m, t, p) = (19_456, 2, 1);
    let out = derive(password.expose().as_bytes(), &salt, m, t, p)?;
    Ok(format!("argon2id$v=19$m={m},t={t},p={p}${}${}", hex(&salt), hex(&out)))
}

/// Whether `password` matches `stored`, compared in constant time.
pub fn verify(password: &str, stored: &str) -> Result<bool> {
    let bad = || Error::internal("a stored password hash is malformed");
    let parts: Vec<&str> = stored.split('$').collect();
    let [alg, "v=19", cost, salt, expected] = parts.as_slice() else { return Err(bad()) };
    if *alg != "argon2id" {
        return Err(bad());
    }
    let mut m = 0;
    let mut t = 0;
    let mut p = 0;
    for kv in cost.split(',') {
        match kv.split_once('=') {
            Some(("m", v)) => m = v.parse().map_err(|_| bad())?,
            Some(("t", v)) => t = v.parse().map_err(|_| bad())?,
            Some(("p", v)) => p = v.parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        }
    }
    let salt = unhex(salt).ok_or_else(bad)?;
    let expected = unhex(expected).ok_or_else(bad)?;
    if password.chars().count() > MAX_LEN {
        return Ok(false);
    }
    let actual = derive(password.as_bytes(), &salt, m, t, p)?;
    Ok(actual.len() == expected.len() && actual.iter().zip(&expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0)
}

fn derive(password: &[u8], salt: &[u8], m: u32, t: u32, p: u32) -> Result<[u8; 32]> {
    let params = Params::new(m, t, p, Some(32)).map_err(|e| Error::internal(format!("argon2 parameters: {e}")))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password, salt, &mut out)
        .map_err(|e| Error::internal(format!("argon2: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash(&Secret::new("correct horse battery".to_string())).unwrap();
        assert!(stored.starts_with("argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery", &stored).unwrap());
        assert!(!verify("correct horse batterY", &stored).unwrap());
        let again = hash(&Secret::new("correct horse battery".to_string())).unwrap();
        assert_ne!(stored, again, "salted");
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(hash(&Secret::new("short".into())).unwrap_err().field.as_deref(), Some("password"));
    }
}
