//! Jira as asom's planning system, over REST API v2:
//! `GET /rest/api/2/issue/<KEY>?fields=summary,status,parent,fixVersions,<criteria field>`.
//!
//! Acceptance criteria live in a field each organisation chooses (a custom
//! field, e.g. `customfield_10020`, or `description`): configure its id. Its
//! text (API v2 returns plain text or wiki markup) becomes one criterion per
//! non-empty line, with list markers (`*`, `-`, `#`, `1.`) removed. The epic
//! is the issue's `parent` (team-managed and newer company-managed projects)
//! or, when configured, the epic-link custom field.

use asom_core::crq::ReadRecord;
use asom_core::release::JiraKey;
use asom_governance::stories::{PlanningError, PlanningSystem, Story};
use serde_json::Value;

use crate::http::{Client, HttpConfig, HttpError};

/// The Jira planning system.
#[derive(Debug)]
pub struct Jira {
    client: Client,
    criteria_field: String,
    epic_field: Option<String>,
}

impl Jira {
    /// A connection reading acceptance criteria from `criteria_field` (and
    /// the epic from `epic_field`, when issues have no `parent`).
    #[must_use]
    pub fn new(http: HttpConfig, criteria_field: &str, epic_field: Option<&str>) -> Self {
        Self {
            client: Client::new(http),
            criteria_field: criteria_field.to_owned(),
            epic_field: epic_field.map(str::to_owned),
        }
    }

    /// Checks that Jira answers and who asom is there (`asom doctor`).
    pub fn check(&self) -> Result<String, HttpError> {
        let r = self.client.get_json("/rest/api/2/myself")?;
        Ok(format!(
            "{} as {}",
            r.url,
            r.json["name"]
                .as_str()
                .or_else(|| r.json["emailAddress"].as_str())
                .or_else(|| r.json["accountId"].as_str())
                .unwrap_or("?")
        ))
    }
}

impl PlanningSystem for Jira {
    #[allow(clippy::unnecessary_literal_bound)] // The trait's signature.
    fn provider(&self) -> &str {
        "jira"
    }

    fn read_story(&self, key: &JiraKey) -> Result<Story, PlanningError> {
        let mut fields = vec![
            "summary",
            "status",
            "parent",
            "fixVersions",
            &self.criteria_field,
        ];
        if let Some(epic) = &self.epic_field {
            fields.push(epic);
        }
        let path = format!(
            "/rest/api/2/issue/{}?fields={}",
            key.as_str(),
            fields.join(",")
        );
        let response = self.client.get_json(&path).map_err(|e| match e {
            HttpError::NotFound { .. } => PlanningError::NotFound(key.as_str().to_owned()),
            e => PlanningError::Unavailable(format!("Jira: {e}")),
        })?;
        let json = &response.json;
        let f = &json["fields"];
        if !f.is_object() || json["key"].as_str() != Some(key.as_str()) {
            return Err(PlanningError::Unavailable(format!(
                "Jira: {}: the answer is not issue {key} with its fields",
                response.url
            )));
        }
        let summary = f["summary"].as_str().unwrap_or_default().trim().to_owned();
        let criteria = criteria_of(&f[self.criteria_field.as_str()]);
        let epic = f["parent"]["key"].as_str().map(str::to_owned).or_else(|| {
            self.epic_field
                .as_ref()
                .and_then(|e| f[e.as_str()].as_str().map(str::to_owned))
        });
        Ok(Story {
            key: key.as_str().to_owned(),
            summary: if summary.is_empty() {
                "(no summary)".to_owned()
            } else {
                summary
            },
            epic,
            acceptance_criteria: criteria,
            source: "jira".to_owned(),
            observed: Some(ReadRecord {
                sources: vec![response.url],
                response_sha256: response.sha256.to_hex(),
            }),
        })
    }
}

/// One criterion per non-empty line of the field's text, list markers
/// removed. A missing, null or non-text field has none.
#[must_use]
pub fn criteria_of(value: &Value) -> Vec<String> {
    let Some(text) = value.as_str() else {
        return Vec::new();
    };
    text.lines()
        .map(|line| {
            let line = line.trim();
            let line = line.trim_start_matches(['*', '-', '#', '•']).trim_start();
            // "1." / "1)" numbering.
            let digits = line.chars().take_while(char::is_ascii_digit).count();
            if digits > 0 && line[digits..].starts_with(['.', ')']) {
                line[digits + 1..].trim().to_owned()
            } else {
                line.to_owned()
            }
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn criteria_are_lines_without_list_markers() {
        let v = json!(
            "* re-running a batch changes no row\n\n- card numbers masked\n# third\n2. fourth\n  plain  "
        );
        assert_eq!(
            criteria_of(&v),
            [
                "re-running a batch changes no row",
                "card numbers masked",
                "third",
                "fourth",
                "plain"
            ]
        );
        assert!(criteria_of(&json!(null)).is_empty());
        assert!(criteria_of(&json!({"type": "doc"})).is_empty());
        assert!(criteria_of(&json!("  \n * \n")).is_empty());
    }
}
