//! Prometheus metrics, served at `GET /metrics` in the text exposition format.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `asom_http_requests_total` | counter | `method`, `route`, `status` |
//! | `asom_http_request_duration_seconds` | histogram | `route` |
//! | `asom_gate_decisions_total` | counter | `gate`, `result` |
//! | `asom_ledger_entries_written_total` | counter | `kind` (`evidence`, `decision`, `promotion`) |
//! | `asom_ledger_size` | gauge, read at scrape time | `tenant` |
//!
//! Routes are the route templates (`/t/{tenant}/v1/evidence`), never the
//! raw paths, so the label sets stay bounded.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GateLabels {
    gate: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    decisions: Family<GateLabels, Counter>,
    written: Family<KindLabels, Counter>,
    ledger_size: Family<TenantLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics, all zero.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "asom_http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.25 ms to about 8 s.
            Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
        });
        registry.register(
            "asom_http_request_duration_seconds",
            "Time from the request's arrival to its answer, by route template",
            latency.clone(),
        );
        let decisions = Family::<GateLabels, Counter>::default();
        registry.register(
            "asom_gate_decisions",
            "Gate decisions recorded, by gate and result (pass, block, would-block, override)",
            decisions.clone(),
        );
        let written = Family::<KindLabels, Counter>::default();
        registry.register(
            "asom_ledger_entries_written",
            "Ledger entries this process appended (duplicates excluded), by kind",
            written.clone(),
        );
        let ledger_size = Family::<TenantLabels, Gauge>::default();
        registry.register(
            "asom_ledger_size",
            "Entries in the tenant's log at its latest signed checkpoint",
            ledger_size.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            decisions,
            written,
            ledger_size,
        }
    }

    /// Counts one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Counts a recorded gate decision.
    pub fn gate_decision(&self, gate: &str, result: &str) {
        self.decisions
            .get_or_create(&GateLabels {
                gate: gate.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts an entry written (call only for new entries).
    pub fn entry_written(&self, kind: &str) {
        self.written
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// Sets a tenant's log size (read when scraped).
    pub fn set_ledger_size(&self, tenant: &str, size: u64) {
        self.ledger_size
            .get_or_create(&TenantLabels {
                tenant: tenant.to_owned(),
            })
            .set(i64::try_from(size).unwrap_or(i64::MAX));
    }

    /// The text exposition of every metric.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics");
        }
        out
    }
}
