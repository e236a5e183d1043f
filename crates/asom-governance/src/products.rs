//! Products and the changes (commits) recorded for them.

use std::collections::BTreeMap;

use asom_core::principal::{Action, Principal};
use asom_core::release::{Change, CommitSha, Product};
use serde_json::json;

use crate::{Governance, GovernanceError, Recorded, Result, authorize, content_field};

impl Governance<'_> {
    /// Creates a product. Needs `manage-products` (admin).
    pub fn create_product(&self, actor: &Principal, product: &Product) -> Result<Recorded> {
        authorize(actor, Action::ManageProducts)?;
        let key = format!("product:{}", product.slug);
        if self.store.count_with_key(&self.tenant, &key, None)? > 0 {
            return Err(GovernanceError::Rule(format!(
                "product {:?} already exists",
                product.slug.as_str()
            )));
        }
        let entry = Self::entry(
            "product",
            &json!({"action": "created", "product": product}),
            actor,
            [key.clone(), "products".to_owned()],
        )?
        .expecting(key, 0);
        self.append(entry).map(Recorded::from)
    }

    /// One product, as of `before`.
    pub fn product(&self, slug: &str, before: Option<u64>) -> Result<Product> {
        self.latest::<Product>(&format!("product:{slug}"), "product", "product", before)?
            .0
            .ok_or_else(|| {
                GovernanceError::NotFound(format!(
                    "no product {slug:?}; `asom product list` shows them"
                ))
            })
    }

    /// Every product, by slug.
    pub fn products(&self) -> Result<Vec<Product>> {
        let mut by_slug = BTreeMap::new();
        for entry in self.entries("products", None)? {
            let product: Product = content_field(&entry, "product")?;
            by_slug.insert(product.slug.as_str().to_owned(), product);
        }
        Ok(by_slug.into_values().collect())
    }

    /// Records a change (a commit) of a product. Needs `record-change`
    /// (machines, developers, admins). Recording the same change again
    /// changes nothing; the same commit with other details is refused.
    pub fn record_change(&self, actor: &Principal, change: &Change) -> Result<Recorded> {
        authorize(actor, Action::RecordChange)?;
        self.product(change.product().as_str(), None)?;
        let key = format!("change:{}", change.commit().as_str());
        let entry = Self::entry(
            "change",
            &json!({"change": change}),
            actor,
            [key.clone(), format!("changes:{}", change.product())],
        )?
        .expecting(key, 0);
        self.append(entry).map(Recorded::from).map_err(|e| match e {
            GovernanceError::Store(asom_store::StoreError::Conflict { .. }) => GovernanceError::Rule(format!(
                "commit {} is already recorded with other details (authors, reviewers, Jira keys); \
                 a recorded change is never rewritten — `asom change show {}` shows it",
                change.commit().short(),
                change.commit().as_str()
            )),
            e => e,
        })
    }

    /// A recorded change, as of `before`.
    pub fn change(&self, commit: &CommitSha, before: Option<u64>) -> Result<Change> {
        self.latest::<Change>(
            &format!("change:{}", commit.as_str()),
            "change",
            "change",
            before,
        )?
        .0
        .ok_or_else(|| {
            GovernanceError::NotFound(format!(
                "commit {} is not recorded; record it with `asom change record`",
                commit.as_str()
            ))
        })
    }
}
