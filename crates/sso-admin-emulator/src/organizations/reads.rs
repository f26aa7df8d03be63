//! The reads: the organization, its root, the tree level by level, an
//! account, an OU, parents and tags.

use std::time::Instant;

use serde_json::{Value, json};

use super::ids::{ACCOUNT_ID, CHILD_ID, PARENT_ID, TAGGABLE_ID, UNIT_ID};
use super::tree::Organization;
use super::{list, refusal};
use crate::error::ApiError;
use crate::validate::Input;

impl Organization {
    /// Runs a read operation for a caller already allowed to read.
    pub(super) fn read(
        &self,
        operation: &str,
        input: &Input,
        empty_pages: bool,
        now: Instant,
    ) -> Result<Value, ApiError> {
        match operation {
            "DescribeOrganization" => Ok(json!({"Organization": self.organization_json()})),
            "ListRoots" => list(vec![self.root_json()], input, "Roots", empty_pages),
            "ListChildren" => {
                let parent = self.parent_member(input)?;
                let kind = input.one_of("ChildType", &["ACCOUNT", "ORGANIZATIONAL_UNIT"])?;
                let children: Vec<Value> = match input.require("ChildType", kind)? {
                    "ACCOUNT" => self.accounts_in(parent).map(|a| json!({"Id": a.id, "Type": "ACCOUNT"})).collect(),
                    _ => self.units_in(parent).map(|u| json!({"Id": u.id, "Type": "ORGANIZATIONAL_UNIT"})).collect(),
                };
                list(children, input, "Children", empty_pages)
            }
            "ListOrganizationalUnitsForParent" => {
                let parent = self.parent_member(input)?;
                let units = self.units_in(parent).map(|u| self.unit_json(u)).collect();
                list(units, input, "OrganizationalUnits", empty_pages)
            }
            "ListAccountsForParent" => {
                let parent = self.parent_member(input)?;
                let accounts = self.accounts_in(parent).map(|a| self.account_json(a, now)).collect();
                list(accounts, input, "Accounts", empty_pages)
            }
            "ListAccounts" => {
                let accounts = self.accounts.iter().map(|a| self.account_json(a, now)).collect();
                list(accounts, input, "Accounts", empty_pages)
            }
            "ListParents" => {
                let child = input.required_string("ChildId", 0, 100, &CHILD_ID)?;
                let parent = self.parent_of(child).ok_or_else(|| {
                    refusal(
                        "ChildNotFoundException",
                        format!("We can't find an OU or account with the ChildId {child}."),
                    )
                })?;
                let kind = if parent == self.root_id { "ROOT" } else { "ORGANIZATIONAL_UNIT" };
                list(vec![json!({"Id": parent, "Type": kind})], input, "Parents", empty_pages)
            }
            "DescribeAccount" => {
                let id = input.required_string("AccountId", 0, 12, &ACCOUNT_ID)?;
                let account = self.account(id).ok_or_else(|| account_not_found(id))?;
                Ok(json!({"Account": self.account_json(account, now)}))
            }
            "DescribeOrganizationalUnit" => {
                let id = input.required_string("OrganizationalUnitId", 0, 68, &UNIT_ID)?;
                let unit = self.unit(id).ok_or_else(|| {
                    refusal(
                        "OrganizationalUnitNotFoundException",
                        format!("We can't find an OU with the OrganizationalUnitId {id}."),
                    )
                })?;
                Ok(json!({"OrganizationalUnit": self.unit_json(unit)}))
            }
            "ListTagsForResource" => {
                let id = input.required_string("ResourceId", 0, 130, &TAGGABLE_ID)?;
                let tags = self.tags_of(id).ok_or_else(|| {
                    refusal("TargetNotFoundException", format!("We can't find a root, OU or account with the id {id}."))
                })?;
                // The model gives ListTagsForResource no MaxResults: one page holds them all.
                let tags: Vec<Value> = tags.iter().map(|(key, value)| json!({"Key": key, "Value": value})).collect();
                Ok(json!({"Tags": tags}))
            }
            other => Err(ApiError::new(400, "UnknownOperationException", format!("Unknown operation {other}"))),
        }
    }

    /// The request's ParentId, which must be this organization's root or one of its OUs.
    fn parent_member<'a>(&self, input: &Input<'a>) -> Result<&'a str, ApiError> {
        let parent = input.required_string("ParentId", 0, 100, &PARENT_ID)?;
        if !self.is_parent(parent) {
            return Err(parent_not_found(parent));
        }
        Ok(parent)
    }

    fn accounts_in<'a>(&'a self, parent: &'a str) -> impl Iterator<Item = &'a super::tree::Account> {
        self.accounts.iter().filter(move |a| a.parent == parent)
    }

    fn units_in<'a>(&'a self, parent: &'a str) -> impl Iterator<Item = &'a super::tree::Unit> {
        self.units.iter().filter(move |u| u.parent == parent)
    }
}

pub(super) fn parent_not_found(parent: &str) -> ApiError {
    refusal("ParentNotFoundException", format!("We can't find a root or OU with the ParentId {parent}."))
}

pub(super) fn account_not_found(account: &str) -> ApiError {
    refusal("AccountNotFoundException", format!("We can't find an account with the AccountId {account}."))
}
