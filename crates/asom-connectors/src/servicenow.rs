//! `ServiceNow` as asom's change system, over the Table API.
//!
//! Two reads per CRQ:
//!
//! 1. `GET /api/now/table/change_request?sysparm_query=number=<CRQ>` with
//!    `sys_id, number, state, approval, type, start_date, end_date,
//!    assignment_group` (raw values: `sysparm_display_value=false`);
//! 2. `GET /api/now/table/sysapproval_approver?sysparm_query=sysapproval=<sys_id>`
//!    with `state, sys_updated_on, approver.user_name, approver.email`, page
//!    by page (`sysparm_limit`/`sysparm_offset`) until a short page.
//!
//! `state` is ServiceNow's number: New -5, Assess -4, Authorize -3,
//! Scheduled -2, Implement -1, Review 0, Closed 3, Canceled 4.
//!
//! **When is a CRQ approved for QA or PROD?** Organisations model this
//! differently, so it is configuration ([`StageStates`]). The default: the
//! CRQ's `approval` is `approved`, and its state is Scheduled, Implement or
//! Review for QA, Implement or Review for PROD. When that holds, each
//! approver record in state `approved` is an approval for that stage (who and
//! when, from the record); a record in state `rejected` is a rejection for
//! both stages whatever the CRQ's state. A CRQ that moves back to a lower
//! state loses its approvals at the next read, so the next gate blocks.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use asom_core::crq::{
    Approval, ChangeSystem, ChangeSystemError, ChangeWindow, CrqNumber, CrqSnapshot, CrqState,
    CrqType, Decision, ReadRecord, Stage,
};
use serde_json::Value;
use time::OffsetDateTime;

use crate::http::{Client, HttpConfig, HttpError};

/// Records read per page of approvers.
const PAGE: usize = 100;

/// Which CRQ states mean "approved for QA" and "approved for PROD" (with the
/// CRQ's `approval` field `approved`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageStates {
    /// QA.
    pub qa: BTreeSet<CrqState>,
    /// PROD.
    pub prod: BTreeSet<CrqState>,
}

impl Default for StageStates {
    fn default() -> Self {
        Self {
            qa: [CrqState::Scheduled, CrqState::Implement, CrqState::Review].into(),
            prod: [CrqState::Implement, CrqState::Review].into(),
        }
    }
}

/// The `ServiceNow` change system.
#[derive(Debug)]
pub struct ServiceNow {
    client: Client,
    stages: StageStates,
}

impl ServiceNow {
    /// A connection with the given stage mapping.
    #[must_use]
    pub fn new(http: HttpConfig, stages: StageStates) -> Self {
        Self {
            client: Client::new(http),
            stages,
        }
    }

    /// Checks that the instance answers and the account may read change
    /// requests (`asom doctor`): one `change_request` record.
    pub fn check(&self) -> Result<String, HttpError> {
        let r = self
            .client
            .get_json("/api/now/table/change_request?sysparm_limit=1&sysparm_fields=sys_id")?;
        Ok(r.url)
    }

    fn read(&self, number: &CrqNumber) -> Result<(CrqSnapshot, ReadRecord), ChangeSystemError> {
        let unavailable = |e: HttpError| ChangeSystemError::Unavailable(format!("ServiceNow: {e}"));
        let crq_url = format!(
            "/api/now/table/change_request?sysparm_query=number%3D{}&sysparm_limit=1&sysparm_display_value=false&sysparm_exclude_reference_link=true&sysparm_fields=sys_id%2Cnumber%2Cstate%2Capproval%2Ctype%2Cstart_date%2Cend_date%2Cassignment_group",
            encode(number.as_str())
        );
        let first = self.client.get_json(&crq_url).map_err(unavailable)?;
        let mut sources = vec![first.url.clone()];
        let mut digests = first.sha256.to_hex();
        let record = result_list(&first.json, &first.url)?
            .first()
            .cloned()
            .ok_or_else(|| ChangeSystemError::NotFound(number.clone()))?;
        let field = |name: &str| -> Result<&str, ChangeSystemError> {
            record[name].as_str().ok_or_else(|| {
                ChangeSystemError::Unavailable(format!(
                    "ServiceNow: change_request {number} has no {name} field (the account may lack read access to it)"
                ))
            })
        };
        let sys_id = field("sys_id")?.to_owned();
        let state = state_of(field("state")?)?;
        let crq_type = match field("type")? {
            "normal" => CrqType::Normal,
            "standard" => CrqType::Standard,
            "emergency" => CrqType::Emergency,
            other => {
                return Err(ChangeSystemError::Unavailable(format!(
                    "ServiceNow: change_request {number} has type {other:?}; asom knows normal, standard and emergency"
                )));
            }
        };
        let approved = record["approval"].as_str() == Some("approved");
        let window = match (
            record["start_date"].as_str().filter(|s| !s.is_empty()),
            record["end_date"].as_str().filter(|s| !s.is_empty()),
        ) {
            (Some(start), Some(end)) => {
                ChangeWindow::new(glide_time(start)?, glide_time(end)?).ok()
            }
            _ => None,
        };

        let approvals = self.approvals(&sys_id, state, approved, &mut sources, &mut digests)?;
        let snapshot = CrqSnapshot {
            provider: "servicenow".to_owned(),
            number: number.clone(),
            crq_type,
            state,
            release: None,
            window,
            approvals,
        };
        let record = ReadRecord {
            sources,
            response_sha256: asom_ledger::Hash::of(digests.as_bytes()).to_hex(),
        };
        Ok((snapshot, record))
    }

    /// The approver records of a CRQ, page by page, as approvals (see the
    /// module docs for which count for which stage).
    fn approvals(
        &self,
        sys_id: &str,
        state: CrqState,
        approved: bool,
        sources: &mut Vec<String>,
        digests: &mut String,
    ) -> Result<Vec<Approval>, ChangeSystemError> {
        let unavailable = |e: HttpError| ChangeSystemError::Unavailable(format!("ServiceNow: {e}"));
        let mut approvals = Vec::new();
        let mut offset = 0;
        loop {
            let url = format!(
                "/api/now/table/sysapproval_approver?sysparm_query=sysapproval%3D{}%5EORDERBYsys_updated_on&sysparm_display_value=false&sysparm_exclude_reference_link=true&sysparm_fields=sys_id%2Cstate%2Csys_updated_on%2Capprover.user_name%2Capprover.email&sysparm_limit={PAGE}&sysparm_offset={offset}",
                encode(sys_id)
            );
            let page = self.client.get_json(&url).map_err(unavailable)?;
            sources.push(page.url.clone());
            digests.push_str(&page.sha256.to_hex());
            let records = result_list(&page.json, &page.url)?;
            for r in records {
                let who = r["approver.user_name"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .or_else(|| r["approver.email"].as_str().filter(|s| !s.is_empty()));
                let Some(who) = who else { continue };
                let at = match r["sys_updated_on"].as_str() {
                    Some(t) => glide_time(t)?,
                    None => continue,
                };
                let decision = match r["state"].as_str() {
                    Some("approved") => Decision::Approved,
                    Some("rejected") => Decision::Rejected,
                    _ => continue,
                };
                for stage in Stage::ALL {
                    let counts = match decision {
                        Decision::Rejected => true,
                        Decision::Approved => approved && self.states(stage).contains(&state),
                    };
                    if counts {
                        approvals.push(Approval {
                            stage,
                            decision,
                            approver: who.to_owned(),
                            role: None,
                            at,
                            comment: None,
                        });
                    }
                }
            }
            if records.len() < PAGE {
                break;
            }
            offset += PAGE;
        }
        Ok(approvals)
    }

    fn states(&self, stage: Stage) -> &BTreeSet<CrqState> {
        match stage {
            Stage::Qa => &self.stages.qa,
            Stage::Prod => &self.stages.prod,
        }
    }
}

impl ChangeSystem for ServiceNow {
    #[allow(clippy::unnecessary_literal_bound)] // The trait's signature.
    fn provider(&self) -> &str {
        "servicenow"
    }

    fn read_crq(&self, number: &CrqNumber) -> Result<CrqSnapshot, ChangeSystemError> {
        self.read(number).map(|(s, _)| s)
    }

    fn read_crq_observed(
        &self,
        number: &CrqNumber,
    ) -> Result<(CrqSnapshot, ReadRecord), ChangeSystemError> {
        self.read(number)
    }
}

/// The `result` array of a Table API answer.
fn result_list<'v>(json: &'v Value, url: &str) -> Result<&'v Vec<Value>, ChangeSystemError> {
    json["result"].as_array().ok_or_else(|| {
        ChangeSystemError::Unavailable(format!(
            "ServiceNow: {url}: the answer has no \"result\" array (is this a ServiceNow Table API URL?)"
        ))
    })
}

/// ServiceNow's numeric state.
pub fn state_of(value: &str) -> Result<CrqState, ChangeSystemError> {
    Ok(match value.trim() {
        "-5" => CrqState::New,
        "-4" => CrqState::Assess,
        "-3" => CrqState::Authorize,
        "-2" => CrqState::Scheduled,
        "-1" => CrqState::Implement,
        "0" => CrqState::Review,
        "3" => CrqState::Closed,
        "4" => CrqState::Canceled,
        other => {
            return Err(ChangeSystemError::Unavailable(format!(
                "ServiceNow: unknown change_request state {other:?} (asom knows -5 New .. 0 Review, 3 Closed, 4 Canceled)"
            )));
        }
    })
}

/// A glide date-time as the Table API returns it without display values:
/// `2026-11-21 10:00:00`, UTC.
fn glide_time(text: &str) -> Result<OffsetDateTime, ChangeSystemError> {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::PrimitiveDateTime::parse(text.trim(), &format)
        .map(time::PrimitiveDateTime::assume_utc)
        .map_err(|e| {
            ChangeSystemError::Unavailable(format!(
                "ServiceNow: date-time {text:?} is not YYYY-MM-DD hh:mm:ss: {e}"
            ))
        })
}

/// Percent-encodes a query value (CRQ numbers and `sys_id`s are alphanumeric;
/// anything else is encoded so it cannot change the query).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_times() {
        assert_eq!(state_of("-2").unwrap(), CrqState::Scheduled);
        assert_eq!(state_of("0").unwrap(), CrqState::Review);
        assert!(state_of("7").is_err());
        assert!(state_of("").is_err());
        let t = glide_time("2026-11-21 10:00:00").unwrap();
        assert_eq!(t.hour(), 10);
        assert!(glide_time("21/11/2026").is_err());
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("CHG0031234"), "CHG0031234");
        assert_eq!(encode("CHG1^ORnumber=X"), "CHG1%5EORnumber%3DX");
    }
}
