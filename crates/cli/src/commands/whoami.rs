//! `riskops whoami`.

use crate::cli::Format;
use crate::client::Client;
use crate::output::{emit, str_field};
use anyhow::Result;
use serde_json::Value;

pub async fn run(client: &Client, format: Format) -> Result<()> {
    let me = client.get("/api/v1/whoami").await?;
    emit(format, &me, |v| {
        let roles: Vec<&str> = v
            .get("roles")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!("{} ({})", str_field(v, "name"), str_field(v, "kind"));
        println!("roles: {}", if roles.is_empty() { "none".to_string() } else { roles.join(", ") });
    });
    Ok(())
}
