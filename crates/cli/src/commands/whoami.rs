//! `riskops whoami`.

use crate::cli::Format;
use crate::client::Client;
use crate::output::show;
use anyhow::Result;
use riskops_api::system::WhoAmI;

pub async fn run(client: &Client, format: Format) -> Result<()> {
    let me = client.get::<WhoAmI>("/api/v1/whoami").await?;
    show(format, &me, |v| {
        println!("{} ({})", v.name, v.kind);
        println!("roles: {}", if v.roles.is_empty() { "none".to_string() } else { v.roles.join(", ") });
    });
    Ok(())
}
