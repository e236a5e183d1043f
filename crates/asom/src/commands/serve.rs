//! `asom serve`: the embedded store's ledger over HTTP (see the
//! `asom-server` crate for what is served). Stops on SIGINT or SIGTERM after
//! finishing the requests in flight.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};

use crate::cli::ServeArgs;
use crate::context::{Embedded, OutsideSystems};
use crate::exit::{CliError, CliResult};
use crate::printer::note;

pub fn run(ctx: &Embedded, args: &ServeArgs, config: Option<&Path>) -> CliResult {
    let store: Arc<dyn asom_store::Store + Send + Sync> = ctx.store.clone();
    // Every tenant's outside systems, from its section of the configuration.
    let mut systems = BTreeMap::new();
    for tenant in ctx.store.tenants()? {
        let tenant_config = crate::config::Config::load(&ctx.dir, &tenant.slug, config)?;
        systems.insert(tenant.slug, OutsideSystems::of(&tenant_config));
    }
    let factory: asom_server::GovernanceFactory = Arc::new(move |store, tenant| {
        let gov = asom_governance::Governance::new(store, tenant);
        match systems.get(tenant) {
            Some(s) => s.attach(gov),
            None => gov,
        }
    });
    let policies = asom_server::Policies::new(args.pack.clone());
    // Load and check the pack now: a server that cannot decide must not start.
    policies.pack()?;
    let state = asom_server::AppState::new(store)
        .with_governance(factory)
        .with_policies(policies)
        .with_limits(asom_server::Limits {
            max_body_bytes: args.max_body_bytes,
            request_timeout: Duration::from_secs(args.request_timeout),
        })
        .with_public_entries(args.public_entries);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| CliError::usage(anyhow!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener.local_addr().context("the listening address")?;
        note(&format!(
            "asom serve: listening on http://{addr} (POST /t/<tenant>/v1/…, GET /t/<tenant>/checkpoint, /t/<tenant>/tile/…, /metrics, /openapi.json)"
        ));
        if !addr.ip().is_loopback() {
            note(
                "asom serve: note: plain HTTP beyond loopback; bearer tokens cross the network in the clear \
                 unless a TLS-terminating proxy stands in front (docs/server.md)",
            );
        }
        asom_server::serve(listener, state, shutdown())
            .await
            .context("serving")?;
        note("asom serve: stopped");
        Ok(())
    })
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
