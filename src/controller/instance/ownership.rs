//! Ownership tags in AWS, as ACK's `resourceTags`: every instance the
//! operator creates names the cluster, the namespace and the object that made
//! it. They are the operator's, not the spec's: drift repair leaves them, and
//! crash recovery and a restore from backup read them to confirm that an
//! instance they find is this object's.

use crate::sso::Tags;

pub const CLUSTER_TAG: &str = "identitycenter.dev/cluster";
pub const NAMESPACE_TAG: &str = "identitycenter.dev/namespace";
pub const NAME_TAG: &str = "identitycenter.dev/name";
pub const MANAGED_BY_TAG: &str = "identitycenter.dev/managed-by";
/// Tag keys under this prefix are the operator's; spec.tags may not use it.
pub const OWN_TAG_PREFIX: &str = "identitycenter.dev/";
/// How many tags the operator adds, which spec.tags' maximum leaves room for.
pub const OWN_TAGS: u32 = 4;

/// A cluster name fit for the cluster tag: an AWS tag value of 1 to 256
/// letters, digits, spaces and `_.:/=+-@`.
pub fn cluster_name(text: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    match text.chars().count() {
        0 => Err("the cluster name is empty".into()),
        257.. => {
            Err(format!("the cluster name has {} characters; an AWS tag value has at most 256", text.chars().count()))
        }
        _ => match text.chars().find(|c| !allowed(*c)) {
            Some(c) => Err(format!("{c:?} cannot be in an AWS tag value (letters, digits, spaces and _.:/=+-@)")),
            None => Ok(text.to_string()),
        },
    }
}

/// Who made an instance: this cluster's object `namespace/name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Maker<'a> {
    pub cluster: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

impl Maker<'_> {
    pub fn tags(&self) -> Tags {
        [
            (CLUSTER_TAG, self.cluster),
            (NAMESPACE_TAG, self.namespace),
            (NAME_TAG, self.name),
            (MANAGED_BY_TAG, crate::controller::FIELD_MANAGER),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

/// What an instance's tags say of who made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Made {
    /// Its tags name this object.
    ByThisObject,
    /// Its tags name another object, or another cluster.
    BySomeoneElse,
    /// It carries no ownership tags (made before they existed, or outside the operator).
    Untagged,
}

pub fn made_by(tags: &Tags, maker: &Maker) -> Made {
    let own: Vec<(&String, &String)> = tags.iter().filter(|(k, _)| k.starts_with(OWN_TAG_PREFIX)).collect();
    if own.is_empty() {
        return Made::Untagged;
    }
    let expected = maker.tags();
    let names_us = [CLUSTER_TAG, NAMESPACE_TAG, NAME_TAG].iter().all(|key| tags.get(*key) == expected.get(*key));
    if names_us { Made::ByThisObject } else { Made::BySomeoneElse }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_is_this_objects_only_when_its_tags_name_this_cluster_namespace_and_name() {
        let me = Maker { cluster: "prod", namespace: "team-a", name: "platform" };
        let with = |changes: &[(&str, &str)]| {
            let mut tags = me.tags();
            for (k, v) in changes {
                tags.insert(k.to_string(), v.to_string());
            }
            tags
        };
        let cases = [
            ("its own tags", with(&[]), Made::ByThisObject),
            ("and the spec's too", with(&[("team", "a")]), Made::ByThisObject),
            ("another namespace", with(&[(NAMESPACE_TAG, "team-b")]), Made::BySomeoneElse),
            ("another cluster", with(&[(CLUSTER_TAG, "staging")]), Made::BySomeoneElse),
            ("another object", with(&[(NAME_TAG, "other")]), Made::BySomeoneElse),
            ("no ownership tags", [("team".to_string(), "a".to_string())].into(), Made::Untagged),
        ];
        for (what, tags, want) in cases {
            assert_eq!(made_by(&tags, &me), want, "{what}");
        }
        assert_eq!(me.tags().len(), OWN_TAGS as usize);
        assert_eq!(crate::api::MAX_TAGS + OWN_TAGS, 75, "spec.tags leaves room for exactly these");
    }

    #[test]
    fn a_cluster_name_must_be_an_aws_tag_value() {
        for good in ["kubernetes", "prod-eu/1", "Zürich cluster", &"x".repeat(256)] {
            assert_eq!(cluster_name(good).as_deref(), Ok(good), "{good}");
        }
        for bad in ["", "a,b", "prod#1", &"x".repeat(257)] {
            assert!(cluster_name(bad).is_err(), "{bad}");
        }
    }
}
