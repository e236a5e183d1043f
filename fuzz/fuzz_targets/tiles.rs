//! C2SP tlog-tiles input a mirror or `asom ledger verify-tiles` reads: entry
//! bundles (`parse_entry_bundle`) and tiles handed to `root_from_tiles`.
//! A parsed bundle re-encodes byte-identical; `root_from_tiles` over
//! arbitrary tile bytes never panics, and when the tiles are the real tiles
//! of a tree built from the input, it returns that tree's root.
#![no_main]

use asom_ledger::merkle::{MemoryTree, NodeReader as _};
use asom_ledger::tiles::{entry_bundle, parse_entry_bundle, root_from_tiles};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = parse_entry_bundle(data) {
        let again = entry_bundle(entries.iter().copied()).expect("parsed entries fit");
        assert_eq!(again, data, "a parsed bundle does not re-encode byte-identical");
    }
    // Arbitrary tile bytes: errors, never panics.
    let size = u64::from(data.first().copied().unwrap_or(0)) * 7 + 1;
    let _ = root_from_tiles(size, |tile| -> Result<Vec<u8>, ()> {
        Ok(data.iter().copied().cycle().take(usize::from(tile.width) * 32).collect())
    });
    // Real tiles of a tree of the input's chunks give its root.
    let mut tree = MemoryTree::new();
    for chunk in data.chunks(3) {
        tree.push(chunk);
    }
    let root = root_from_tiles(tree.size(), |tile| {
        tree.read_nodes(&tile.nodes())
            .map(|hs| hs.iter().flat_map(|h| h.0).collect::<Vec<u8>>())
    })
    .expect("real tiles");
    assert_eq!(root, tree.root());
});
