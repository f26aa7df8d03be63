//! The model's identifier patterns, and new identifiers that satisfy them.

use std::sync::LazyLock;

use rand::Rng;
use rand::rngs::StdRng;
use regex::Regex;

fn anchored(pattern: &str) -> Regex {
    Regex::new(&format!("^(?:{pattern})$")).expect("model patterns compile")
}

pub static ACCOUNT_ID: LazyLock<Regex> = LazyLock::new(|| anchored(r"\d{12}"));
pub static ORGANIZATION_ID: LazyLock<Regex> = LazyLock::new(|| anchored(r"o-[a-z0-9]{10,32}"));
pub static ROOT_ID: LazyLock<Regex> = LazyLock::new(|| anchored(r"r-[0-9a-z]{4,32}"));
pub static UNIT_ID: LazyLock<Regex> = LazyLock::new(|| anchored(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}"));
/// ParentId: a root or an OU.
pub static PARENT_ID: LazyLock<Regex> =
    LazyLock::new(|| anchored(r"(r-[0-9a-z]{4,32})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})"));
/// ChildId: an account or an OU.
pub static CHILD_ID: LazyLock<Regex> = LazyLock::new(|| anchored(r"(\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})"));
/// TaggableResourceId, of which roots, accounts and OUs are modelled here.
pub static TAGGABLE_ID: LazyLock<Regex> = LazyLock::new(|| {
    anchored(concat!(
        r"(r-[0-9a-z]{4,32})|(\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})",
        r"|(p-[0-9a-zA-Z_]{8,128})|(rp-[0-9a-zA-Z_]{4,128})|(rt-[0-9a-zA-Z_]{8,32})"
    ))
});
pub static CREATE_REQUEST_ID: LazyLock<Regex> = LazyLock::new(|| anchored(r"car-[a-z0-9]{8,32}"));
pub static EMAIL: LazyLock<Regex> = LazyLock::new(|| anchored(r"[^\s@]+@[^\s@]+\.[^\s@]+"));
pub static ACCOUNT_NAME: LazyLock<Regex> = LazyLock::new(|| anchored(r"[\u0020-\u007E]+"));
pub static ROLE_NAME: LazyLock<Regex> = LazyLock::new(|| anchored(r"[\w+=,.@-]{1,64}"));
pub static SERVICE_PRINCIPAL: LazyLock<Regex> = LazyLock::new(|| anchored(r"[\w+=,.@-]*"));
/// NextToken, OrganizationalUnitName: any text.
pub static ANY_TEXT: LazyLock<Regex> = LazyLock::new(|| anchored(r"[\s\S]*"));

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

pub fn random(rng: &mut StdRng, alphabet: &[u8], length: usize) -> String {
    (0..length).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

pub fn new_organization_id(rng: &mut StdRng) -> String {
    format!("o-{}", random(rng, LOWER_ALNUM, 10))
}

pub fn new_root_id(rng: &mut StdRng) -> String {
    format!("r-{}", random(rng, LOWER_ALNUM, 4))
}

/// `ou-<the root's letters>-<8>`, as AWS names OUs after their root.
pub fn new_unit_id(rng: &mut StdRng, root_id: &str) -> String {
    format!("ou-{}-{}", root_id.trim_start_matches("r-"), random(rng, LOWER_ALNUM, 8))
}

pub fn new_account_id(rng: &mut StdRng) -> String {
    random(rng, b"0123456789", 12)
}

pub fn new_create_request_id(rng: &mut StdRng) -> String {
    format!("car-{}", random(rng, LOWER_ALNUM, 12))
}
