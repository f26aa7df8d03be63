//! Input validation by the SSO Admin model (2020-07-20): required members,
//! types, lengths, patterns and counts, answered as AWS words them.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::error::ApiError;

fn full(pattern: &str) -> Regex {
    Regex::new(&format!("^(?:{pattern})$")).expect("model patterns compile")
}

pub static INSTANCE_ARN: LazyLock<Regex> =
    LazyLock::new(|| full(r"arn:aws(-[a-z]{1,5}){0,3}:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}"));
pub static TAGGABLE_ARN: LazyLock<Regex> = LazyLock::new(|| {
    full(concat!(
        r"arn:aws(-[a-z]{1,5}){0,3}:sso::((:instance/(sso)?ins-[a-zA-Z0-9-.]{16})",
        r"|(:permissionSet/(sso)?ins-[a-zA-Z0-9-.]{16}/ps-[a-zA-Z0-9-./]{16})",
        r"|(\d{12}:application/(sso)?ins-[a-zA-Z0-9-.]{16}/apl-[a-zA-Z0-9]{16})",
        r"|(\d{12}:trustedTokenIssuer/(sso)?ins-[a-zA-Z0-9-.]{16}/tti-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}))"
    ))
});
pub static NAME: LazyLock<Regex> = LazyLock::new(|| full(r"[\w+=,.@-]+"));
pub static CLIENT_TOKEN: LazyLock<Regex> = LazyLock::new(|| full(r"[!-~]+"));
pub static TAG_KEY: LazyLock<Regex> = LazyLock::new(|| full(r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"));
pub static TAG_VALUE: LazyLock<Regex> = LazyLock::new(|| full(r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"));
pub static KMS_KEY_ARN: LazyLock<Regex> = LazyLock::new(|| {
    full(concat!(
        r"arn:aws(-[a-z]{1,5}){0,3}:kms:([a-z]{2,}(-[a-z0-9]+)+){1}:[0-9]{12}:key/",
        r"(mrk-[a-f0-9]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    ))
});
pub static REGION_NAME: LazyLock<Regex> = LazyLock::new(|| full(r"([a-z]+-){2,3}\d"));
/// Enum members: their value set is checked by [`Input::one_of`].
static ANYTHING: LazyLock<Regex> = LazyLock::new(|| full(r"(?s).*"));
pub static NEXT_TOKEN: LazyLock<Regex> = LazyLock::new(|| full(r"[-a-zA-Z0-9+=/_]*"));
pub static VPC_ARN: LazyLock<Regex> =
    LazyLock::new(|| full(r"arn:aws(-[a-z]{1,5}){0,3}:ec2:[a-z0-9-]+:[0-9]{12}:vpc/vpc-([0-9a-f]){8}(([0-9a-f]){9})?"));
/// An IPv4 or IPv6 address, optionally with a prefix length.
pub static IP_CIDR: LazyLock<Regex> = LazyLock::new(|| {
    full(concat!(
        r"((([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\.){3}([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])",
        r"(\/(3[0-2]|[1-2][0-9]|[0-9]))?",
        r"|(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}",
        r"|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}",
        r"|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}",
        r"|[0-9a-fA-F]{1,4}:(:[0-9a-fA-F]{1,4}){1,6}|:((:[0-9a-fA-F]{1,4}){1,7}|:))",
        r"(\/(12[0-8]|1[0-1][0-9]|[1-9][0-9]|[0-9]))?)"
    ))
});
pub static APPLICATION_ARN: LazyLock<Regex> =
    LazyLock::new(|| full(r"arn:aws(-[a-z]{1,5}){0,3}:[a-z0-9-]+:[a-z0-9-*]*:[0-9]{12}:[-a-zA-Z0-9./:_*]+"));
pub static ATTRIBUTE_KEY: LazyLock<Regex> = LazyLock::new(|| full(r"[\p{L}\p{Z}\p{N}_.:\/=+\-@]+"));
pub static ATTRIBUTE_SOURCE: LazyLock<Regex> = LazyLock::new(|| full(r#"[\p{L}\p{Z}\p{N}_.:\/=+\-@\[\]\{\}\$\\"]*"#));

/// AWS names members in validation messages with a lower-case first letter.
fn path(member: &str) -> String {
    let mut chars = member.chars();
    chars.next().map(|c| c.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn constraint(value: &str, member: &str, rule: String) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{value}' at '{}' failed to satisfy constraint: {rule}",
        path(member)
    ))
}

/// One operation's input object.
pub struct Input<'a> {
    body: &'a Map<String, Value>,
}

impl<'a> Input<'a> {
    pub fn new(body: &'a Value) -> Result<Self, ApiError> {
        body.as_object()
            .map(|body| Self { body })
            .ok_or_else(|| ApiError::serialization("The request body must be a JSON object"))
    }

    fn get(&self, member: &str) -> Option<&'a Value> {
        self.body.get(member).filter(|v| !v.is_null())
    }

    fn required<T>(&self, member: &str, value: Option<T>) -> Result<T, ApiError> {
        value.ok_or_else(|| {
            ApiError::validation(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                path(member)
            ))
        })
    }

    pub fn string(&self, member: &str, min: usize, max: usize, pattern: &Regex) -> Result<Option<&'a str>, ApiError> {
        let Some(value) = self.get(member) else { return Ok(None) };
        let text = value.as_str().ok_or_else(|| {
            ApiError::serialization(format!("Unexpected value type for '{}': expected a string", path(member)))
        })?;
        check_string(text, member, min, max, pattern)?;
        Ok(Some(text))
    }

    pub fn required_string(&self, member: &str, min: usize, max: usize, pattern: &Regex) -> Result<&'a str, ApiError> {
        let value = self.string(member, min, max, pattern)?;
        self.required(member, value)
    }

    pub fn boolean(&self, member: &str) -> Result<Option<bool>, ApiError> {
        let Some(value) = self.get(member) else { return Ok(None) };
        value.as_bool().map(Some).ok_or_else(|| {
            ApiError::serialization(format!("Unexpected value type for '{}': expected a boolean", path(member)))
        })
    }

    /// A member the model constrains to an enum.
    pub fn one_of(&self, member: &str, allowed: &[&str]) -> Result<Option<&'a str>, ApiError> {
        let Some(value) = self.string(member, 0, usize::MAX, &ANYTHING)? else { return Ok(None) };
        if !allowed.contains(&value) {
            let rule = format!("Member must satisfy enum value set: [{}]", allowed.join(", "));
            return Err(constraint(value, member, rule));
        }
        Ok(Some(value))
    }

    /// A nested structure, read by `read`; its errors name the member path (`networkConfiguration.allowSourceIps`).
    pub fn structure<T>(
        &self,
        member: &str,
        read: impl FnOnce(&Input<'a>) -> Result<T, ApiError>,
    ) -> Result<Option<T>, ApiError> {
        let Some(value) = self.get(member) else { return Ok(None) };
        let nested = structure_of(value, member)?;
        read(&nested).map(Some).map_err(|e| renamed(e, member))
    }

    /// A list of structures, each read by `read`; their errors name the item (`tags.1.key`).
    pub fn structures<T>(
        &self,
        member: &str,
        min: usize,
        max: usize,
        read: impl Fn(&Input<'a>) -> Result<T, ApiError>,
    ) -> Result<Option<Vec<T>>, ApiError> {
        let Some(items) = self.list(member, min, max)? else { return Ok(None) };
        let read_item = |(index, item): (usize, &'a Value)| {
            let at = format!("{member}.{}", index + 1);
            read(&structure_of(item, &at)?).map_err(|e| renamed(e, &at))
        };
        items.iter().enumerate().map(read_item).collect::<Result<_, _>>().map(Some)
    }

    /// A list of strings, each with the model's length and pattern.
    pub fn strings(
        &self,
        member: &str,
        count: (usize, usize),
        length: (usize, usize),
        pattern: &Regex,
    ) -> Result<Option<Vec<&'a str>>, ApiError> {
        let Some(items) = self.list(member, count.0, count.1)? else { return Ok(None) };
        let read_item = |(index, item): (usize, &'a Value)| {
            let at = format!("{member}.{}", index + 1);
            let text = item
                .as_str()
                .ok_or_else(|| ApiError::serialization(format!("Unexpected value type in '{}'", path(member))))?;
            check_string(text, &at, length.0, length.1, pattern)?;
            Ok(text)
        };
        items.iter().enumerate().map(read_item).collect::<Result<_, _>>().map(Some)
    }

    pub fn integer(&self, member: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        let Some(value) = self.get(member) else { return Ok(None) };
        let number = value.as_i64().ok_or_else(|| {
            ApiError::serialization(format!("Unexpected value type for '{}': expected an integer", path(member)))
        })?;
        if number < min {
            return Err(constraint(
                &number.to_string(),
                member,
                format!("Member must have value greater than or equal to {min}"),
            ));
        }
        if number > max {
            return Err(constraint(
                &number.to_string(),
                member,
                format!("Member must have value less than or equal to {max}"),
            ));
        }
        Ok(Some(number))
    }

    fn list(&self, member: &str, min: usize, max: usize) -> Result<Option<&'a Vec<Value>>, ApiError> {
        let Some(value) = self.get(member) else { return Ok(None) };
        let items = value.as_array().ok_or_else(|| {
            ApiError::serialization(format!("Unexpected value type for '{}': expected a list", path(member)))
        })?;
        if items.len() < min {
            return Err(constraint("[]", member, format!("Member must have length greater than or equal to {min}")));
        }
        if items.len() > max {
            return Err(constraint(
                &format!("{} items", items.len()),
                member,
                format!("Member must have length less than or equal to {max}"),
            ));
        }
        Ok(Some(items))
    }

    /// A TagList (0-75 Tag structures, Key and Value both required).
    pub fn tags(&self, member: &str) -> Result<Option<BTreeMap<String, String>>, ApiError> {
        let tags = self.structures(member, 0, 75, |tag| {
            let key = tag.required_string("Key", 1, 128, &TAG_KEY)?;
            let value = tag.required_string("Value", 0, 256, &TAG_VALUE)?;
            Ok((key.to_string(), value.to_string()))
        })?;
        Ok(tags.map(|pairs| pairs.into_iter().collect()))
    }

    /// A TagKeyList (1-75 keys).
    pub fn tag_keys(&self, member: &str) -> Result<Option<Vec<String>>, ApiError> {
        let keys = self.strings(member, (1, 75), (1, 128), &TAG_KEY)?;
        Ok(keys.map(|keys| keys.into_iter().map(String::from).collect()))
    }

    pub fn require<T>(&self, member: &str, value: Option<T>) -> Result<T, ApiError> {
        self.required(member, value)
    }
}

fn structure_of<'a>(value: &'a Value, member: &str) -> Result<Input<'a>, ApiError> {
    let body = value.as_object().ok_or_else(|| {
        ApiError::serialization(format!("Unexpected value type for '{}': expected a structure", path(member)))
    })?;
    Ok(Input { body })
}

fn check_string(text: &str, member: &str, min: usize, max: usize, pattern: &Regex) -> Result<(), ApiError> {
    let length = text.chars().count();
    if length < min {
        return Err(constraint(text, member, format!("Member must have length greater than or equal to {min}")));
    }
    if length > max {
        return Err(constraint(text, member, format!("Member must have length less than or equal to {max}")));
    }
    if !pattern.is_match(text) {
        return Err(constraint(
            text,
            member,
            format!("Member must satisfy regular expression pattern: {}", pattern_text(pattern)),
        ));
    }
    Ok(())
}

/// The model's pattern, without the anchors added here.
fn pattern_text(pattern: &Regex) -> &str {
    let text = pattern.as_str();
    text.strip_prefix("^(?:").and_then(|t| t.strip_suffix(")$")).unwrap_or(text)
}

/// Prefixes the member path of a nested validation error (`tags.1.key`).
fn renamed(mut error: ApiError, at: &str) -> ApiError {
    error.message = error.message.replacen(" at '", &format!(" at '{}.", path(at)), 1);
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(body: Value, f: impl Fn(&Input) -> Result<(), ApiError>) -> Result<(), String> {
        let input = Input::new(&body).map_err(|e| e.message)?;
        f(&input).map_err(|e| format!("{}: {}", e.code, e.message))
    }

    #[test]
    fn each_constraint_is_enforced_and_names_the_member() {
        let name = |i: &Input| i.string("Name", 0, 255, &NAME).map(drop);
        let arn = |i: &Input| i.required_string("InstanceArn", 10, 1224, &INSTANCE_ARN).map(drop);
        let tags = |i: &Input| i.tags("Tags").map(drop);
        let keys = |i: &Input| i.tag_keys("TagKeys").map(drop);
        let max = |i: &Input| i.integer("MaxResults", 1, 100).map(drop);
        let scope = |i: &Input| i.one_of("RegionScope", &["CURRENT_REGION", "ALL_REGIONS"]).map(drop);
        let ips = |i: &Input| i.strings("AllowSourceIps", (0, 2), (2, 43), &IP_CIDR).map(drop);
        type Check = fn(&Input) -> Result<(), ApiError>;
        let cases: Vec<(&str, Value, Check, Option<&str>)> = vec![
            ("good name", json!({"Name": "platform-sso"}), name, None),
            (
                "bad name",
                json!({"Name": "no spaces"}),
                name,
                Some("at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern"),
            ),
            (
                "name too long",
                json!({"Name": "a".repeat(256)}),
                name,
                Some("Member must have length less than or equal to 255"),
            ),
            ("name wrong type", json!({"Name": 7}), name, Some("SerializationException")),
            (
                "missing arn",
                json!({}),
                arn,
                Some("at 'instanceArn' failed to satisfy constraint: Member must not be null"),
            ),
            ("bad arn", json!({"InstanceArn": "arn:aws:sso:::instance/nope"}), arn, Some("regular expression")),
            ("good arn", json!({"InstanceArn": "arn:aws:sso:::instance/ssoins-0123456789abcdef"}), arn, None),
            ("tag without value", json!({"Tags": [{"Key": "a"}]}), tags, Some("at 'tags.1.value'")),
            (
                "tag key too long",
                json!({"Tags": [{"Key": "k".repeat(129), "Value": ""}]}),
                tags,
                Some("at 'tags.1.key'"),
            ),
            ("tag value bad char", json!({"Tags": [{"Key": "k", "Value": "a*b"}]}), tags, Some("at 'tags.1.value'")),
            (
                "76 tags",
                json!({"Tags": (0..76).map(|i| json!({"Key": format!("k{i}"), "Value": ""})).collect::<Vec<_>>()}),
                tags,
                Some("less than or equal to 75"),
            ),
            ("unicode tags", json!({"Tags": [{"Key": "équipe", "Value": "plateforme ü"}]}), tags, None),
            ("empty tag key list", json!({"TagKeys": []}), keys, Some("greater than or equal to 1")),
            ("MaxResults 0", json!({"MaxResults": 0}), max, Some("greater than or equal to 1")),
            ("MaxResults 101", json!({"MaxResults": 101}), max, Some("less than or equal to 100")),
            ("known scope", json!({"RegionScope": "ALL_REGIONS"}), scope, None),
            (
                "unknown scope",
                json!({"RegionScope": "all_regions"}),
                scope,
                Some(
                    "Value 'all_regions' at 'regionScope' failed to satisfy constraint: Member must satisfy enum value set: [CURRENT_REGION, ALL_REGIONS]",
                ),
            ),
            ("IPv4 and IPv6", json!({"AllowSourceIps": ["192.0.2.0/24", "2001:db8::1"]}), ips, None),
            (
                "not an address",
                json!({"AllowSourceIps": ["10.0.0.0", "300.1.1.1"]}),
                ips,
                Some("at 'allowSourceIps.2'"),
            ),
            ("too many addresses", json!({"AllowSourceIps": ["::", "::", "::"]}), ips, Some("'3 items'")),
            ("not a string", json!({"AllowSourceIps": [1]}), ips, Some("SerializationException")),
        ];
        for (name, body, f, want) in cases {
            match (check(body, f), want) {
                (Ok(()), None) => {}
                (Err(message), Some(fragment)) => assert!(message.contains(fragment), "{name}: {message}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }
}
