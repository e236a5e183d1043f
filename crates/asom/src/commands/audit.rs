//! `asom audit <release>`: the audit walkthrough as Markdown (also the text
//! form), self-contained HTML (no external assets; reads on screen and
//! printed) or JSON (the same content as data).

use std::fmt::Write as _;

use asom_core::release::ReleaseId;
use asom_governance::audit::{AuditReport, Cell};
use asom_server::api::ops::audits::Audit;

use crate::cli::{AuditArgs, Format};
use crate::commands::{Runner, parse};
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

pub fn run(ctx: &Embedded, args: &AuditArgs, printer: &Printer) -> CliResult {
    run_on(&Runner::local(ctx, args.pack.as_deref()), args, printer)
}

/// `asom audit`, in process or on a server.
pub fn run_on(runner: &Runner<'_>, args: &AuditArgs, printer: &Printer) -> CliResult {
    // Checked here too, so a bad name never reaches a server.
    parse::<ReleaseId>("release", &args.release)?;
    let document = runner.call(Audit {
        release: args.release.clone(),
    })?;
    let report: AuditReport = serde_json::from_value(document.0).map_err(|e| {
        CliError::usage(anyhow::anyhow!(
            "the audit report is not an asom.audit.v1 document this asom can read: {e}"
        ))
    })?;
    match printer.format() {
        Format::Json => printer.json(&report),
        Format::Html => printer.text(&html(&report)),
        Format::Text | Format::Markdown => printer.text(&markdown(&report)),
    }
}

/// The gates in column order.
const GATES: [&str; 4] = ["G1", "G2", "G3", "G4"];

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// A Markdown table cell: no pipes, no line breaks.
fn md(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn cell_text(c: &Cell) -> String {
    let mut out = c.status.clone();
    if !c.entries.is_empty() {
        let shown: Vec<String> = c.entries.iter().take(3).map(|i| format!("#{i}")).collect();
        let more = c.entries.len().saturating_sub(3);
        let _ = write!(
            out,
            " ({}{})",
            shown.join(", "),
            if more > 0 {
                format!(" +{more}")
            } else {
                String::new()
            }
        );
    }
    out
}

/// The walkthrough as Markdown.
#[allow(clippy::too_many_lines)] // Nine sections, in the walkthrough's order.
pub fn markdown(r: &AuditReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Audit walkthrough: `{}`\n", r.release);
    let _ = writeln!(
        o,
        "Tenant `{}`, product `{}` (team {}, {} data, change type {}). Read from the ledger at size {} (root `{}`), {}.\n",
        r.tenant,
        r.product.slug,
        r.product.team,
        r.product.classification.as_str(),
        r.product.change_type.as_str(),
        r.log.size,
        short(&r.log.root),
        r.generated_at
    );
    let _ = writeln!(
        o,
        "Every statement below is a ledger record: check any entry offline with `asom ledger proof <index>` and the verifier key, or the whole release with `asom export` and `asom verify-bundle`.\n"
    );

    let _ = writeln!(o, "## 1. The change request\n");
    match &r.crq {
        Some(c) => {
            let _ = writeln!(
                o,
                "CRQ **{}**, {} change, state **{}**{}.\n",
                c["number"].as_str().unwrap_or("?"),
                c["crq_type"].as_str().unwrap_or("?"),
                c["state"].as_str().unwrap_or("?"),
                c["window"]
                    .as_object()
                    .map(|w| format!(
                        ", change window {} to {}",
                        w.get("start").and_then(|v| v.as_str()).unwrap_or("?"),
                        w.get("end").and_then(|v| v.as_str()).unwrap_or("?")
                    ))
                    .unwrap_or_default()
            );
            if let Some(history) = c["history"].as_array().filter(|h| !h.is_empty()) {
                let _ = writeln!(o, "| from | to | by | at |\n|---|---|---|---|");
                for t in history {
                    let _ = writeln!(
                        o,
                        "| {} | {} | {} | {} |",
                        t["from"].as_str().unwrap_or(""),
                        t["to"].as_str().unwrap_or(""),
                        t["by"].as_str().unwrap_or(""),
                        t["at"].as_str().unwrap_or("")
                    );
                }
                o.push('\n');
            }
        }
        None => {
            let _ = writeln!(o, "**No CRQ**: the release has no change request.\n");
        }
    }

    let _ = writeln!(o, "## 2. The Jira scope\n");
    if r.scope.is_empty() {
        let _ = writeln!(o, "**The scope is empty.**\n");
    }
    for s in &r.scope {
        match &s.story {
            Some(story) => {
                let _ = writeln!(
                    o,
                    "- **{}** {} (source: {}{})",
                    s.key,
                    md(&story.summary),
                    story.source,
                    story
                        .epic
                        .as_ref()
                        .map(|e| format!(", epic {e}"))
                        .unwrap_or_default()
                );
                if story.acceptance_criteria.is_empty() {
                    let _ = writeln!(o, "  - *no acceptance criteria recorded*");
                }
                for c in &story.acceptance_criteria {
                    let _ = writeln!(o, "  - {}", md(c));
                }
            }
            None => {
                let _ = writeln!(o, "- **{}** *(no story recorded)*", s.key);
            }
        }
    }
    o.push('\n');

    let _ = writeln!(
        o,
        "## 3. The release's ledger entries ({})\n",
        r.entries.len()
    );
    let _ = writeln!(o, "| index | kind | by | at | id |\n|---:|---|---|---|---|");
    for e in &r.entries {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | `{}` |",
            e.index,
            e.kind,
            e.appended_by,
            e.appended_at,
            short(&e.id)
        );
    }
    o.push('\n');

    let _ = writeln!(o, "## 4. Control coverage\n");
    let _ = writeln!(
        o,
        "Entries are ledger indexes (#n). `not checked`: the catalog does not check the control at that gate for this product.\n"
    );
    let _ = writeln!(
        o,
        "| control | proof | G1 | G2 | G3 | G4 |\n|---|---|---|---|---|---|"
    );
    for row in &r.coverage {
        let cells: Vec<String> = GATES
            .iter()
            .map(|g| {
                row.gates
                    .get(*g)
                    .map(|c| md(&cell_text(c)))
                    .unwrap_or_default()
            })
            .collect();
        let _ = writeln!(
            o,
            "| {} {} | {} | {} |",
            row.control,
            md(&row.title),
            row.proof,
            cells.join(" | ")
        );
    }
    let notes: Vec<String> = r
        .coverage
        .iter()
        .flat_map(|row| {
            GATES.iter().filter_map(move |g| {
                row.gates
                    .get(*g)
                    .and_then(|c| c.note.as_ref())
                    .filter(|_| {
                        row.gates[*g].status.starts_with("override")
                            || row.gates[*g].status == "N/A"
                    })
                    .map(|n| format!("- {} at {g}: {n}", row.control))
            })
        })
        .collect();
    if !notes.is_empty() {
        o.push('\n');
        for n in notes {
            let _ = writeln!(o, "{n}");
        }
    }
    o.push('\n');

    let _ = writeln!(
        o,
        "## 5. Evidence, traced to its artifacts ({})\n",
        r.evidence.len()
    );
    let _ = writeln!(
        o,
        "| # | control | cat. | status | artifact | sha256 | producer | commit | env | counts |\n|---:|---|---|---|---|---|---|---|---|---|"
    );
    for e in &r.evidence {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} `{}` | `{}` | {} | `{}` | {} | {} |",
            e.index,
            e.control,
            e.category.as_deref().unwrap_or("-"),
            e.status,
            e.source_type,
            md(&e.source_ref),
            short(&e.sha256),
            e.producer,
            e.commit.get(..12).unwrap_or(&e.commit),
            e.environment,
            if e.counted {
                "yes".to_owned()
            } else {
                format!("no: {}", md(e.not_counted_because.as_deref().unwrap_or("")))
            }
        );
    }
    o.push('\n');

    let _ = writeln!(o, "## 6. Human approvals\n");
    let _ = writeln!(
        o,
        "| what | decision | by | at | standing |\n|---|---|---|---|---|"
    );
    for a in &r.approvals {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            md(&a.what),
            a.decision,
            md(&a.by),
            a.at,
            if a.standing { "yes" } else { "superseded" }
        );
    }
    o.push('\n');

    let _ = writeln!(o, "## 7. Separation of duties\n");
    for s in &r.sod {
        let _ = writeln!(
            o,
            "- **{}**: {}; eligible approvers: {}",
            s.stage,
            if s.holds { "holds" } else { "**broken**" },
            if s.eligible_approvers.is_empty() {
                "none".to_owned()
            } else {
                s.eligible_approvers.join(", ")
            }
        );
        for v in &s.violations {
            let _ = writeln!(o, "  - {}", md(v));
        }
    }
    o.push('\n');

    let _ = writeln!(o, "## 8. Gate decisions\n");
    let _ = writeln!(
        o,
        "| # | gate | result | mode | at | asked by | controls named | replay |\n|---:|---|---|---|---|---|---|---|"
    );
    for d in &r.decisions {
        let _ = writeln!(
            o,
            "| {} | {} | **{}** | {} | {} | {} | {} | {} |",
            d.index,
            d.gate,
            d.result,
            d.mode,
            d.at,
            d.asked_by,
            d.controls.join(", "),
            md(&d.replay)
        );
    }
    o.push('\n');

    for d in r.decisions.iter().filter(|d| !d.violations.is_empty()) {
        let resolved = r
            .decisions
            .iter()
            .find(|later| later.gate == d.gate && later.index > d.index && later.result == "pass");
        let _ = writeln!(
            o,
            "### What {} decision #{} ({}) named{}\n",
            d.gate,
            d.index,
            d.result,
            resolved.map_or_else(
                || ", not resolved since".to_owned(),
                |p| format!(", resolved by #{} (pass)", p.index)
            )
        );
        for v in &d.violations {
            let _ = writeln!(
                o,
                "- **{}** {}\n  - fix: {}",
                v.control,
                md(&v.reason),
                md(&v.remediation)
            );
        }
        o.push('\n');
    }

    let _ = writeln!(o, "## 9. Overrides, N/A exceptions and promotions\n");
    if r.overrides.is_empty() {
        let _ = writeln!(o, "No emergency override.\n");
    }
    for ov in &r.overrides {
        let x = &ov.record;
        let _ = writeln!(
            o,
            "- override `{}` of {} (CRQ {}): **{}**; defers {} until {}; compensating: {}; requested by {}{}{}",
            short(&x.id),
            x.gate,
            x.crq,
            ov.status,
            x.deferred.join(", "),
            x.deadline,
            md(&x.compensating.join("; ")),
            x.requested_by,
            x.approved_by
                .as_ref()
                .map(|a| format!(", approved by {a}"))
                .unwrap_or_default(),
            x.remediated_by
                .as_ref()
                .map(|a| format!(", remediated by {a}"))
                .unwrap_or_default()
        );
    }
    if r.exceptions.is_empty() {
        let _ = writeln!(o, "No N/A exception.\n");
    }
    for e in &r.exceptions {
        let _ = writeln!(
            o,
            "- N/A `{}` of {}: {}; requested by {}{}",
            short(&e.id),
            e.control,
            md(&e.justification),
            e.requested_by,
            e.approved_by.as_ref().map_or_else(
                || ", **not approved**".to_owned(),
                |a| format!(", approved by {a}")
            )
        );
    }
    if r.promotions.is_empty() {
        let _ = writeln!(o, "Not promoted.");
    }
    for p in &r.promotions {
        let _ = writeln!(
            o,
            "- promoted to **{}** by {} at {} on {} decision `{}`",
            p.environment,
            p.deployer,
            p.at,
            p.gate,
            short(&p.decision)
        );
    }
    let _ = writeln!(
        o,
        "\n## The signed checkpoint\n\n```\n{}```",
        r.log.checkpoint
    );
    o
}

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:75rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}pre{background:#f6f8fa;padding:.6rem;overflow-x:auto}
.pass,.approved,.holds,.identical{color:#1a7f37;font-weight:600}.fail,.block,.broken,.rejected,.missing{color:#cf222e;font-weight:600}
.override,.pending,.would-block{color:#9a6700;font-weight:600}.muted{color:#656d76}
@media print{body{margin:0;max-width:none;font-size:10pt}h2{break-after:avoid}tr{break-inside:avoid}a{color:inherit}}";

fn status_class(status: &str) -> &'static str {
    match status.split_whitespace().next().unwrap_or("") {
        "pass" | "approved" | "holds" | "identical" | "verified" => "pass",
        "fail" | "block" | "broken" | "rejected" | "missing" => "fail",
        "override" | "pending" | "would-block" | "N/A" => "override",
        _ => "muted",
    }
}

/// The walkthrough as one self-contained HTML page.
#[allow(clippy::too_many_lines)] // Nine sections, in the walkthrough's order.
pub fn html(r: &AuditReport) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Audit walkthrough: {}</title><style>{CSS}</style></head><body>\n",
        esc(&r.release)
    );
    let _ = writeln!(
        o,
        "<h1>Audit walkthrough: <code>{}</code></h1>",
        esc(&r.release)
    );
    let _ = writeln!(
        o,
        "<p>Tenant <code>{}</code>, product <code>{}</code> (team {}, {} data, change type {}). Read from the ledger at size {} (root <code>{}</code>), {}. Every statement is a ledger record; check any entry offline with <code>asom ledger proof &lt;index&gt;</code> and the verifier key, or the whole release with <code>asom export</code> and <code>asom verify-bundle</code>.</p>",
        esc(&r.tenant),
        esc(r.product.slug.as_str()),
        esc(r.product.team.as_str()),
        esc(r.product.classification.as_str()),
        esc(r.product.change_type.as_str()),
        r.log.size,
        esc(short(&r.log.root)),
        esc(&r.generated_at)
    );

    let _ = writeln!(o, "<h2>1. The change request</h2>");
    match &r.crq {
        Some(c) => {
            let _ = writeln!(
                o,
                "<p>CRQ <strong>{}</strong>, {} change, state <strong>{}</strong>.</p>",
                esc(c["number"].as_str().unwrap_or("?")),
                esc(c["crq_type"].as_str().unwrap_or("?")),
                esc(c["state"].as_str().unwrap_or("?"))
            );
            if let Some(h) = c["history"].as_array().filter(|h| !h.is_empty()) {
                let _ = writeln!(
                    o,
                    "<table><tr><th>from</th><th>to</th><th>by</th><th>at</th></tr>"
                );
                for t in h {
                    let _ = writeln!(
                        o,
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(t["from"].as_str().unwrap_or("")),
                        esc(t["to"].as_str().unwrap_or("")),
                        esc(t["by"].as_str().unwrap_or("")),
                        esc(t["at"].as_str().unwrap_or(""))
                    );
                }
                let _ = writeln!(o, "</table>");
            }
        }
        None => {
            let _ = writeln!(
                o,
                "<p class=\"fail\">No CRQ: the release has no change request.</p>"
            );
        }
    }

    let _ = writeln!(o, "<h2>2. The Jira scope</h2><ul>");
    for s in &r.scope {
        match &s.story {
            Some(story) => {
                let _ = write!(
                    o,
                    "<li><strong>{}</strong> {} <span class=\"muted\">(source: {})</span><ul>",
                    esc(&s.key),
                    esc(&story.summary),
                    esc(&story.source)
                );
                if story.acceptance_criteria.is_empty() {
                    let _ = write!(o, "<li class=\"fail\">no acceptance criteria recorded</li>");
                }
                for c in &story.acceptance_criteria {
                    let _ = write!(o, "<li>{}</li>", esc(c));
                }
                let _ = writeln!(o, "</ul></li>");
            }
            None => {
                let _ = writeln!(
                    o,
                    "<li><strong>{}</strong> <span class=\"fail\">no story recorded</span></li>",
                    esc(&s.key)
                );
            }
        }
    }
    let _ = writeln!(o, "</ul>");

    let _ = writeln!(
        o,
        "<h2>3. The release's ledger entries ({})</h2><table><tr><th>index</th><th>kind</th><th>by</th><th>at</th><th>id</th></tr>",
        r.entries.len()
    );
    for e in &r.entries {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            e.index,
            esc(&e.kind),
            esc(&e.appended_by),
            esc(&e.appended_at),
            esc(short(&e.id))
        );
    }
    let _ = writeln!(o, "</table>");

    let _ = writeln!(
        o,
        "<h2>4. Control coverage</h2><table><tr><th>control</th><th>proof</th><th>G1</th><th>G2</th><th>G3</th><th>G4</th></tr>"
    );
    for row in &r.coverage {
        let _ = write!(
            o,
            "<tr><td>{} {}</td><td>{}</td>",
            esc(&row.control),
            esc(&row.title),
            esc(&row.proof)
        );
        for g in GATES {
            match row.gates.get(g) {
                Some(c) => {
                    let title = c.note.as_deref().map(esc).unwrap_or_default();
                    let _ = write!(
                        o,
                        "<td class=\"{}\" title=\"{title}\">{}</td>",
                        status_class(&c.status),
                        esc(&cell_text(c))
                    );
                }
                None => o.push_str("<td></td>"),
            }
        }
        o.push_str("</tr>\n");
    }
    let _ = writeln!(o, "</table>");

    let _ = writeln!(
        o,
        "<h2>5. Evidence, traced to its artifacts ({})</h2><table><tr><th>#</th><th>control</th><th>cat.</th><th>status</th><th>artifact</th><th>sha256</th><th>producer</th><th>commit</th><th>env</th><th>counts</th></tr>",
        r.evidence.len()
    );
    for e in &r.evidence {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{} <code>{}</code></td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            e.index,
            esc(&e.control),
            esc(e.category.as_deref().unwrap_or("-")),
            status_class(&e.status),
            esc(&e.status),
            esc(&e.source_type),
            esc(&e.source_ref),
            esc(short(&e.sha256)),
            esc(&e.producer),
            esc(e.commit.get(..12).unwrap_or(&e.commit)),
            esc(&e.environment),
            if e.counted {
                "yes".to_owned()
            } else {
                format!(
                    "no: {}",
                    esc(e.not_counted_because.as_deref().unwrap_or(""))
                )
            }
        );
    }
    let _ = writeln!(o, "</table>");

    let _ = writeln!(
        o,
        "<h2>6. Human approvals</h2><table><tr><th>what</th><th>decision</th><th>by</th><th>at</th><th>standing</th></tr>"
    );
    for a in &r.approvals {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.what),
            status_class(&a.decision),
            esc(&a.decision),
            esc(&a.by),
            esc(&a.at),
            if a.standing { "yes" } else { "superseded" }
        );
    }
    let _ = writeln!(o, "</table>");

    let _ = writeln!(o, "<h2>7. Separation of duties</h2><ul>");
    for s in &r.sod {
        let _ = write!(
            o,
            "<li><strong>{}</strong>: <span class=\"{}\">{}</span>; eligible approvers: {}",
            esc(&s.stage),
            if s.holds { "pass" } else { "fail" },
            if s.holds { "holds" } else { "broken" },
            esc(&s.eligible_approvers.join(", "))
        );
        if !s.violations.is_empty() {
            o.push_str("<ul>");
            for v in &s.violations {
                let _ = write!(o, "<li>{}</li>", esc(v));
            }
            o.push_str("</ul>");
        }
        o.push_str("</li>\n");
    }
    let _ = writeln!(o, "</ul>");

    let _ = writeln!(
        o,
        "<h2>8. Gate decisions</h2><table><tr><th>#</th><th>gate</th><th>result</th><th>mode</th><th>at</th><th>asked by</th><th>controls named</th><th>replay</th></tr>"
    );
    for d in &r.decisions {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            d.index,
            d.gate,
            status_class(&d.result),
            esc(&d.result),
            esc(&d.mode),
            esc(&d.at),
            esc(&d.asked_by),
            esc(&d.controls.join(", ")),
            status_class(&d.replay),
            esc(&d.replay)
        );
    }
    let _ = writeln!(o, "</table>");

    for d in r.decisions.iter().filter(|d| !d.violations.is_empty()) {
        let resolved = r
            .decisions
            .iter()
            .find(|later| later.gate == d.gate && later.index > d.index && later.result == "pass");
        let _ = writeln!(
            o,
            "<h3>What {} decision #{} ({}) named{}</h3><ul>",
            d.gate,
            d.index,
            esc(&d.result),
            resolved.map_or_else(
                || ", not resolved since".to_owned(),
                |p| format!(", resolved by #{} (pass)", p.index)
            )
        );
        for v in &d.violations {
            let _ = writeln!(
                o,
                "<li><strong>{}</strong> {}<br><span class=\"muted\">fix: {}</span></li>",
                esc(&v.control),
                esc(&v.reason),
                esc(&v.remediation)
            );
        }
        let _ = writeln!(o, "</ul>");
    }

    let _ = writeln!(
        o,
        "<h2>9. Overrides, N/A exceptions and promotions</h2><ul>"
    );
    for ov in &r.overrides {
        let x = &ov.record;
        let _ = writeln!(
            o,
            "<li>override <code>{}</code> of {}: <span class=\"{}\">{}</span>; defers {} until {}; compensating: {}</li>",
            esc(short(&x.id)),
            x.gate,
            status_class(&ov.status),
            esc(&ov.status),
            esc(&x.deferred.join(", ")),
            esc(&x.deadline),
            esc(&x.compensating.join("; "))
        );
    }
    for e in &r.exceptions {
        let _ = writeln!(
            o,
            "<li>N/A <code>{}</code> of {}: {} ({})</li>",
            esc(short(&e.id)),
            esc(&e.control),
            esc(&e.justification),
            esc(&e
                .approved_by
                .as_ref()
                .map_or_else(|| "not approved".to_owned(), |a| format!("approved by {a}")))
        );
    }
    for p in &r.promotions {
        let _ = writeln!(
            o,
            "<li>promoted to <strong>{}</strong> by {} at {} on {} decision <code>{}</code></li>",
            esc(&p.environment),
            esc(&p.deployer),
            esc(&p.at),
            p.gate,
            esc(short(&p.decision))
        );
    }
    if r.overrides.is_empty() && r.exceptions.is_empty() && r.promotions.is_empty() {
        let _ = writeln!(o, "<li class=\"muted\">none</li>");
    }
    let _ = writeln!(
        o,
        "</ul><h2>The signed checkpoint</h2><pre>{}</pre></body></html>",
        esc(&r.log.checkpoint)
    );
    o
}
