//! Connectors to the systems of record asom reads and never replaces:
//!
//! - [`servicenow::ServiceNow`], the change system (a [`ChangeSystem`]):
//!   `change_request` and `sysapproval_approver` over the Table API;
//! - [`jira::Jira`], the planning system (a [`PlanningSystem`]): issues with
//!   their acceptance criteria over REST API v2.
//!
//! Both go through [`http::Client`]: timeouts, retries with backoff on 429
//! and 5xx honouring `Retry-After`, a response size limit, and errors that
//! say what to fix without ever showing a credential. A read that fails is an
//! error, never a default: the gate that asked blocks and says why.
//!
//! [`ChangeSystem`]: asom_core::crq::ChangeSystem
//! [`PlanningSystem`]: asom_governance::stories::PlanningSystem

pub mod http;
pub mod jira;
pub mod servicenow;
