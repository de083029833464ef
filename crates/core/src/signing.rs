//! Ed25519 signatures: the server's key, and the exact bytes it signs.
//!
//! The server signs two things: the digest of a model version entering production, and
//! audit checkpoints (the head of the hash chain), so that cutting the newest events off the
//! trail is detectable. The messages are built only by [`model_signature_message`] and
//! [`checkpoint_message`], so signer and verifier can never disagree on the bytes. Each
//! message starts with a domain tag, so a signature over one kind can never pass as the other.
//!
//! ring does the cryptography (already built for rustls); this module only wraps its types
//! so the rest of riskops sees hex strings, one error kind and a redacted `Debug`.

use crate::encode::{hex, unhex};
use crate::error::{Error, ErrorKind, Result};
use crate::secret::Secret;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// The algorithm name published with the public key.
pub const ALGORITHM: &str = "ed25519";

/// The private key. Its bytes never leave ring; `Debug` prints only the public key id.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(<redacted>, key_id {})", self.public_key().key_id())
    }
}

impl SigningKey {
    /// A fresh key from the OS's randomness, with its PKCS#8 (v2) document, which is what
    /// must be persisted to load the same key again.
    pub fn generate() -> Result<(SigningKey, Secret<Vec<u8>>)> {
        let rng = ring::rand::SystemRandom::new();
        let document = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| Error::internal("cannot generate an Ed25519 key: no randomness from the OS"))?;
        let key = SigningKey::from_pkcs8(document.as_ref())?;
        Ok((key, Secret::new(document.as_ref().to_vec())))
    }

    /// Loads a key from a PKCS#8 v2 document (as written by [`SigningKey::generate`]).
    pub fn from_pkcs8(document: &[u8]) -> Result<SigningKey> {
        let pair = Ed25519KeyPair::from_pkcs8(document)
            .map_err(|e| Error::new(ErrorKind::Integrity, format!("not an Ed25519 PKCS#8 v2 private key ({e})")))?;
        Ok(SigningKey { pair })
    }

    /// A key from its 32-byte seed, checked against the expected public key: only for
    /// known-answer tests (RFC 8032).
    #[cfg(test)]
    fn from_seed(seed: &[u8; 32], public_key: &[u8; 32]) -> Result<SigningKey> {
        let pair = Ed25519KeyPair::from_seed_and_public_key(seed, public_key)
            .map_err(|e| Error::internal(format!("bad seed: {e}")))?;
        Ok(SigningKey { pair })
    }

    pub fn public_key(&self) -> PublicKey {
        let mut raw = [0u8; 32];
        raw.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(raw)
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        let mut raw = [0u8; 64];
        raw.copy_from_slice(self.pair.sign(message).as_ref());
        Signature(raw)
    }
}

/// An Ed25519 public key (32 bytes), shown as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl PublicKey {
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    pub fn from_hex(text: &str) -> Result<PublicKey> {
        Ok(PublicKey(from_hex_array(text, "public key")?))
    }

    /// A short, stable name for the key: the first 16 hex digits of SHA-256 of its bytes.
    /// Stored with each signature so a verifier knows which key to use.
    pub fn key_id(&self) -> String {
        let mut id = hex(&Sha256::digest(self.0));
        id.truncate(16);
        id
    }

    /// Ok when `signature` is this key's signature of exactly `message`; an integrity
    /// error otherwise (a forged or altered message, signature or key).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<()> {
        UnparsedPublicKey::new(&ED25519, &self.0).verify(message, &signature.0).map_err(|_| {
            Error::new(ErrorKind::Integrity, format!("the signature does not verify with key {}", self.key_id()))
        })
    }
}

/// An Ed25519 signature (64 bytes), shown as 128 hex digits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl Signature {
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    pub fn from_hex(text: &str) -> Result<Signature> {
        Ok(Signature(from_hex_array(text, "signature")?))
    }
}

/// What is signed when a model version enters production: the artifact digest bound to
/// the model, version and environment it was approved for.
pub fn model_signature_message(model: &str, version: u32, environment: &str, digest: &str) -> Vec<u8> {
    format!("riskops-model-signature-v1\n{model}\n{version}\n{environment}\n{digest}\n").into_bytes()
}

/// What is signed for an audit checkpoint: the chain's head, which commits to every
/// event up to and including `seq`.
pub fn checkpoint_message(seq: i64, head_hash: &str) -> Vec<u8> {
    format!("riskops-audit-checkpoint-v1\n{seq}\n{head_hash}\n").into_bytes()
}

/// Exactly `N` bytes from `2N` hex digits (either case).
fn from_hex_array<const N: usize>(text: &str, what: &str) -> Result<[u8; N]> {
    let bad = || Error::new(ErrorKind::Invalid, format!("a {what} must be {} hex digits", 2 * N));
    unhex(text.trim()).and_then(|bytes| <[u8; N]>::try_from(bytes).ok()).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr<const N: usize>(h: &str) -> [u8; N] {
        from_hex_array(h, "test").unwrap()
    }

    #[test]
    fn a_signature_verifies_and_any_change_fails() {
        let (key, document) = SigningKey::generate().unwrap();
        let public = key.public_key();
        let msg = checkpoint_message(7, &"ab".repeat(32));
        let sig = key.sign(&msg);
        public.verify(&msg, &sig).unwrap();

        let other = checkpoint_message(8, &"ab".repeat(32));
        assert_eq!(public.verify(&other, &sig).unwrap_err().kind, ErrorKind::Integrity);
        let mut flipped = sig;
        flipped.0[10] ^= 1;
        assert!(public.verify(&msg, &flipped).is_err());
        let (stranger, _) = SigningKey::generate().unwrap();
        assert!(stranger.public_key().verify(&msg, &sig).is_err());

        // The persisted document loads the same key.
        let again = SigningKey::from_pkcs8(document.expose()).unwrap();
        assert_eq!(again.public_key(), public);
        assert!(!format!("{key:?}").contains(&hex(document.expose())));
        assert!(format!("{key:?}").contains(&public.key_id()));
    }

    #[test]
    fn hex_forms_round_trip_and_bad_hex_is_refused() {
        let (key, _) = SigningKey::generate().unwrap();
        let public = key.public_key();
        assert_eq!(PublicKey::from_hex(&public.to_hex()).unwrap(), public);
        assert_eq!(PublicKey::from_hex(&public.to_hex().to_uppercase()).unwrap(), public);
        let sig = key.sign(b"x");
        assert_eq!(Signature::from_hex(&sig.to_hex()).unwrap(), sig);
        assert_eq!(public.key_id().len(), 16);
        for bad in ["", "abc", &"zz".repeat(32), &"ab".repeat(33)] {
            assert_eq!(PublicKey::from_hex(bad).unwrap_err().kind, ErrorKind::Invalid, "{bad}");
        }
        assert!(Signature::from_hex(&public.to_hex()).is_err());
    }

    #[test]
    fn a_malformed_key_document_is_a_clear_error() {
        let err = SigningKey::from_pkcs8(b"not a key").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Integrity);
        assert!(err.message.contains("PKCS#8"), "{}", err.message);
        let (_, document) = SigningKey::generate().unwrap();
        let mut cut = document.expose().clone();
        cut.truncate(cut.len() - 1);
        assert!(SigningKey::from_pkcs8(&cut).is_err());
    }

    /// RFC 8032, section 7.1, test 1 (the empty message).
    #[test]
    fn rfc8032_test_vector_1() {
        let seed = arr::<32>("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let public = arr::<32>("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let expected = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
        let key = SigningKey::from_seed(&seed, &public).unwrap();
        assert_eq!(key.public_key(), PublicKey(public));
        let sig = key.sign(b"");
        assert_eq!(sig.to_hex(), expected);
        PublicKey(public).verify(b"", &Signature::from_hex(expected).unwrap()).unwrap();
    }

    #[test]
    fn messages_are_tagged_and_line_separated() {
        assert_eq!(
            model_signature_message("churn", 3, "production", "sha256:ab"),
            b"riskops-model-signature-v1\nchurn\n3\nproduction\nsha256:ab\n".to_vec()
        );
        assert_eq!(checkpoint_message(12, "ff"), b"riskops-audit-checkpoint-v1\n12\nff\n".to_vec());
    }
}
