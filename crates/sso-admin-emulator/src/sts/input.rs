//! AssumeRole's parameters in the query protocol, as aws-sdk-sts sends them:
//! lists as `Tags.member.N.Key` / `Tags.member.N.Value` and
//! `TransitiveTagKeys.member.N`. Read leniently once (for the call log and
//! the IAM context), validated with STS's wording before anything acts.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use crate::error::ApiError;

/// STS's limits on session tags.
const MAX_TAGS: usize = 50;
const MAX_TAG_KEY: usize = 128;
const MAX_TAG_VALUE: usize = 256;

static TAG_KEY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$").expect("compiles"));
static TAG_VALUE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").expect("compiles"));
static SOURCE_IDENTITY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[\w+=,.@-]*$").expect("compiles"));

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct AssumeRoleInput {
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub duration_seconds: Option<String>,
    pub external_id: Option<String>,
    pub source_identity: Option<String>,
    /// Complete key/value pairs, in member order.
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
    /// Every `Tags.member.N` as sent, halves missing included, for validation.
    tag_members: BTreeMap<usize, (Option<String>, Option<String>)>,
}

fn validation(message: String) -> ApiError {
    ApiError::new(400, "ValidationError", message)
}

fn constraint(value: &str, member: &str, rule: &str) -> ApiError {
    validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}"
    ))
}

fn null(member: &str) -> ApiError {
    validation(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

/// `Prefix.member.<n>.<rest>` -> (n, rest).
fn member<'a>(name: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = name.strip_prefix(prefix)?.strip_prefix(".member.")?;
    let (index, field) = rest.split_once('.').unwrap_or((rest, ""));
    Some((index.parse().ok()?, field))
}

impl AssumeRoleInput {
    pub fn read(params: &HashMap<String, String>) -> Self {
        let mut tag_members: BTreeMap<usize, (Option<String>, Option<String>)> = BTreeMap::new();
        let mut transitive = BTreeMap::new();
        for (name, value) in params {
            if let Some((index, field)) = member(name, "Tags") {
                let entry = tag_members.entry(index).or_default();
                match field {
                    "Key" => entry.0 = Some(value.clone()),
                    "Value" => entry.1 = Some(value.clone()),
                    _ => {}
                }
            } else if let Some((index, "")) = member(name, "TransitiveTagKeys") {
                transitive.insert(index, value.clone());
            }
        }
        let tags = tag_members.values().filter_map(|(key, value)| Some((key.clone()?, value.clone()?))).collect();
        Self {
            role_arn: params.get("RoleArn").cloned(),
            role_session_name: params.get("RoleSessionName").cloned(),
            duration_seconds: params.get("DurationSeconds").cloned(),
            external_id: params.get("ExternalId").cloned(),
            source_identity: params.get("SourceIdentity").cloned(),
            tags,
            transitive_tag_keys: transitive.into_values().collect(),
            tag_members,
        }
    }

    /// Passing tags, transitive or not, is what needs `sts:TagSession`.
    pub fn passes_tags(&self) -> bool {
        !self.tag_members.is_empty() || !self.transitive_tag_keys.is_empty()
    }

    /// STS's checks, in its order: required members, then each member's constraints.
    pub fn validate(&self) -> Result<Validated<'_>, ApiError> {
        let role_arn = self.role_arn.as_deref().ok_or_else(|| null("roleArn"))?;
        let session_name = self.role_session_name.as_deref().ok_or_else(|| null("roleSessionName"))?;
        if !(2..=64).contains(&session_name.len())
            || !session_name.chars().all(|c| c.is_alphanumeric() || "_+=,.@-".contains(c))
        {
            return Err(constraint(
                session_name,
                "roleSessionName",
                "Member must have length between 2 and 64 and satisfy regular expression pattern: [\\w+=,.@-]*",
            ));
        }
        let duration =
            match &self.duration_seconds {
                None => 3600,
                Some(text) => text.parse().ok().filter(|d| (900..=43_200).contains(d)).ok_or_else(|| {
                    constraint(text, "durationSeconds", "Member must have value between 900 and 43200")
                })?,
            };
        self.validate_tags()?;
        if let Some(source) = &self.source_identity
            && (!(2..=64).contains(&source.len()) || !SOURCE_IDENTITY.is_match(source))
        {
            return Err(constraint(
                source,
                "sourceIdentity",
                "Member must have length between 2 and 64 and satisfy regular expression pattern: [\\w+=,.@-]*",
            ));
        }
        Ok(Validated { role_arn, session_name, duration })
    }

    fn validate_tags(&self) -> Result<(), ApiError> {
        if self.tag_members.len() > MAX_TAGS {
            return Err(validation(format!(
                "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to {MAX_TAGS}"
            )));
        }
        if self.transitive_tag_keys.len() > MAX_TAGS {
            return Err(validation(format!(
                "1 validation error detected: Value at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to {MAX_TAGS}"
            )));
        }
        let mut seen = HashSet::new();
        for (index, (key, value)) in &self.tag_members {
            let key = key.as_deref().ok_or_else(|| null(&format!("tags.{index}.member.key")))?;
            let value = value.as_deref().ok_or_else(|| null(&format!("tags.{index}.member.value")))?;
            if !(1..=MAX_TAG_KEY).contains(&key.chars().count()) || !TAG_KEY.is_match(key) {
                return Err(constraint(
                    key,
                    &format!("tags.{index}.member.key"),
                    "Member must have length between 1 and 128 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
                ));
            }
            if value.chars().count() > MAX_TAG_VALUE || !TAG_VALUE.is_match(value) {
                return Err(constraint(
                    value,
                    &format!("tags.{index}.member.value"),
                    "Member must have length less than or equal to 256 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
                ));
            }
            // Session tag keys ignore case: `Team` and `team` are the same tag.
            if !seen.insert(key.to_lowercase()) {
                return Err(ApiError::new(
                    400,
                    "InvalidParameterValue",
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
                ));
            }
        }
        Ok(())
    }
}

/// The members AssumeRole cannot do without, once valid.
pub(crate) struct Validated<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub duration: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const BASE: [(&str, &str); 2] =
        [("RoleArn", "arn:aws:iam::111122223333:role/identity-center-admin"), ("RoleSessionName", "ico-team-a-x")];

    #[test]
    fn tags_are_read_in_member_order() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("Tags.member.2.Key", "kubernetes-name"),
            ("Tags.member.2.Value", "platform"),
            ("Tags.member.1.Key", "kubernetes-namespace"),
            ("Tags.member.1.Value", "team-a"),
            ("TransitiveTagKeys.member.1", "kubernetes-namespace"),
            ("SourceIdentity", "ico"),
        ]);
        let input = AssumeRoleInput::read(&params(&pairs));
        assert_eq!(
            input.tags,
            [("kubernetes-namespace".into(), "team-a".into()), ("kubernetes-name".into(), "platform".into())]
        );
        assert_eq!(input.transitive_tag_keys, ["kubernetes-namespace"]);
        assert!(input.passes_tags());
        assert!(input.validate().is_ok());
        assert!(!AssumeRoleInput::read(&params(&BASE)).passes_tags(), "no tags, no sts:TagSession");
        assert!(!AssumeRoleInput::read(&params(&[("Tags", "")])).passes_tags(), "an empty list is no tags");
    }

    /// (what, extra parameters, expected code, what the message names)
    type InvalidCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);

    #[test]
    fn each_constraint_is_enforced_with_sts_wording() {
        let many: Vec<(String, String)> = (1..=51)
            .flat_map(|n| {
                [(format!("Tags.member.{n}.Key"), format!("k{n}")), (format!("Tags.member.{n}.Value"), "v".into())]
            })
            .collect();
        let long_key = "k".repeat(129);
        let long_value = "v".repeat(257);
        let cases: Vec<InvalidCase> = vec![
            ("too many", many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(), "ValidationError", "'tags'"),
            (
                "empty key",
                vec![("Tags.member.1.Key", ""), ("Tags.member.1.Value", "v")],
                "ValidationError",
                "tags.1.member.key",
            ),
            (
                "long key",
                vec![("Tags.member.1.Key", &long_key), ("Tags.member.1.Value", "v")],
                "ValidationError",
                "tags.1.member.key",
            ),
            (
                "bad key",
                vec![("Tags.member.1.Key", "a&b"), ("Tags.member.1.Value", "v")],
                "ValidationError",
                "tags.1.member.key",
            ),
            ("no value", vec![("Tags.member.1.Key", "k")], "ValidationError", "Value null at 'tags.1.member.value'"),
            (
                "long value",
                vec![("Tags.member.1.Key", "k"), ("Tags.member.1.Value", &long_value)],
                "ValidationError",
                "tags.1.member.value",
            ),
            (
                "duplicate keys ignoring case",
                vec![
                    ("Tags.member.1.Key", "Team"),
                    ("Tags.member.1.Value", "a"),
                    ("Tags.member.2.Key", "team"),
                    ("Tags.member.2.Value", "b"),
                ],
                "InvalidParameterValue",
                "case insensitive",
            ),
            ("short source identity", vec![("SourceIdentity", "x")], "ValidationError", "sourceIdentity"),
            ("bad source identity", vec![("SourceIdentity", "a b")], "ValidationError", "sourceIdentity"),
            ("bad session name", vec![("RoleSessionName", "a b")], "ValidationError", "roleSessionName"),
            ("short duration", vec![("DurationSeconds", "60")], "ValidationError", "durationSeconds"),
        ];
        for (what, extra, code, names) in cases {
            let mut all = params(&BASE);
            all.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            let error = AssumeRoleInput::read(&all).validate().err().unwrap_or_else(|| panic!("{what}: accepted"));
            assert_eq!(error.code, code, "{what}");
            assert!(error.message.contains(names), "{what}: {}", error.message);
        }
        let empty_value = params(&[BASE[0], BASE[1], ("Tags.member.1.Key", "k"), ("Tags.member.1.Value", "")]);
        assert!(AssumeRoleInput::read(&empty_value).validate().is_ok(), "a value may be empty");
        let fifty: Vec<(String, String)> = many.into_iter().take(100).collect();
        let mut at_limit = params(&BASE);
        at_limit.extend(fifty);
        assert!(AssumeRoleInput::read(&at_limit).validate().is_ok(), "50 tags are allowed");
        assert_eq!(AssumeRoleInput::read(&params(&[BASE[1]])).validate().err().unwrap().code, "ValidationError");
    }
}
