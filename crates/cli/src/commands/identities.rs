//! `riskops user …` and `riskops token …`.

use crate::cli::{Format, TokenCommand, UserCommand};
use crate::client::Client;
use crate::output::{show, table};
use anyhow::{Context, Result, bail};
use riskops_api::identities::{
    CreateToken, CreateUser, CreatedUser, IdentityView, IssuedTokenView, RoleChange, TokenList, TokenView, UserList,
};
use serde_json::Value;

/// `30d`, `12h`, `90m`, `45s` or plain seconds, as seconds.
pub fn parse_duration(text: &str) -> Result<i64> {
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: i64 = digits.parse().with_context(|| format!("{text:?} is not a duration like 30d, 12h or 90m"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => bail!("{text:?}: the unit must be s, m, h, d or w"),
    };
    n.checked_mul(scale).filter(|s| *s > 0).with_context(|| format!("{text:?} is not a positive duration"))
}

fn seconds(expires_in: &Option<String>) -> Result<Option<i64>> {
    expires_in.as_deref().map(parse_duration).transpose()
}

pub async fn user(client: &Client, format: Format, command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Create { name, roles, service_account, password_stdin, expires_in } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).context("reading the password from stdin")?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let kind = if service_account { "service_account" } else { "user" };
            let body = CreateUser {
                name,
                kind: Some(kind.to_string()),
                roles,
                password,
                expires_in_seconds: seconds(&expires_in)?,
            };
            let made = client.post::<_, CreatedUser>("/api/v1/users", &body).await?;
            show(format, &made, |v| {
                let identity = &v.identity;
                println!("created {} {} with roles {}", identity.kind, identity.name, identity.roles.join(", "));
                println!("API token (shown once, keep it safe):\n{}", v.token);
            });
        }
        UserCommand::List => {
            let list = client.get::<UserList>("/api/v1/users").await?;
            show(format, &list, |v| {
                let rows: Vec<Vec<String>> = v
                    .users
                    .iter()
                    .map(|u| {
                        vec![
                            u.name.clone(),
                            u.kind.clone(),
                            u.roles.join(", "),
                            u.created_at.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                table(&["NAME", "KIND", "ROLES", "CREATED"], &rows);
            });
        }
        UserCommand::Grant { name, role } => {
            let body = RoleChange { role };
            let after = client.post::<_, IdentityView>(&format!("/api/v1/users/{name}/roles"), &body).await?;
            show(format, &after, |v| println!("{} now has {}", v.name, v.roles.join(", ")));
        }
        UserCommand::Revoke { name, role } => {
            let after = client.delete::<IdentityView>(&format!("/api/v1/users/{name}/roles/{role}")).await?;
            show(format, &after, |v| println!("{} now has {}", v.name, v.roles.join(", ")));
        }
    }
    Ok(())
}

pub async fn token(client: &Client, format: Format, command: TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Create { user, expires_in, label } => {
            let body = CreateToken { user, label, expires_in_seconds: seconds(&expires_in)? };
            let made = client.post::<_, IssuedTokenView>("/api/v1/tokens", &body).await?;
            show(format, &made, |v| {
                println!(
                    "token {} for {} (expires {}); shown once:",
                    v.info.id,
                    v.info.identity,
                    or_never(&v.info.expires_at)
                );
                println!("{}", v.token);
            });
        }
        TokenCommand::List { user, all } => {
            let query = match (user, all) {
                (_, true) => "?all=true".to_string(),
                (Some(u), false) => format!("?user={u}"),
                (None, false) => String::new(),
            };
            let list = client.get::<TokenList>(&format!("/api/v1/tokens{query}")).await?;
            show(format, &list, |v| {
                let rows: Vec<Vec<String>> = v
                    .tokens
                    .iter()
                    .map(|t| {
                        let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                        vec![
                            t.id.to_string(),
                            t.identity.clone(),
                            t.label.clone(),
                            t.created_at.clone(),
                            or_never(&t.expires_at),
                            state.into(),
                        ]
                    })
                    .collect();
                table(&["ID", "IDENTITY", "LABEL", "CREATED", "EXPIRES", "STATE"], &rows);
            });
        }
        TokenCommand::Revoke { id } => {
            let revoked = client.delete::<TokenView>(&format!("/api/v1/tokens/{id}")).await?;
            show(format, &revoked, |v| println!("revoked token {} of {}", v.id, v.identity));
        }
    }
    Ok(())
}

pub fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

pub fn join(list: &Value) -> String {
    list.as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
}

fn or_never(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "never".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("30d").unwrap(), 30 * 86_400);
        assert_eq!(parse_duration("12h").unwrap(), 43_200);
        assert_eq!(parse_duration("90").unwrap(), 90);
        assert!(parse_duration("3 days").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("d").is_err());
    }
}
