//! `asom init`: create the asom directory, the embedded store, a tenant, its
//! Ed25519 log key and a first admin token (printed once, stored hashed).

use std::fs;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use asom_core::principal::{Principal, Role, Slug, TokenSecret};
use asom_ledger::note::{NoteSigner, check_key_name};
use asom_store::{NewEntry, Tenant, TokenRecord};
use serde_json::json;

use crate::cli::{GlobalArgs, InitArgs};
use crate::context::{KEYS_DIR, StoreUrl, now, pinned_clock, random_bytes, write_key_file};
use crate::exit::{CliError, CliResult};
use crate::printer::Printer;

/// Where the new store goes; an embedded one must not exist yet.
fn new_store_url(global: &GlobalArgs) -> CliResult<StoreUrl> {
    let url = StoreUrl::resolve(&global.dir, global.store.as_deref())?;
    if let StoreUrl::Sqlite(db) = &url
        && db.exists()
    {
        return Err(CliError::usage(anyhow!(
            "{} already holds an asom store; use it as it is, or remove the directory to start over",
            global.dir.display()
        )));
    }
    Ok(url)
}

/// The slug of the first admin principal.
pub const ADMIN: &str = "admin";

pub fn run(global: &GlobalArgs, args: &InitArgs, printer: &Printer) -> CliResult {
    let dir = &global.dir;
    let tenant =
        Slug::new(&global.tenant).map_err(|e| CliError::usage(anyhow!("--tenant: {e}")))?;
    let url = new_store_url(global)?;
    let origin = match &args.origin {
        Some(o) => o.clone(),
        None => format!(
            "asom.local/{}/{}",
            &hex::encode(random_bytes()?)[..16],
            tenant.as_str()
        ),
    };
    check_key_name(&origin).map_err(|e| CliError::usage(anyhow!("--origin {origin:?}: {e}")))?;

    create_private_dir(dir)?;
    create_private_dir(&dir.join(KEYS_DIR))?;
    let signer =
        NoteSigner::from_seed(&origin, random_bytes()?).map_err(|e| CliError::usage(anyhow!(e)))?;
    let key_path = dir
        .join(KEYS_DIR)
        .join(format!("{}.{}.key", tenant.as_str(), signer.key_id()));
    write_key_file(&key_path, &signer)?;
    let verifier = signer.verifier().to_string();

    let store = url.open(pinned_clock()?).context("creating the store")?;
    if store.tenant(tenant.as_str()).is_ok() {
        return Err(CliError::usage(anyhow!(
            "{} already has tenant {:?}; use it as it is, or init another --tenant",
            store.describe(),
            tenant.as_str()
        )));
    }
    let created_at = now();
    store.create_tenant(
        &Tenant {
            slug: tenant.as_str().to_owned(),
            origin: origin.clone(),
        },
        Arc::new(signer),
        &created_at,
    )?;
    let admin = Principal::human(Slug::new(ADMIN).expect("valid slug"), [Role::Admin])
        .with_display_name("first administrator (asom init)");
    store.create_principal(tenant.as_str(), &admin)?;
    let secret = TokenSecret::from_random_bytes(random_bytes()?);
    let token_id = format!("tok_{}", &hex::encode(random_bytes()?)[..12]);
    store.create_token(&TokenRecord {
        id: token_id.clone(),
        digest: secret.digest(),
        tenant: tenant.as_str().to_owned(),
        principal: ADMIN.to_owned(),
        label: "first admin token (asom init)".to_owned(),
        created_at: created_at.clone(),
        revoked_at: None,
    })?;
    // The log opens with what init did, so an auditor sees who set it up and with which key.
    let genesis = NewEntry::new(
        "tenant",
        &json!({
            "action": "created",
            "tenant": tenant.as_str(),
            "origin": origin,
            "verifier_key": verifier,
            "admin": ADMIN,
            "admin_token_id": token_id,
        }),
        ADMIN,
    )
    .map_err(|e| anyhow!(e))?;
    let appended = store.append(tenant.as_str(), vec![genesis])?;
    let checkpoint = store.latest_checkpoint(tenant.as_str())?;
    drop(store); // Stops the writer after the queued work is done.

    let report = json!({
        "dir": if global.stable_json { serde_json::Value::Null } else { json!(dir.display().to_string()) },
        "tenant": tenant.as_str(),
        "origin": origin,
        "verifier_key": verifier,
        "admin_principal": ADMIN,
        "admin_token_id": token_id,
        "admin_token": secret.expose(),
        "genesis_entry": appended[0].id,
        "checkpoint_size": checkpoint.size,
    });
    printer.private().either(&report, || {
        format!(
            "Initialised asom in {dir}\n\
             \x20 tenant        {tenant}\n\
             \x20 log origin    {origin}\n\
             \x20 verifier key  {verifier}\n\
             \x20 log key file  {key} (mode 0600)\n\
             \x20 checkpoint    size {size}\n\
             \n\
             The first admin token is shown only now; keep it as a secret:\n\
             \x20 export ASOM_TOKEN={token}\n",
            dir = dir.display(),
            tenant = tenant.as_str(),
            key = key_path.display(),
            size = checkpoint.size,
            token = secret.expose(),
        )
    })
}

fn create_private_dir(path: &std::path::Path) -> CliResult {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .with_context(|| format!("creating {}", path.display()))?;
    Ok(())
}
