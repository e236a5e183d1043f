//! `asom serve`: the embedded store's ledger over HTTP (see the
//! `asom-server` crate for what is served). Stops on SIGINT or SIGTERM after
//! finishing the requests in flight.

use std::sync::Arc;

use anyhow::{Context as _, anyhow};

use crate::cli::ServeArgs;
use crate::context::Embedded;
use crate::exit::{CliError, CliResult};
use crate::printer::note;

pub fn run(ctx: &Embedded, args: &ServeArgs) -> CliResult {
    let store: Arc<dyn asom_store::Store + Send + Sync> = ctx.store.clone();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| CliError::usage(anyhow!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener.local_addr().context("the listening address")?;
        note(&format!(
            "asom serve: listening on http://{addr} (GET /t/<tenant>/checkpoint, /t/<tenant>/tile/…, /healthz)"
        ));
        if !addr.ip().is_loopback() {
            note(
                "asom serve: warning: no authentication yet, and entry bundles hold whole ledger entries; \
                 keep it behind an authenticating proxy (docs/server.md)",
            );
        }
        asom_server::serve(listener, asom_server::AppState::new(store), shutdown())
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
