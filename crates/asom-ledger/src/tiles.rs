//! The C2SP `tlog-tiles` layout: the log as static, immutable files a
//! witness or mirror can fetch and verify without asking asom anything.
//!
//! - A **tile** at level `L`, index `N` holds up to 256 consecutive hashes of
//!   the tree's level `8·L` (level 0: leaf hashes), concatenated: the hashes
//!   of nodes `N·256 .. N·256+W`. A full tile has `W = 256`; the rightmost
//!   tile of a level may be partial, `.p/W`.
//! - Its path is `tile/<L>/<N>[.p/<W>]`, with `N` written as groups of three
//!   decimal digits, every group but the last prefixed by `x`
//!   (`1234067` → `x001/x234/067`).
//! - An **entry bundle** `tile/entries/<N>[.p/<W>]` holds entries
//!   `N·256 .. N·256+W`, each as a big-endian `u16` length and its bytes.
//!
//! [`root_from_tiles`] recomputes a tree's root from tiles alone, which is
//! what a client following only these paths does to check a checkpoint.

use std::fmt;
use std::fmt::Write as _;

use crate::Hash;
use crate::merkle::{NodeId, node_hash};

/// Hashes per full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels per tile level.
pub const TILE_HEIGHT: u8 = 8;

/// One tile: its tile level, index and width (1..=256).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TileId {
    /// Tile level `L` (tree level `8·L`).
    pub level: u8,
    /// Index `N` among the tiles of that level.
    pub index: u64,
    /// How many hashes it holds: 256 when full.
    pub width: u16,
}

impl TileId {
    /// The tile's path: `tile/<L>/<N>[.p/<W>]`.
    #[must_use]
    pub fn path(&self) -> String {
        format!("tile/{}/{}", self.level, self.index_path())
    }

    /// The path of the entry bundle with the same index and width (level 0
    /// only): `tile/entries/<N>[.p/<W>]`.
    #[must_use]
    pub fn entries_path(&self) -> String {
        format!("tile/entries/{}", self.index_path())
    }

    fn index_path(&self) -> String {
        let mut out = encode_index(self.index);
        if u64::from(self.width) < TILE_WIDTH {
            let _ = write!(out, ".p/{}", self.width);
        }
        out
    }

    /// The tree nodes whose hashes the tile holds, in order.
    #[must_use]
    pub fn nodes(&self) -> Vec<NodeId> {
        let level = self.level * TILE_HEIGHT;
        (0..u64::from(self.width))
            .map(|i| NodeId::new(level, self.index * TILE_WIDTH + i))
            .collect()
    }

    /// The entries the level-0 tile (and its entry bundle) covers.
    #[must_use]
    pub fn entry_range(&self) -> std::ops::Range<u64> {
        self.index * TILE_WIDTH..self.index * TILE_WIDTH + u64::from(self.width)
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// What a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    /// A hash tile: `tile/<L>/<N>[.p/<W>]`.
    Hashes(TileId),
    /// An entry bundle: `tile/entries/<N>[.p/<W>]` (as the level-0 tile it
    /// goes with).
    Entries(TileId),
}

/// Parses the part of a tile path after `tile/`: `<L>/<N>[.p/<W>]` or
/// `entries/<N>[.p/<W>]`, exactly as [`TileId::path`] writes it (no leading
/// zeros in `L`, three-digit groups with `x` on all but the last, `W` from 1
/// to 255).
pub fn parse_tile_path(rest: &str) -> Result<TilePath, String> {
    let bad = |why: &str| Err(format!("tile path {rest:?}: {why}"));
    let (head, tail) = rest
        .split_once('/')
        .ok_or_else(|| format!("tile path {rest:?}: too short"))?;
    let (index_part, width) = match tail.split_once(".p/") {
        Some((index, w)) => {
            let ok = !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) && !w.starts_with('0');
            let width: u16 = match w.parse() {
                Ok(n) if ok && (1..256).contains(&n) => n,
                _ => return bad("the partial width must be 1 to 255, without leading zeros"),
            };
            (index, width)
        }
        None => (tail, 256),
    };
    let groups: Vec<&str> = index_part.split('/').collect();
    let mut index: u64 = 0;
    for (i, g) in groups.iter().enumerate() {
        let last = i == groups.len() - 1;
        let digits = if last { Some(*g) } else { g.strip_prefix('x') };
        let Some(d) = digits.filter(|d| d.len() == 3 && d.bytes().all(|b| b.is_ascii_digit()))
        else {
            return bad("the index must be 3-digit groups, all but the last prefixed with x");
        };
        index = index
            .checked_mul(1000)
            .and_then(|n| n.checked_add(d.parse::<u64>().unwrap_or(0)))
            .ok_or_else(|| format!("tile path {rest:?}: index too large"))?;
    }
    if groups.len() > 1 && groups[0] == "x000" {
        return bad("the index has a leading zero group");
    }
    if head == "entries" {
        return Ok(TilePath::Entries(TileId {
            level: 0,
            index,
            width,
        }));
    }
    let level: u8 = match head.parse() {
        Ok(l) if l <= 5 && (head == "0" || !head.starts_with('0')) => l,
        _ => return bad("the level must be 0 to 5"),
    };
    Ok(TilePath::Hashes(TileId {
        level,
        index,
        width,
    }))
}

/// Whether a tree of `size` entries holds the tile: all its hashes are of
/// complete subtrees (a partial tile is a prefix of the level's right edge).
#[must_use]
pub fn tile_exists(size: u64, tile: TileId) -> bool {
    let shift = u32::from(tile.level) * u32::from(TILE_HEIGHT);
    let count = if shift >= 64 { 0 } else { size >> shift };
    tile.index
        .checked_mul(TILE_WIDTH)
        .and_then(|start| start.checked_add(u64::from(tile.width)))
        .is_some_and(|end| end <= count)
}

/// `N` as tlog-tiles writes it: three-digit groups, all but the last
/// prefixed with `x`.
#[must_use]
pub fn encode_index(n: u64) -> String {
    let mut groups = vec![n % 1000];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    groups.reverse();
    let last = groups.len() - 1;
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every tile of a tree of `size` entries: the full tiles of each level and
/// the partial tile at each level's right edge, bottom level first.
#[must_use]
pub fn tiles_for(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let mut level = 0u8;
    loop {
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        let count = if shift >= 64 { 0 } else { size >> shift };
        if count == 0 {
            break;
        }
        for index in 0..count / TILE_WIDTH {
            out.push(TileId {
                level,
                index,
                width: 256,
            });
        }
        let rest = count % TILE_WIDTH;
        if rest > 0 {
            out.push(TileId {
                level,
                index: count / TILE_WIDTH,
                width: rest as u16,
            });
        }
        level += 1;
    }
    out
}

/// The tile of tree `size` that holds node (`level`, `index`), where `level`
/// is a multiple of 8, and the node's position in it.
fn tile_of(size: u64, level: u8, index: u64) -> (TileId, usize) {
    let count = size >> level;
    let tile = index / TILE_WIDTH;
    let width = (count - tile * TILE_WIDTH).min(TILE_WIDTH);
    (
        TileId {
            level: level / TILE_HEIGHT,
            index: tile,
            width: width as u16,
        },
        (index % TILE_WIDTH) as usize,
    )
}

/// Why tiles could not give a root.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TileError<E> {
    /// The fetch failed.
    #[error("fetching {tile}: {source}")]
    Fetch {
        /// The tile.
        tile: String,
        /// Why.
        source: E,
    },
    /// A tile is not `width × 32` bytes.
    #[error("{tile} is {len} bytes; a tile of {width} hashes is {}", usize::from(*width) * 32)]
    BadLength {
        /// The tile.
        tile: String,
        /// Its length.
        len: usize,
        /// Its width.
        width: u16,
    },
    /// An entry bundle is malformed.
    #[error("entry bundle: {0}")]
    Bundle(String),
}

/// Recomputes the root of a tree of `size` entries from its tiles, fetched
/// with `fetch` (each tile at most once). Only the tiles along the right
/// edge of the tree and the full tiles they stand on are read.
pub fn root_from_tiles<E>(
    size: u64,
    mut fetch: impl FnMut(TileId) -> Result<Vec<u8>, E>,
) -> Result<Hash, TileError<E>> {
    if size == 0 {
        return Ok(crate::merkle::empty_root());
    }
    let mut cache: std::collections::BTreeMap<TileId, Vec<u8>> = std::collections::BTreeMap::new();
    let mut node = |level: u8, index: u64| -> Result<Hash, TileError<E>> {
        // A complete subtree: read the nodes of the nearest tile level at or
        // below it and hash them up.
        let base = level - level % TILE_HEIGHT;
        let span = 1u64 << (level - base);
        let mut hashes = Vec::with_capacity(span as usize);
        for i in index * span..(index + 1) * span {
            let (tile, at) = tile_of(size, base, i);
            let bytes = match cache.entry(tile) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let bytes = fetch(tile).map_err(|source| TileError::Fetch {
                        tile: tile.path(),
                        source,
                    })?;
                    if bytes.len() != usize::from(tile.width) * 32 {
                        return Err(TileError::BadLength {
                            tile: tile.path(),
                            len: bytes.len(),
                            width: tile.width,
                        });
                    }
                    e.insert(bytes)
                }
            };
            let mut h = [0u8; 32];
            h.copy_from_slice(&bytes[at * 32..at * 32 + 32]);
            hashes.push(Hash(h));
        }
        while hashes.len() > 1 {
            hashes = hashes.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
        }
        Ok(hashes[0])
    };
    // The complete subtrees along the right edge, largest (leftmost) first.
    let mut subtrees = Vec::new();
    let mut start = 0u64;
    for level in (0..64u8).rev() {
        if size & (1 << level) != 0 {
            subtrees.push(node(level, start >> level)?);
            start += 1 << level;
        }
    }
    let mut root = subtrees.pop().expect("size > 0");
    while let Some(left) = subtrees.pop() {
        root = node_hash(&left, &root);
    }
    Ok(root)
}

/// An entry bundle: each entry as a big-endian `u16` length and its bytes.
pub fn entry_bundle<'e>(entries: impl IntoIterator<Item = &'e [u8]>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let len = u16::try_from(e.len()).map_err(|_| {
            format!(
                "entry {i} of the bundle is {} bytes; tlog-tiles bundles hold entries up to 65535 bytes",
                e.len()
            )
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// The entries of a bundle.
pub fn parse_entry_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let [a, b, tail @ ..] = rest else {
            return Err(format!(
                "a length prefix is cut short after {} entries",
                out.len()
            ));
        };
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        if tail.len() < len {
            return Err(format!(
                "entry {} claims {len} bytes; {} are left",
                out.len(),
                tail.len()
            ));
        }
        out.push(&tail[..len]);
        rest = &tail[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{MemoryTree, NodeReader as _};

    #[test]
    fn index_paths_follow_the_spec() {
        // The examples of C2SP tlog-tiles.
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        let t = TileId {
            level: 0,
            index: 1_234_067,
            width: 8,
        };
        assert_eq!(t.path(), "tile/0/x001/x234/067.p/8");
        assert_eq!(t.entries_path(), "tile/entries/x001/x234/067.p/8");
        let t = TileId {
            level: 1,
            index: 3,
            width: 256,
        };
        assert_eq!(t.path(), "tile/1/003");
    }

    #[test]
    fn tile_paths_parse_back_and_refuse_what_the_spec_does_not_write() {
        for tile in [
            TileId {
                level: 0,
                index: 1_234_067,
                width: 8,
            },
            TileId {
                level: 3,
                index: 0,
                width: 256,
            },
            TileId {
                level: 1,
                index: 1000,
                width: 255,
            },
        ] {
            let hashes = tile.path();
            assert_eq!(
                parse_tile_path(&hashes["tile/".len()..]),
                Ok(TilePath::Hashes(tile))
            );
            if tile.level == 0 {
                let entries = tile.entries_path();
                assert_eq!(
                    parse_tile_path(&entries["tile/".len()..]),
                    Ok(TilePath::Entries(tile))
                );
            }
        }
        for bad in [
            "0",
            "0/",
            "6/000",
            "01/000",
            "0/1",
            "0/0000",
            "0/001/002",
            "0/x001",
            "0/x000/001",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/08",
            "0/000.p/",
            "a/000",
            "0/00a",
            "0/x18446744073709/551/616",
        ] {
            assert!(parse_tile_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tile_existence_follows_the_tree() {
        let t = |level, index, width| TileId {
            level,
            index,
            width,
        };
        assert!(tile_exists(256, t(0, 0, 256)));
        assert!(!tile_exists(255, t(0, 0, 256)));
        assert!(tile_exists(255, t(0, 0, 255)));
        assert!(
            tile_exists(300, t(0, 0, 100)),
            "a prefix of a complete tile"
        );
        assert!(tile_exists(300, t(0, 1, 44)));
        assert!(!tile_exists(300, t(0, 1, 45)));
        assert!(tile_exists(65_536, t(1, 0, 256)));
        assert!(!tile_exists(65_535, t(1, 0, 256)));
        assert!(!tile_exists(u64::MAX, t(0, u64::MAX, 1)));
    }

    #[test]
    fn tiles_for_a_size() {
        let t = |level, index, width| TileId {
            level,
            index,
            width,
        };
        assert!(tiles_for(0).is_empty());
        // 70,000 leaves: 273 full level-0 tiles and one of 112; 273 level-8
        // nodes: one full level-1 tile and one of 17; one level-16 node.
        let tiles = tiles_for(70_000);
        assert_eq!(tiles.len(), 274 + 2 + 1);
        assert!((0..273).all(|i| tiles[i] == t(0, i as u64, 256)));
        assert_eq!(
            tiles[273..],
            [t(0, 273, 112), t(1, 0, 256), t(1, 1, 17), t(2, 0, 1)]
        );
    }

    fn check_root(size: u64) {
        let mut tree = MemoryTree::new();
        for i in 0..size {
            tree.push(&i.to_le_bytes());
        }
        let mut fetched = 0;
        let root = root_from_tiles(size, |tile| {
            fetched += 1;
            tree.read_nodes(&tile.nodes())
                .map(|hs| hs.iter().flat_map(|h| h.0).collect::<Vec<u8>>())
        })
        .unwrap_or_else(|e| panic!("size {size}: {e}"));
        assert_eq!(root, tree.root(), "size {size}");
        assert!(fetched <= 4 * 8, "size {size}: {fetched} tiles fetched");
    }

    #[test]
    fn roots_from_tiles_match_the_tree_at_every_edge() {
        for size in (0..=600).chain([767, 768, 1023, 1024, 65_535, 65_536, 65_537, 70_000]) {
            check_root(size);
        }
    }

    #[test]
    fn a_short_tile_is_refused() {
        let err = root_from_tiles::<String>(3, |_| Ok(vec![0; 64])).unwrap_err();
        assert!(
            err.to_string().contains("tile/0/000.p/3 is 64 bytes"),
            "{err}"
        );
    }

    #[test]
    fn entry_bundles_round_trip_and_refuse_truncation() {
        let entries: Vec<&[u8]> = vec![b"{}", b"", b"{\"a\":1}"];
        let bundle = entry_bundle(entries.iter().copied()).unwrap();
        assert_eq!(&bundle[..2], &[0, 2]);
        assert_eq!(parse_entry_bundle(&bundle).unwrap(), entries);
        assert!(parse_entry_bundle(&bundle[..bundle.len() - 1]).is_err());
        assert!(parse_entry_bundle(&[0]).is_err());
        let big = vec![b'x'; 70_000];
        assert!(entry_bundle([big.as_slice()]).is_err());
    }
}
