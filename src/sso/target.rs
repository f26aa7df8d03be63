//! Which account and region a call acts in.

/// A role to assume before calling SSO Admin.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoleRef {
    pub role_arn: String,
    pub external_id: Option<String>,
}

/// The region and identity of a call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub region: String,
    pub role: Option<RoleRef>,
}

/// The account of an IAM role ARN (`arn:aws:iam::111122223333:role/x`).
pub fn account_of_role(role_arn: &str) -> Option<&str> {
    let mut parts = role_arn.splitn(6, ':');
    let (arn, _partition, service, _region, account) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let valid = arn == "arn" && service == "iam" && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    valid.then_some(account)
}

#[cfg(test)]
mod tests {
    use super::account_of_role;

    #[test]
    fn account_comes_from_the_fifth_field_of_a_role_arn() {
        let cases = [
            ("arn:aws:iam::111122223333:role/identity-center-admin", Some("111122223333")),
            ("arn:aws-cn:iam::444455556666:role/path/to/r", Some("444455556666")),
            ("arn:aws:iam::1111:role/short-account", None),
            ("arn:aws:sts::111122223333:assumed-role/r/s", None),
            ("not-an-arn", None),
        ];
        for (arn, want) in cases {
            assert_eq!(account_of_role(arn), want, "{arn}");
        }
    }
}
