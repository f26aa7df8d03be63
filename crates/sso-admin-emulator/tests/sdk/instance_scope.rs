//! What ListInstances and DescribeInstance say about where an instance lives:
//! its identity store's ARN, and RegionScope (the caller's Region, or every
//! Region), page by page.

use aws_sdk_ssoadmin::types::{InstanceMetadata, RegionScope};

use super::*;

const IDENTITY_STORE_ARN: &str = r"^arn:aws:identitystore::\d{12}:identitystore/d-[0-9a-f]{10}$";

/// Every instance a ListInstances of `scope` shows, page after page.
async fn listed(client: &aws_sdk_ssoadmin::Client, scope: Option<RegionScope>) -> Vec<Vec<InstanceMetadata>> {
    let pages = client.list_instances().set_region_scope(scope).into_paginator().send();
    let pages: Vec<_> = pages.collect::<Result<Vec<_>, _>>().await.unwrap();
    pages.into_iter().map(|page| page.instances.unwrap_or_default()).collect()
}

#[tokio::test]
async fn describe_and_list_name_the_identity_store_by_an_arn_of_the_owner() {
    let emulator = start(Config { create_seconds: 0.0, ..fast() }).await;
    let client = sso(&emulator, KEY_A, "eu-west-1");
    let arn = client.create_instance().client_token("t").send().await.unwrap().instance_arn.unwrap();
    let described = client.describe_instance().instance_arn(&arn).send().await.unwrap();
    let store = described.identity_store_arn().unwrap();
    assert!(regex::Regex::new(IDENTITY_STORE_ARN).unwrap().is_match(store), "{store}");
    let id = described.identity_store_id().unwrap();
    assert_eq!(store, format!("arn:aws:identitystore::{ACCOUNT_A}:identitystore/{id}"));
    let listed = client.list_instances().send().await.unwrap();
    assert_eq!(listed.instances()[0].identity_store_arn(), Some(store));
}

#[tokio::test]
async fn region_scope_widens_the_list_to_every_region_page_by_page() {
    // The caller's own account instance lives in eu-west-1; its organization's
    // 14 instances (as a member sees them) in us-east-1 and ap-south-1.
    let mut seeds = vec![SeedInstance::new(ACCOUNT_A, "eu-west-1")];
    seeds.extend((0..14).map(|i| SeedInstance {
        visible_to: vec![ACCOUNT_A.into()],
        ..SeedInstance::new(format!("9999999999{i:02}"), if i % 2 == 0 { "us-east-1" } else { "ap-south-1" })
    }));
    let emulator = start(Config { instances: seeds, ..fast() }).await;
    let client = sso(&emulator, KEY_A, "us-east-1");

    let here = listed(&client, None).await;
    assert_eq!(here.concat().len(), 7, "CURRENT_REGION by default: us-east-1's instances only");
    assert_eq!(listed(&client, Some(RegionScope::CurrentRegion)).await.concat().len(), 7);

    let everywhere = listed(&client, Some(RegionScope::AllRegions)).await;
    assert_eq!(everywhere.iter().map(Vec::len).collect::<Vec<_>>(), [10, 5], "at most 10 instances a page");
    let all = everywhere.concat();
    let own = all.iter().find(|i| i.owner_account_id() == Some(ACCOUNT_A)).expect("the caller's own instance");
    assert_eq!(own.primary_region(), Some("eu-west-1"));
    assert_eq!(own.regions().len(), 1);
    let mut regions: Vec<_> = all.iter().filter_map(|i| i.primary_region()).collect();
    regions.sort_unstable();
    regions.dedup();
    assert_eq!(regions, ["ap-south-1", "eu-west-1", "us-east-1"]);

    let bad = client.list_instances().region_scope(RegionScope::from("EVERYWHERE")).send().await;
    assert_eq!(
        message(bad),
        "1 validation error detected: Value 'EVERYWHERE' at 'regionScope' failed to satisfy constraint: Member \
         must satisfy enum value set: [CURRENT_REGION, ALL_REGIONS]"
    );
}

#[tokio::test]
async fn an_account_instance_in_one_region_refuses_a_second_in_another() {
    let emulator = start(Config { instances: vec![SeedInstance::new(ACCOUNT_A, "eu-west-1")], ..fast() }).await;
    let client = sso(&emulator, KEY_A, "us-east-1");
    let refused = client.create_instance().client_token("second").send().await.unwrap_err().into_service_error();
    assert!(refused.is_conflict_exception(), "{refused:?}");
    assert_eq!(
        refused.message(),
        Some(
            "An instance already exists in this account. You can create only one instance per account and across all AWS Regions."
        )
    );
    assert!(listed(&client, Some(RegionScope::CurrentRegion)).await.concat().is_empty());
    let everywhere = listed(&client, Some(RegionScope::AllRegions)).await.concat();
    assert_eq!(everywhere.len(), 1);
    assert_eq!(everywhere[0].primary_region(), Some("eu-west-1"));
}
