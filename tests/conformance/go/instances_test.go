package conformance

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
)

// pages lists every page of ListInstances in `scope` (the SDK's paginator, bounded).
func pages(t *testing.T, sso *ssoadmin.Client, scope types.RegionScope) [][]types.InstanceMetadata {
	t.Helper()
	paginator := ssoadmin.NewListInstancesPaginator(sso, &ssoadmin.ListInstancesInput{RegionScope: scope})
	var out [][]types.InstanceMetadata
	for paginator.HasMorePages() && len(out) < 20 {
		page, err := paginator.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Instances)
	}
	return out
}

func count(pages [][]types.InstanceMetadata) int {
	total := 0
	for _, page := range pages {
		total += len(page)
	}
	return total
}

func TestOneInstancePerAccountAcrossRegions(t *testing.T) {
	sso := client(ownerElsewhere, "us-east-1")
	_, err := sso.CreateInstance(context.Background(), &ssoadmin.CreateInstanceInput{ClientToken: aws.String("second-region")})
	code, message := serviceError(t, err)
	want := "An instance already exists in this account. You can create only one instance per account and across all AWS Regions."
	if code != "ConflictException" || message != want {
		t.Fatalf("got %s: %s", code, message)
	}
}

func TestRegionScopeListsTheCurrentRegionOrEveryRegion(t *testing.T) {
	sso := client(ownerElsewhere, "us-east-1")
	for _, scope := range []types.RegionScope{"", types.RegionScopeCurrentRegion} {
		here := pages(t, sso, scope)
		if count(here) != 6 {
			t.Fatalf("scope %q: want us-east-1's 6 instances, got %d", scope, count(here))
		}
		for _, instance := range here[0] {
			if aws.ToString(instance.PrimaryRegion) != "us-east-1" {
				t.Fatalf("scope %q lists %s of %s", scope, aws.ToString(instance.InstanceArn), aws.ToString(instance.PrimaryRegion))
			}
		}
	}

	everywhere := pages(t, sso, types.RegionScopeAllRegions)
	if len(everywhere) != 2 || len(everywhere[0]) != 10 || len(everywhere[1]) != 2 {
		t.Fatalf("want pages of 10 and 2 instances, got %d pages (%d instances)", len(everywhere), count(everywhere))
	}
	regions := map[string]bool{}
	own := 0
	for _, page := range everywhere {
		for _, instance := range page {
			regions[aws.ToString(instance.PrimaryRegion)] = true
			if !identityStoreArn.MatchString(aws.ToString(instance.IdentityStoreArn)) {
				t.Errorf("IdentityStoreArn %q", aws.ToString(instance.IdentityStoreArn))
			}
			if aws.ToString(instance.OwnerAccountId) == ownerElsewhere {
				own++
				if aws.ToString(instance.PrimaryRegion) != "eu-west-1" || len(instance.Regions) != 1 {
					t.Errorf("the caller's own instance: %s, %d Regions", aws.ToString(instance.PrimaryRegion), len(instance.Regions))
				}
			}
		}
	}
	if own != 1 || len(regions) != 3 {
		t.Fatalf("want the caller's instance and instances in 3 Regions, got %d own and %v", own, regions)
	}

	_, err := sso.ListInstances(context.Background(), &ssoadmin.ListInstancesInput{RegionScope: "EVERYWHERE"})
	code, message := serviceError(t, err)
	if code != "ValidationException" || !strings.Contains(message, "enum value set: [CURRENT_REGION, ALL_REGIONS]") {
		t.Fatalf("got %s: %s", code, message)
	}
}
