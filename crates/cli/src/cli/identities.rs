//! The grammar of users, roles and tokens.

use super::*;

#[derive(Subcommand, Debug)]
#[command(after_help = "Roles: admin, risk_officer, validator, data_scientist, committee, auditor, viewer, ingest;
    each for every project (`validator`) or one (`validator@credit`). See docs/permissions.md.

    Example:
  riskops user create alice --role data_scientist@credit --role viewer --expires-in 90d")]
pub enum UserCommand {
    /// Create a user (or --service-account) with roles; prints its first API token once.
    Create {
        /// The identity's name.
        name: String,
        /// `ROLE` or `ROLE@PROJECT`; repeatable.
        #[arg(long = "role", value_name = "ROLE[@PROJECT]", required = true)]
        roles: Vec<String>,
        /// A machine identity (e.g. an ingest job) rather than a person.
        #[arg(long)]
        service_account: bool,
        /// Read a password (for the dashboard sign-in) from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        /// Lifetime of the first token, e.g. `30d`, `12h`, `90m`; default: no expiry.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
    /// List identities and their roles (admin, auditor).
    List,
    /// Grant a role: `riskops user grant alice validator@credit`.
    Grant {
        /// The identity.
        name: String,
        /// `ROLE` or `ROLE@PROJECT`.
        role: String,
    },
    /// Revoke a role: `riskops user revoke alice validator@credit`.
    Revoke {
        /// The identity.
        name: String,
        /// `ROLE` or `ROLE@PROJECT`.
        role: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token for yourself (or, as admin, for --user); printed once.
    Create {
        /// Whose token (admin only).
        #[arg(long)]
        user: Option<String>,
        /// e.g. `30d`, `12h`; default: no expiry.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
        /// What the token is for.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List your tokens (or --user's, or --all, as admin or auditor). Tokens themselves are never shown again.
    List {
        /// Another identity's tokens (admin, auditor).
        #[arg(long, conflicts_with = "all")]
        user: Option<String>,
        /// Every identity's tokens (admin, auditor).
        #[arg(long)]
        all: bool,
    },
    /// Revoke a token by id.
    Revoke {
        /// The token id (`riskops token list`).
        id: i64,
    },
}
