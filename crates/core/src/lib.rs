//! The riskops domain and its services.
//!
//! This crate owns the rules: who may do what, what a valid name is, how an audit event is
//! sealed into the hash chain. It knows nothing about HTTP, SQL or the command line: the
//! [`store::Store`] trait is the only way out, and time comes in through [`clock::Clock`].
//! The server and the CLI are thin edges around [`service::Riskops`].

pub mod access;
pub mod action;
pub mod alerting;
pub mod analysis_html;
pub mod artifact;
pub mod audit;
pub mod auth;
pub mod checkpoint;
pub mod clock;
pub mod compliance;
pub mod context;
pub mod drift_html;
pub mod drift_json;
pub mod encode;
pub mod error;
pub mod governance;
pub mod incident;
pub mod kpi;
pub mod lineage;
pub mod monitoring;
pub mod password;
pub mod project;
pub mod promotion;
pub mod reasons;
pub mod registry;
pub mod risk;
pub mod secret;
pub mod series;
pub mod service;
pub mod signing;
pub mod store;
pub mod taxonomy;
pub mod throttle;
pub mod webhook_guard;

pub use error::{Error, ErrorKind, Result};
pub use service::Riskops;

#[cfg(test)]
mod tidy;
