//! Group commit: one writer thread per store owns one connection, drains the
//! queued appends and commits them in one transaction, sequenced per tenant
//! in the database by a row lock on the tenant.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};

use asom_ledger::Hash;
use asom_ledger::checkpoint::Checkpoint;
use asom_ledger::merkle::{Frontier, NodeId, ProofError, leaf_hash};
use asom_ledger::note::NoteSigner;
use asom_store::{
    Appended, ContentId, NewEntry, Result, StoreError, StoredCheckpoint, build_entry_bytes,
};
use postgres::{Statement, Transaction};

use crate::pool::{Conn, Target};
use crate::{
    Clock, MAX_BATCH_ENTRIES, MAX_ENTRIES, Signers, backend, col, hash_col, latest_checkpoint,
    read_nodes, tenant_id,
};

/// One queued `append` call.
pub(crate) struct PendingAppend {
    pub(crate) tenant: String,
    pub(crate) entries: Vec<NewEntry>,
    pub(crate) reply: SyncSender<Result<Vec<Appended>>>,
}

/// The writer's statements, prepared once per connection.
struct Statements {
    lock_tenant: Statement,
    find_content: Statement,
    covering: Statement,
    count_key: Statement,
    insert_entries: Statement,
    insert_keys: Statement,
    insert_nodes: Statement,
    insert_checkpoint: Statement,
}

impl Statements {
    fn prepare(conn: &mut Conn) -> Result<Self> {
        Ok(Self {
            // FOR NO KEY UPDATE: excludes every other appender of this tenant
            // (in any process) until commit, but not inserts that merely
            // reference the tenant (principals, tokens, keys).
            lock_tenant: conn.statement("SELECT id FROM tenants WHERE slug = $1 FOR NO KEY UPDATE")?,
            find_content: conn.statement(
                "SELECT content_id, seq, id FROM entries WHERE tenant = $1 AND content_id = ANY($2)",
            )?,
            covering: conn
                .statement("SELECT MIN(size) FROM checkpoints WHERE tenant = $1 AND size > $2")?,
            count_key: conn
                .statement("SELECT COUNT(*) FROM entry_keys WHERE tenant = $1 AND key = $2")?,
            insert_entries: conn.statement(
                "INSERT INTO entries (tenant, seq, id, content_id, kind, body) \
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bytea[], $4::bytea[], $5::text[], $6::bytea[])",
            )?,
            insert_keys: conn.statement(
                "INSERT INTO entry_keys (tenant, entry, key) \
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::text[])",
            )?,
            insert_nodes: conn.statement(
                "INSERT INTO nodes (tenant, position, hash) \
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bytea[])",
            )?,
            insert_checkpoint: conn.statement(
                "INSERT INTO checkpoints (tenant, size, root, note, created_at) VALUES ($1, $2, $3, $4, $5)",
            )?,
        })
    }
}

pub(crate) struct Writer {
    target: Target,
    conn: Option<(Conn, Statements)>,
    signers: Signers,
    clock: Clock,
    /// Set while a background `ANALYZE` runs (see [`refresh_statistics`]).
    analyzing: Arc<AtomicBool>,
}

/// The smallest log size at which the writer refreshes the planner's
/// statistics; then at every power of two above it.
const FIRST_ANALYZE_AT: u64 = 512;

/// Whether a log reaching `size` should refresh the planner's statistics.
fn is_analyze_point(size: u64) -> bool {
    size >= FIRST_ANALYZE_AT && size.is_power_of_two()
}

/// Runs `ANALYZE` on the ledger tables on a connection of its own, in the
/// background, unless one is already running.
///
/// Why: the statements are prepared once per connection, and after five runs
/// PostgreSQL may keep one generic plan for them. A fresh database plans
/// against nearly empty tables, so the content lookup of every append became
/// a sequential scan that stayed cached while the table grew (1 ms per append
/// at 6,000 entries, growing; seen in `asom-bench serve`). Autovacuum's
/// analyze would invalidate those plans, but it runs at most once a minute
/// and not at all where it is turned off. An `ANALYZE` each time a log
/// doubles keeps the plans fitted to the tables' size at a cost that stays a
/// small share of the appends (it samples a bounded number of rows), and
/// invalidates the cached plans of every session, in every process.
fn refresh_statistics(target: &Target, analyzing: &Arc<AtomicBool>) {
    if analyzing.swap(true, Ordering::AcqRel) {
        return;
    }
    let (target, flag) = (target.clone(), Arc::clone(analyzing));
    let spawned = std::thread::Builder::new()
        .name("asom-postgres-analyze".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            let outcome = target.connect().and_then(|mut client| {
                client
                    .batch_execute("ANALYZE entries, entry_keys, nodes, checkpoints")
                    .map_err(backend)
            });
            match outcome {
                Ok(()) => tracing::debug!(
                    ms = started.elapsed().as_millis(),
                    "refreshed the planner's statistics of the ledger tables"
                ),
                Err(e) => tracing::warn!(error = %e, "ANALYZE of the ledger tables failed"),
            }
            flag.store(false, Ordering::Release);
        });
    if spawned.is_err() {
        analyzing.store(false, Ordering::Release);
    }
}

impl Writer {
    pub(crate) fn new(target: Target, signers: Signers, clock: Clock) -> Self {
        Self {
            target,
            conn: None,
            signers,
            clock,
            analyzing: Arc::default(),
        }
    }

    pub(crate) fn run(mut self, jobs: &Receiver<PendingAppend>) {
        while let Ok(first) = jobs.recv() {
            let mut queued = first.entries.len();
            let mut appends = vec![first];
            while queued < MAX_BATCH_ENTRIES {
                let Ok(next) = jobs.try_recv() else { break };
                queued += next.entries.len();
                appends.push(next);
            }
            self.commit_appends(appends);
        }
    }

    /// The writer's connection, (re)opened when it is missing or broken.
    fn connection(&mut self) -> Result<&mut (Conn, Statements)> {
        if self
            .conn
            .as_ref()
            .is_some_and(|(c, _)| c.client.is_closed())
        {
            self.conn = None;
        }
        if self.conn.is_none() {
            let mut conn = Conn::new(self.target.connect()?);
            let statements = Statements::prepare(&mut conn)?;
            self.conn = Some((conn, statements));
        }
        Ok(self.conn.as_mut().expect("just opened"))
    }

    /// Commits a batch of appends in one transaction; every caller gets its answer.
    fn commit_appends(&mut self, appends: Vec<PendingAppend>) {
        match self.try_commit(&appends) {
            Ok(results) => {
                for (pending, result) in appends.into_iter().zip(results) {
                    let _ = pending.reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "append batch rolled back");
                for pending in appends {
                    let _ = pending.reply.send(Err(StoreError::Backend(format!(
                        "the batch this append was in failed, nothing of it was written: {e}"
                    ))));
                }
            }
        }
    }

    /// One transaction for the whole batch; within it, one savepoint per
    /// tenant when the batch mixes tenants, so a tenant whose log refuses
    /// fails only its own callers. Tenants are locked in slug order, so two
    /// processes' batches cannot deadlock.
    fn try_commit(&mut self, appends: &[PendingAppend]) -> Result<Vec<Result<Vec<Appended>>>> {
        let now = (self.clock)();
        let signers = self.signers.read().expect("signer lock").clone();
        let (conn, statements) = self.connection()?;
        let mut tx = conn.client.transaction().map_err(backend)?;
        let mut results: Vec<Option<Result<Vec<Appended>>>> =
            (0..appends.len()).map(|_| None).collect();
        let mut tenants: Vec<&str> = appends.iter().map(|a| a.tenant.as_str()).collect();
        tenants.sort_unstable();
        tenants.dedup();
        let isolate = tenants.len() > 1;
        let mut roll_back = false;
        for slug in tenants {
            let mine: Vec<usize> = (0..appends.len())
                .filter(|&i| appends[i].tenant == slug)
                .collect();
            let outcome = match signers.get(slug) {
                None => Err(match tenant_id(&mut tx, slug) {
                    Ok(_) => StoreError::NoSigner {
                        tenant: slug.to_owned(),
                    },
                    Err(e) => e,
                }),
                Some(signer) if isolate => {
                    let mut sp = tx.savepoint("tenant_batch").map_err(backend)?;
                    let outcome =
                        append_for_tenant(&mut sp, statements, slug, signer, &now, appends, &mine);
                    if outcome.is_ok() {
                        sp.commit().map_err(backend)?;
                    } else {
                        sp.rollback().map_err(backend)?;
                    }
                    outcome
                }
                Some(signer) => {
                    let outcome =
                        append_for_tenant(&mut tx, statements, slug, signer, &now, appends, &mine);
                    roll_back = outcome.is_err();
                    outcome
                }
            };
            match outcome {
                Ok(outcomes) => {
                    for (i, outcome) in mine.into_iter().zip(outcomes) {
                        results[i] = Some(outcome);
                    }
                }
                Err(e) => {
                    if !matches!(e, StoreError::NotFound { .. } | StoreError::NoSigner { .. }) {
                        tracing::error!(tenant = slug, error = %e, "appends refused for this tenant");
                    }
                    for i in mine {
                        results[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        if roll_back {
            tx.rollback().map_err(backend)?;
        } else {
            // Durable once this returns: every session runs with synchronous_commit on
            // (see `Target::connect`).
            tx.commit().map_err(backend)?;
            let grew_past_a_power_of_two = results
                .iter()
                .flatten()
                .flatten()
                .flatten()
                .any(|a: &Appended| !a.duplicate && is_analyze_point(a.index + 1));
            if grew_past_a_power_of_two {
                refresh_statistics(&self.target, &self.analyzing);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every append has a result"))
            .collect())
    }
}

/// Node reads inside the append transaction.
struct TxNodes<'a, 'b> {
    tx: RefCell<&'a mut Transaction<'b>>,
    tenant: i64,
}

impl asom_ledger::merkle::NodeReader for TxNodes<'_, '_> {
    type Error = StoreError;
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        read_nodes(&mut **self.tx.borrow_mut(), self.tenant, ids)
    }
}

/// Rows written by one tenant's share of a batch, inserted in bulk.
#[derive(Default)]
struct Pending {
    seqs: Vec<i64>,
    ids: Vec<Vec<u8>>,
    content_ids: Vec<Vec<u8>>,
    kinds: Vec<String>,
    bodies: Vec<Vec<u8>>,
    key_entries: Vec<i64>,
    keys: Vec<String>,
    node_positions: Vec<i64>,
    node_hashes: Vec<Vec<u8>>,
}

impl Pending {
    fn flush(
        &mut self,
        tx: &mut Transaction<'_>,
        statements: &Statements,
        tenant: i64,
    ) -> Result<()> {
        if !self.seqs.is_empty() {
            tx.execute(
                &statements.insert_entries,
                &[
                    &tenant,
                    &self.seqs,
                    &self.ids,
                    &self.content_ids,
                    &self.kinds,
                    &self.bodies,
                ],
            )
            .map_err(backend)?;
        }
        if !self.keys.is_empty() {
            tx.execute(
                &statements.insert_keys,
                &[&tenant, &self.key_entries, &self.keys],
            )
            .map_err(backend)?;
        }
        if !self.node_positions.is_empty() {
            tx.execute(
                &statements.insert_nodes,
                &[&tenant, &self.node_positions, &self.node_hashes],
            )
            .map_err(backend)?;
        }
        *self = Self::default();
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.seqs.is_empty() && self.node_positions.is_empty()
    }
}

/// Appends one tenant's share of a batch and signs its new checkpoint, in
/// `tx`, after locking the tenant. Returns, for each of `mine` (indexes into
/// `appends`), what happened to that call: its entries, or why the call was
/// refused (an expectation that did not hold). An error for the whole tenant
/// (a fork, an unknown tenant) is the `Err`.
#[allow(clippy::too_many_lines)] // One tenant's steps within the transaction, in order.
fn append_for_tenant(
    tx: &mut Transaction<'_>,
    statements: &Statements,
    slug: &str,
    signer: &NoteSigner,
    now: &str,
    appends: &[PendingAppend],
    mine: &[usize],
) -> Result<Vec<Result<Vec<Appended>>>> {
    // The lock first: in READ COMMITTED every statement after it sees what
    // the previous holder committed, so nothing below works from a stale log.
    let tenant: i64 = match tx
        .query_opt(&statements.lock_tenant, &[&slug])
        .map_err(backend)?
    {
        Some(row) => col(&row, 0)?,
        None => {
            return Err(StoreError::NotFound {
                what: format!("tenant {slug:?}"),
            });
        }
    };
    let last: StoredCheckpoint = latest_checkpoint(tx, tenant, slug)?;
    let mut frontier = {
        let reader = TxNodes {
            tx: RefCell::new(&mut *tx),
            tenant,
        };
        Frontier::load(&reader, last.size).map_err(|e| match e {
            ProofError::Read(e) => e,
            other => {
                StoreError::Corrupt(format!("the right edge of tenant {slug:?}'s tree: {other}"))
            }
        })?
    };
    let computed = frontier.root();
    if computed != last.root {
        return Err(StoreError::Fork {
            tenant: slug.to_owned(),
            size: last.size,
            computed,
            signed: last.root,
        });
    }

    // Which of the submitted contents are in the log already: one query.
    let wanted: Vec<Vec<u8>> = mine
        .iter()
        .flat_map(|&ai| appends[ai].entries.iter())
        .map(|e| e.content_id().0.as_bytes().to_vec())
        .collect();
    let mut in_log: HashMap<ContentId, (u64, Hash)> = HashMap::new();
    for row in tx
        .query(&statements.find_content, &[&tenant, &wanted])
        .map_err(backend)?
    {
        let cid = ContentId(hash_col(&row, 0, || {
            format!("a content id of tenant {slug:?}")
        })?);
        let seq: i64 = col(&row, 1)?;
        let index = seq as u64;
        let id = hash_col(&row, 2, || format!("id of entry {index}"))?;
        in_log.insert(cid, (index, id));
    }

    // Entries of this batch, and entries found in the log, by content id.
    // New entries get the checkpoint this batch signs (size 0 = "fill in
    // below"); entries already in the log keep the first checkpoint that
    // covered them, so a repeated submission gets back its first receipt.
    let mut seen: HashMap<ContentId, Appended> = HashMap::new();
    let mut pending = Pending::default();
    let lookup = |tx: &mut Transaction<'_>,
                  cid: ContentId,
                  seen: &HashMap<ContentId, Appended>|
     -> Result<Option<Appended>> {
        if let Some(prev) = seen.get(&cid) {
            return Ok(Some(Appended {
                duplicate: true,
                ..prev.clone()
            }));
        }
        let Some(&(index, id)) = in_log.get(&cid) else {
            return Ok(None);
        };
        let row = tx
            .query_one(&statements.covering, &[&tenant, &(index as i64)])
            .map_err(backend)?;
        let first: Option<i64> = col(&row, 0)?;
        let first = first.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "entry {index} of tenant {slug:?} is not covered by any signed checkpoint"
            ))
        })?;
        Ok(Some(Appended {
            index,
            id,
            content_id: cid,
            duplicate: true,
            checkpoint_size: first as u64,
        }))
    };
    let mut results = Vec::with_capacity(mine.len());
    for &ai in mine {
        let entries = &appends[ai].entries;
        // A call whose entries are all in the log already is a repeat: it
        // gets the first entries back, whatever its expectations say.
        let mut known = Vec::with_capacity(entries.len());
        for e in entries {
            known.push(lookup(tx, e.content_id(), &seen)?);
        }
        if known.iter().any(Option::is_none) && entries.iter().any(|e| !e.expectations().is_empty())
        {
            // Counts must see the earlier calls of this batch: write them first.
            if !pending.is_empty() {
                pending.flush(tx, statements, tenant)?;
            }
            let mut conflict = None;
            for (key, expected) in entries.iter().flat_map(NewEntry::expectations) {
                let row = tx
                    .query_one(&statements.count_key, &[&tenant, key])
                    .map_err(backend)?;
                let stored: i64 = col(&row, 0)?;
                let actual = stored as u64;
                if actual != *expected {
                    conflict = Some(StoreError::Conflict {
                        key: key.clone(),
                        expected: *expected,
                        actual,
                    });
                    break;
                }
            }
            if let Some(conflict) = conflict {
                results.push(Err(conflict));
                continue;
            }
        }
        let mut out = Vec::with_capacity(entries.len());
        for (e, known) in entries.iter().zip(known) {
            // An earlier entry of this same call may have added it meanwhile.
            let known = match known {
                Some(k) => Some(k),
                None => seen.get(&e.content_id()).map(|prev| Appended {
                    duplicate: true,
                    ..prev.clone()
                }),
            };
            if let Some(appended) = known {
                seen.insert(e.content_id(), appended.clone());
                out.push(appended);
                continue;
            }
            let cid = e.content_id();
            let index = frontier.size();
            if index >= MAX_ENTRIES {
                return Err(StoreError::Invalid(format!(
                    "tenant {slug:?}'s log is full (2^40 entries)"
                )));
            }
            let bytes = build_entry_bytes(slug, now, e);
            let id = Hash::of(&bytes);
            frontier.append(leaf_hash(&bytes), |node, hash| {
                pending.node_positions.push(node.position() as i64);
                pending.node_hashes.push(hash.as_bytes().to_vec());
            });
            pending.seqs.push(index as i64);
            pending.ids.push(id.as_bytes().to_vec());
            pending.content_ids.push(cid.0.as_bytes().to_vec());
            pending.kinds.push(e.kind().to_owned());
            pending.bodies.push(bytes);
            for key in e.keys() {
                pending.key_entries.push(index as i64);
                pending.keys.push(key.clone());
            }
            let appended = Appended {
                index,
                id,
                content_id: cid,
                duplicate: false,
                checkpoint_size: 0,
            };
            seen.insert(
                cid,
                Appended {
                    duplicate: true,
                    ..appended.clone()
                },
            );
            out.push(appended);
        }
        results.push(Ok(out));
    }
    pending.flush(tx, statements, tenant)?;
    let size = frontier.size();
    if size != last.size {
        let checkpoint = Checkpoint {
            origin: signer.name().to_owned(),
            size,
            root: frontier.root(),
            extensions: Vec::new(),
        };
        let note = checkpoint.sign(signer).map_err(|e| {
            StoreError::Invalid(format!("signing the checkpoint of tenant {slug:?}: {e}"))
        })?;
        tx.execute(
            &statements.insert_checkpoint,
            &[
                &tenant,
                &(size as i64),
                &checkpoint.root.as_bytes().as_slice(),
                &note,
                &now,
            ],
        )
        .map_err(backend)?;
    }
    for appended in results.iter_mut().flatten().flatten() {
        if appended.checkpoint_size == 0 {
            appended.checkpoint_size = size;
        }
    }
    Ok(results)
}
