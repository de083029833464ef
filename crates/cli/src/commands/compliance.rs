//! `riskops compliance report` (text, JSON, Markdown or one self-contained HTML page) and
//! `riskops control list|attest|attestations`.

use crate::cli::{ComplianceCommand, ControlCommand, Format};
use crate::client::Client;
use crate::output::{show, table};
use anyhow::{Result, bail};
use riskops_api::Document;
use riskops_api::compliance::{AttestationList, AttestationMetadata, AttestationView, CatalogueView, ComplianceView};
use riskops_core::compliance::Framework;
use riskops_core::encode::escape_html as esc;
use serde_json::Value;
use std::fmt::Write;

pub async fn report(client: &Client, format: Format, command: ComplianceCommand) -> Result<()> {
    let ComplianceCommand::Report { project, framework } = command;
    if let Some(f) = &framework {
        Framework::parse("framework", f).map_err(|e| anyhow::anyhow!("--framework: {}", e.message))?;
    }
    let query = framework.map(|f| format!("?framework={f}")).unwrap_or_default();
    let r = client.get::<ComplianceView>(&format!("/api/v1/projects/{project}/compliance{query}")).await?;
    match format {
        Format::Markdown => print!("{}", markdown(&r)),
        Format::Html => print!("{}", html(&r)),
        _ => show(format, &r, print_text),
    }
    Ok(())
}

pub async fn control(client: &Client, format: Format, command: ControlCommand) -> Result<()> {
    match command {
        ControlCommand::List => {
            let catalogue = client.get::<CatalogueView>("/api/v1/controls").await?;
            show(format, &catalogue, |c| {
                println!("catalogue {}", c.version);
                let rows: Vec<Vec<String>> = c
                    .controls
                    .iter()
                    .map(|k| {
                        vec![
                            k.id.clone(),
                            k.check.clone(),
                            k.applies.join(" or "),
                            references(&k.frameworks),
                            k.title.clone(),
                        ]
                    })
                    .collect();
                table(&["ID", "CHECK", "APPLIES", "FRAMEWORKS", "CONTROL"], &rows);
            });
        }
        ControlCommand::Attest { project, control, statement, file } => {
            let path = format!("/api/v1/projects/{project}/attestations");
            let metadata = AttestationMetadata { control, statement };
            let made = match file {
                Some(file) => {
                    if !file.is_file() {
                        bail!("--file {} is not a readable file", file.display());
                    }
                    client.upload::<_, AttestationView>(&path, &metadata, &file).await?
                }
                None => client.post::<_, AttestationView>(&path, &metadata).await?,
            };
            show(format, &made, |a| {
                let file = a.evidence.as_ref().map(|e| format!(" with {}", e.digest)).unwrap_or_default();
                println!("{} attested for {} by {}{file}", a.control, a.project, a.created_by);
            });
        }
        ControlCommand::Attestations { project } => {
            let list = client.get::<AttestationList>(&format!("/api/v1/projects/{project}/attestations")).await?;
            show(format, &list, |l| {
                let rows: Vec<Vec<String>> = l
                    .attestations
                    .iter()
                    .map(|a| {
                        vec![
                            a.id.to_string(),
                            a.control.clone(),
                            a.created_by.clone(),
                            a.created_at.clone(),
                            a.evidence.as_ref().map_or("-".to_string(), |e| e.digest.clone()),
                            a.statement.clone(),
                        ]
                    })
                    .collect();
                table(&["ID", "CONTROL", "BY", "AT", "FILE", "STATEMENT"], &rows);
            });
        }
    }
    Ok(())
}

/// A framework's name for people, from its key.
fn framework_title(key: &str) -> &str {
    Framework::parse("framework", key).map(Framework::title).unwrap_or(key)
}

/// `nist-ai-rmf GV-1.6, MP-1.1; eu-ai-act Art. 11` from `{"nist-ai-rmf":[…],…}`.
fn references(frameworks: &Document) -> String {
    let Some(map) = frameworks.0.as_object() else { return String::new() };
    map.iter()
        .map(|(f, refs)| {
            let refs: Vec<&str> = refs.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            format!("{f} {}", refs.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn percent(ratio: f64) -> String {
    format!("{:.0}%", ratio * 100.0)
}

/// `(key, ratio, met, applicable)` per framework in the report, in the catalogue's order.
fn coverage(r: &ComplianceView) -> Vec<(String, f64, u32, u32)> {
    let mut rows: Vec<(String, f64, u32, u32)> = r
        .coverage
        .iter()
        .map(|(f, ratio)| {
            let detail = r.coverage_detail.get(f);
            (f.clone(), *ratio, detail.map_or(0, |d| d.met), detail.map_or(0, |d| d.applicable))
        })
        .collect();
    let order = |key: &str| Framework::ALL.iter().position(|f| f.as_str() == key).unwrap_or(usize::MAX);
    rows.sort_by_key(|row| order(&row.0));
    rows
}

fn headline(r: &ComplianceView) -> String {
    let framework = r.framework.as_deref().map(|f| format!(", {} only", framework_title(f))).unwrap_or_default();
    format!(
        "project {}: tier {} ({}){framework}; catalogue {}; generated {}",
        r.project, r.tier, r.tier_source, r.catalogue_version, r.generated_at
    )
}

fn summary(r: &ComplianceView) -> String {
    let s = &r.summary;
    format!(
        "{} satisfied, {} attested, {} unsatisfied, {} not applicable",
        s.satisfied, s.attested, s.unsatisfied, s.not_applicable
    )
}

fn print_text(r: &ComplianceView) {
    println!("Compliance of {}", headline(r));
    println!();
    let rows: Vec<Vec<String>> =
        r.controls.iter().map(|c| vec![c.id.clone(), c.status.clone(), c.reason.clone()]).collect();
    table(&["ID", "STATUS", "REASON"], &rows);
    println!();
    println!("coverage (satisfied + attested of the applicable controls):");
    for (f, ratio, met, applicable) in coverage(r) {
        println!("  {:<22} {:>4}  ({met} of {applicable})", framework_title(&f), percent(ratio));
    }
    for n in &r.frameworks_not_applicable {
        println!("  {:<22} n/a   {}", framework_title(&n.framework), &n.reason);
    }
    println!("{}", summary(r));
}

/// Text safe inside a Markdown table cell: backslashes and pipes escaped, markup
/// characters as HTML references (so no text becomes inline HTML), one line.
fn md(text: &str) -> String {
    esc(&text.replace('\\', "\\\\").replace('|', "\\|")).replace(['\n', '\r'], " ")
}

fn markdown(r: &ComplianceView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Compliance report: {}\n", md(&r.project));
    let _ = writeln!(out, "{}\n", md(&headline(r)));
    let _ = writeln!(out, "## Coverage\n");
    let _ = writeln!(out, "| Framework | Coverage | Met | Applicable |\n|---|---:|---:|---:|");
    for (f, ratio, met, applicable) in coverage(r) {
        let _ = writeln!(out, "| {} | {} | {met} | {applicable} |", md(framework_title(&f)), percent(ratio));
    }
    for n in &r.frameworks_not_applicable {
        let _ = writeln!(out, "| {} | n/a | – | – |", md(framework_title(&n.framework)));
    }
    out.push('\n');
    for n in &r.frameworks_not_applicable {
        let _ = writeln!(out, "{} does not apply: {}\n", md(framework_title(&n.framework)), md(&n.reason));
    }
    let _ = writeln!(out, "## Controls\n");
    let _ = writeln!(out, "| ID | Control | Check | Status | Reason | References |\n|---|---|---|---|---|---|");
    for c in &r.controls {
        let _ = writeln!(
            out,
            "| {} | {} | {} | **{}** | {} | {} |",
            md(&c.id),
            md(&c.title),
            md(&c.check),
            md(&c.status),
            md(&c.reason),
            md(&references(&c.frameworks))
        );
    }
    let _ = writeln!(out, "\n{}.", summary(r));
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:75rem;\
padding:0 1rem;color:#1f2328;line-height:1.45}h1{margin-bottom:.2rem}p.meta{color:#59636e;margin-top:0}\
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border-bottom:1px solid #d1d9e0;padding:.4rem .5rem;\
text-align:left;vertical-align:top}th{background:#f6f8fa}td.id{font-weight:600;white-space:nowrap}\
td.refs{color:#59636e;font-size:.85em}.badge{display:inline-block;padding:.1rem .5rem;border-radius:1rem;\
font-size:.8em;font-weight:600;white-space:nowrap}.satisfied{background:#dafbe1;color:#116329}\
.attested{background:#ddf4ff;color:#0550ae}.unsatisfied{background:#ffebe9;color:#a40e26}\
.not_applicable{background:#eaeef2;color:#59636e}.bar{background:#eaeef2;border-radius:.3rem;height:.8rem;\
width:12rem;display:inline-block;vertical-align:middle}.bar span{display:block;height:100%;border-radius:.3rem;\
background:#1a7f37}footer{color:#59636e;font-size:.85em;margin-top:2rem}";

fn html(r: &ComplianceView) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let project = esc(&r.project);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Compliance report: {project}</title><style>{STYLE}</style></head><body>\
         <header><h1>Compliance report: {project}</h1><p class=\"meta\">{}</p></header>",
        esc(&headline(r))
    );
    out.push_str(
        "<section><h2>Coverage</h2><table><thead><tr><th>Framework</th><th>Coverage</th><th></th>\
                  <th>Met</th><th>Applicable</th></tr></thead><tbody>",
    );
    for (f, ratio, met, applicable) in coverage(r) {
        let width = (ratio * 100.0).clamp(0.0, 100.0);
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td><span class=\"bar\"><span style=\"width:{width:.1}%\"></span></span></td>\
             <td>{met}</td><td>{applicable}</td></tr>",
            esc(framework_title(&f)),
            percent(ratio)
        );
    }
    for n in &r.frameworks_not_applicable {
        let _ = write!(
            out,
            "<tr><td>{}</td><td><span class=\"badge not_applicable\">not applicable</span></td><td colspan=\"3\">{}</td></tr>",
            esc(framework_title(&n.framework)),
            esc(&n.reason)
        );
    }
    let _ = write!(out, "</tbody></table><p>{}.</p></section>", esc(&summary(r)));
    out.push_str(
        "<section><h2>Controls</h2><table><thead><tr><th>ID</th><th>Control</th><th>Status</th>\
                  <th>Reason</th><th>References</th></tr></thead><tbody>",
    );
    for c in &r.controls {
        let status = c.status.as_str();
        let class = match status {
            "satisfied" | "attested" | "unsatisfied" | "not_applicable" => status,
            _ => "not_applicable",
        };
        let _ = write!(
            out,
            "<tr><td class=\"id\">{}</td><td>{}<br><small>{}</small></td><td><span class=\"badge {class}\">{}</span></td>\
             <td>{}</td><td class=\"refs\">{}</td></tr>",
            esc(&c.id),
            esc(&c.title),
            esc(&c.check),
            esc(&status.replace('_', " ")),
            esc(&c.reason),
            esc(&references(&c.frameworks))
        );
    }
    out.push_str("</tbody></table></section><footer>riskops ");
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str(
        " · clause references are starting points to verify against the texts, not legal advice</footer></body></html>\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ComplianceView {
        serde_json::from_value(serde_json::json!({
            "project": "credit", "tier": "high", "tier_source": "register", "framework": null,
            "catalogue_version": "riskops-controls-2026.11", "generated_at": "2026-11-03T10:00:00Z",
            "controls": [
                {"id": "C07", "title": "validation <evidence>", "check": "auto", "status": "unsatisfied",
                 "reason": "scorer: production version 3 has no validation evidence | <script>alert(1)</script>",
                 "frameworks": {"nist-ai-rmf": ["MS-1.3"], "sr-11-7": ["V"]}},
                {"id": "C11", "title": "residual risk", "check": "attest", "status": "attested",
                 "reason": "attested by rita", "frameworks": {"nist-ai-rmf": ["MG-1.3"]}}
            ],
            "coverage": {"nist-ai-rmf": 0.5, "sr-11-7": 0.0},
            "coverage_detail": {"nist-ai-rmf": {"met": 1, "applicable": 2}, "sr-11-7": {"met": 0, "applicable": 1}},
            "frameworks_not_applicable": [{"framework": "hipaa", "reason": "no phi"}],
            "summary": {"satisfied": 0, "attested": 1, "unsatisfied": 1, "not_applicable": 0}
        }))
        .unwrap()
    }

    #[test]
    fn markdown_escapes_cells_and_lists_every_control_and_framework() {
        let m = markdown(&sample());
        assert!(m.starts_with("# Compliance report: credit\n"));
        assert!(m.contains("| NIST AI RMF 1.0 | 50% | 1 | 2 |"), "{m}");
        assert!(m.contains("| C07 | validation &lt;evidence&gt; | auto | **unsatisfied** |"), "{m}");
        assert!(m.contains("version 3 has no validation evidence \\| &lt;script&gt;"), "{m}");
        assert!(m.contains("HIPAA 45 CFR 164.312 does not apply: no phi"));
    }

    #[test]
    fn html_is_one_self_contained_page_with_escaped_text() {
        let h = html(&sample());
        assert!(h.starts_with("<!DOCTYPE html>") && h.trim_end().ends_with("</html>"));
        assert!(
            !h.contains("<script") && !h.contains("src=") && !h.contains("href=\"http"),
            "no scripts or remote files"
        );
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(h.contains("class=\"badge unsatisfied\"") && h.contains("class=\"badge attested\""));
        assert!(h.contains("width:50.0%"));
    }
}
