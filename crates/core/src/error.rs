//! The one error type of riskops.
//!
//! Every failure is classified by an [`ErrorKind`]; the server maps each kind to one HTTP
//! status and one stable `code` string (see `riskops-server`'s `error` module), so the
//! table of codes lives in exactly one place.

use std::fmt;

/// What went wrong, as far as a caller needs to know to react.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request could not be read at all (malformed syntax).
    BadRequest,
    /// No valid credentials were presented.
    Unauthenticated,
    /// The caller is known but may not do this.
    Forbidden,
    /// The object or route does not exist.
    NotFound,
    /// The request conflicts with the current state (a duplicate name, say).
    Conflict,
    /// The request body is larger than the configured limit.
    PayloadTooLarge,
    /// A field is well-formed but not acceptable.
    Invalid,
    /// Too many failed attempts from this client or for this name; try again later.
    RateLimited,
    /// Stored data failed an integrity check.
    Integrity,
    /// A dependency (database, artifact store, disk) is not usable right now. The message is
    /// for the server's log: it may name hosts and paths, so clients get a generic one.
    Unavailable,
    /// Other requests kept changing the same data; sending again will do. The message is
    /// for the client.
    Busy,
    /// A bug or an unexpected failure; details are logged, not shown.
    Internal,
}

/// A classified error with a message meant for the person who made the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// The input field at fault, for [`ErrorKind::Invalid`].
    pub field: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), field: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    pub fn busy(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Busy, message)
    }

    /// A field-level validation failure; the message should say what is acceptable.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = format!("{field}: {}", message.into());
        Error { kind: ErrorKind::Invalid, message, field: Some(field) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
