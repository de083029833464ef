//! The grammar of the audit trail.

use super::*;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// List events: `riskops audit log --target dataset: --since 2026-01-01T00:00:00Z`.
    Log {
        /// Only events by this identity.
        #[arg(long)]
        actor: Option<String>,
        /// A target (`project:fraud`) or a kind of target (`dataset:`).
        #[arg(long)]
        target: Option<String>,
        /// RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// At most this many events, newest first.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Every event as JSON lines, for auditors: `riskops audit export -o trail.jsonl`. The
    /// signed checkpoints follow the events, one `{"checkpoint":…,"public_key":…}` per line.
    Export {
        /// Write here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Check that no event was edited, deleted, reordered or cut off the end (the server signs
    /// the newest event into a checkpoint moments after each change): against the server,
    /// directly on a data directory (or a copy of one, no server needed), or on an exported
    /// file. Exit status 1 when the trail is broken.
    Verify {
        /// A data directory (its riskops.sqlite is opened read-only).
        #[arg(long, conflicts_with = "file")]
        data_dir: Option<PathBuf>,
        /// A JSON-lines export.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Trust only this Ed25519 public key (hex, from `GET /api/v1/signing-key`) for
        /// checkpoints, whatever keys the trail lists: catches a replaced key and a trail
        /// stripped of every checkpoint.
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
        /// A checkpoint kept outside the data (`riskops audit checkpoint > kept.jsonl`, any
        /// number of lines): the trail must reach it, so cutting the newest events together
        /// with the newest checkpoints is caught. With --data-dir or --file.
        #[arg(long, value_name = "FILE")]
        checkpoint: Vec<PathBuf>,
    },
    /// Print the newest signed checkpoint as one JSON line, to keep outside riskops (a ticket,
    /// a WORM bucket, an email to the auditor) and pass to `audit verify --checkpoint` later.
    Checkpoint,
    /// Verify every deployed model now (the server also does so at start and hourly): each
    /// artifact hashed against its digest, the registry's digest compared, each production
    /// signature checked. A failure opens a critical security incident (`riskops incident list
    /// --kind security`). Exit status 1 when something is compromised.
    Integrity,
}
