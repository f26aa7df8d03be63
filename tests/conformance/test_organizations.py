"""boto3's organizations client against the emulator's AWS Organizations: a
seeded tree of nested OUs read with boto3 paginators across empty pages, who
may read it, the writes a test needs, and CreateInstance as the organization
allows it."""

import time

import pytest
from conftest import client, emulator

ROOT = "r-ex01"
WORKLOADS = "ou-ex01-workload"
SANDBOX = "ou-ex01-sandbox1"
MANAGEMENT_KEY = "AKIA999999999999TEST"
DELEGATED_KEY = "AKIA222222222222TEST"
MEMBER_KEY = "AKIA333333333333TEST"
OUTSIDER_KEY = "AKIA555555555555TEST"
SANDBOX_ACCOUNTS = ["444400000001", "444400000002", "444400000003"]
EVERY_ACCOUNT = sorted(["999999999999", "222222222222", "333333333333", "444411111111", "444422222222", *SANDBOX_ACCOUNTS])

TREE = f"""
seed: 7
createSeconds: 0.2
createAccountSeconds: 0.3
closeAccountSeconds: 0.3
organizationEmptyPages: true
organization:
  id: o-exampleorg1
  rootId: {ROOT}
  managementAccount: '999999999999'
  delegatedAdministrators: ['222222222222']
  serviceControlPolicyDenies:
    {SANDBOX}: ['sso:CreateInstance']
  accounts:
  - '222222222222'
  - {{id: '333333333333', name: Member, email: member@example.com, state: SUSPENDED, tags: {{team: platform}}}}
  organizationalUnits:
  - name: Workloads
    id: {WORKLOADS}
    accounts: ['444411111111', '444422222222']
    organizationalUnits:
    - name: Sandbox
      id: {SANDBOX}
      accounts: {SANDBOX_ACCOUNTS}
"""


@pytest.fixture(scope="module")
def organization_tree_url(tmp_path_factory):
    yield from emulator(tmp_path_factory, "organizations", TREE)


@pytest.fixture(scope="module")
def closed_to_account_instances_url(tmp_path_factory):
    settings = "organization:\n  managementAccount: '999999999999'\n  accountInstancesAllowed: false\n  accounts: ['444411111111']\n"
    yield from emulator(tmp_path_factory, "no-account-instances", settings)


def orgs(url, key=MANAGEMENT_KEY):
    return client("organizations", url, key=key)


def all_pages(organizations, operation, key, **arguments):
    """Every item, and how many pages were empty, through boto3's paginator."""
    items, empty = [], 0
    for page in organizations.get_paginator(operation).paginate(**arguments, PaginationConfig={"PageSize": 1}):
        items.extend(page[key])
        empty += not page[key]
    return items, empty


def accounts_below(organizations, parent):
    found, parents, empty_pages = [], [parent], 0
    for _ in range(10):  # the seeded tree has three containers
        if not parents:
            break
        parent = parents.pop()
        accounts, empty = all_pages(organizations, "list_accounts_for_parent", "Accounts", ParentId=parent)
        units, more_empty = all_pages(
            organizations, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent
        )
        found += [account["Id"] for account in accounts]
        parents += [unit["Id"] for unit in units]
        empty_pages += empty + more_empty
    assert not parents, "the walk ended early"
    return sorted(found), empty_pages


def test_a_tree_of_nested_ous_reads_recursively_across_empty_pages(organization_tree_url):
    organizations = orgs(organization_tree_url)
    first = organizations.list_children(ParentId=ROOT, ChildType="ACCOUNT")
    assert first["Children"] == [] and first["NextToken"], "an empty page that is not the last"

    found, empty_pages = accounts_below(organizations, ROOT)
    assert found == EVERY_ACCOUNT
    assert empty_pages > 0, "the paginators went past empty pages"
    assert accounts_below(organizations, WORKLOADS)[0] == sorted(["444411111111", "444422222222", *SANDBOX_ACCOUNTS])

    roots, _ = all_pages(organizations, "list_roots", "Roots")
    assert [root["Id"] for root in roots] == [ROOT]
    children, _ = all_pages(organizations, "list_children", "Children", ParentId=WORKLOADS, ChildType="ORGANIZATIONAL_UNIT")
    assert children == [{"Id": SANDBOX, "Type": "ORGANIZATIONAL_UNIT"}]
    parents, _ = all_pages(organizations, "list_parents", "Parents", ChildId=SANDBOX_ACCOUNTS[0])
    assert parents == [{"Id": SANDBOX, "Type": "ORGANIZATIONAL_UNIT"}]

    member = organizations.describe_account(AccountId="333333333333")["Account"]
    assert (member["Name"], member["State"]) == ("Member", "SUSPENDED")
    assert "Status" not in member, "the retired Status is not sent"
    assert member["Paths"] == ["o-exampleorg1/r-ex01/333333333333/"]
    assert organizations.list_tags_for_resource(ResourceId="333333333333")["Tags"] == [{"Key": "team", "Value": "platform"}]
    sandbox = organizations.describe_organizational_unit(OrganizationalUnitId=SANDBOX)["OrganizationalUnit"]
    assert sandbox["Path"] == f"o-exampleorg1/{ROOT}/{WORKLOADS}/{SANDBOX}/"
    assert organizations.describe_organization()["Organization"]["MasterAccountId"] == "999999999999"


def test_max_results_and_missing_parents(organization_tree_url):
    organizations = orgs(organization_tree_url)
    for max_results, reason in [(0, "MIN_VALUE_EXCEEDED"), (21, "MAX_VALUE_EXCEEDED")]:
        with pytest.raises(organizations.exceptions.InvalidInputException) as refused:
            organizations.list_accounts(MaxResults=max_results)
        assert refused.value.response["Reason"] == reason
    with pytest.raises(organizations.exceptions.ParentNotFoundException):
        organizations.list_accounts_for_parent(ParentId="ou-ex01-missing1")
    with pytest.raises(organizations.exceptions.AccountNotFoundException):
        organizations.describe_account(AccountId="123412341234")
    with pytest.raises(organizations.exceptions.ChildNotFoundException):
        organizations.list_parents(ChildId="123412341234")


def test_only_the_management_account_and_delegated_administrators_read(organization_tree_url):
    with pytest.raises(orgs(organization_tree_url).exceptions.AWSOrganizationsNotInUseException):
        orgs(organization_tree_url, OUTSIDER_KEY).describe_organization()
    member = orgs(organization_tree_url, MEMBER_KEY)
    assert member.describe_organization()["Organization"]["Id"] == "o-exampleorg1"
    with pytest.raises(member.exceptions.AccessDeniedException):
        member.list_roots()
    delegated = orgs(organization_tree_url, DELEGATED_KEY)
    accounts, _ = all_pages(delegated, "list_accounts", "Accounts")
    assert sorted(account["Id"] for account in accounts) == EVERY_ACCOUNT
    with pytest.raises(delegated.exceptions.AccessDeniedException):
        delegated.create_organizational_unit(ParentId=ROOT, Name="Mine")


def test_too_many_requests_through_the_fault_rules(organization_tree_url):
    import json
    import urllib.request

    def put_faults(faults):
        request = urllib.request.Request(
            organization_tree_url + "/_emulator/faults", data=json.dumps(faults).encode(), method="PUT"
        )
        urllib.request.urlopen(request, timeout=5)

    put_faults({"rules": [{"operation": "ListRoots", "throttle": 1.0}]})
    try:
        with pytest.raises(orgs(organization_tree_url).exceptions.TooManyRequestsException):
            orgs(organization_tree_url).list_roots()
    finally:
        put_faults({})


def test_create_move_close_and_remove_accounts(tmp_path_factory):
    for url in emulator(tmp_path_factory, "organization-writes", TREE):
        organizations = orgs(url)
        status = organizations.create_account(Email="new@example.com", AccountName="New")["CreateAccountStatus"]
        assert status["State"] == "IN_PROGRESS" and "AccountId" not in status
        time.sleep(0.5)
        done = organizations.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
        assert done["State"] == "SUCCEEDED"
        in_root, _ = all_pages(organizations, "list_accounts_for_parent", "Accounts", ParentId=ROOT)
        assert done["AccountId"] in [account["Id"] for account in in_root]

        account = SANDBOX_ACCOUNTS[0]
        with pytest.raises(organizations.exceptions.SourceParentNotFoundException):
            organizations.move_account(AccountId=account, SourceParentId=ROOT, DestinationParentId=WORKLOADS)
        with pytest.raises(organizations.exceptions.DuplicateAccountException):
            organizations.move_account(AccountId=account, SourceParentId=SANDBOX, DestinationParentId=SANDBOX)
        organizations.move_account(AccountId=account, SourceParentId=SANDBOX, DestinationParentId=WORKLOADS)
        parents, _ = all_pages(organizations, "list_parents", "Parents", ChildId=account)
        assert parents == [{"Id": WORKLOADS, "Type": "ORGANIZATIONAL_UNIT"}]

        organizations.close_account(AccountId=account)
        assert organizations.describe_account(AccountId=account)["Account"]["State"] == "PENDING_CLOSURE"
        time.sleep(0.5)
        assert organizations.describe_account(AccountId=account)["Account"]["State"] == "CLOSED"

        organizations.remove_account_from_organization(AccountId=SANDBOX_ACCOUNTS[1])
        with pytest.raises(organizations.exceptions.AWSOrganizationsNotInUseException):
            orgs(url, f"AKIA{SANDBOX_ACCOUNTS[1]}TEST").describe_organization()
        with pytest.raises(organizations.exceptions.MasterCannotLeaveOrganizationException):
            organizations.remove_account_from_organization(AccountId="999999999999")


def test_create_instance_follows_the_organization(organization_tree_url, closed_to_account_instances_url):
    sso = client("sso-admin", organization_tree_url, key=MANAGEMENT_KEY)
    with pytest.raises(sso.exceptions.ConflictException) as management:
        sso.create_instance()
    assert management.value.response["Error"]["Message"] == (
        "Organization management account is not allowed to perform the operation."
    )
    sandboxed = client("sso-admin", organization_tree_url, key=f"AKIA{SANDBOX_ACCOUNTS[2]}TEST")
    with pytest.raises(sso.exceptions.AccessDeniedException) as denied:
        sandboxed.create_instance()
    assert "with an explicit deny in a service control policy" in denied.value.response["Error"]["Message"]

    member = client("sso-admin", closed_to_account_instances_url, key="AKIA444411111111TEST")
    with pytest.raises(member.exceptions.AccessDeniedException) as refused:
        member.create_instance()
    assert "does not allow account instances" in refused.value.response["Error"]["Message"]
