// Package conformance runs aws-sdk-go-v2's ssoadmin client (v1.53.0, which
// models UpdateInstance's NetworkConfiguration, DescribeInstance's
// NetworkConfigurationDetails and IdentityStoreArn, ListInstances' RegionScope
// and instance attribute-based access control) against the sso-admin-emulator
// binary named by EMULATOR_BIN, on a free loopback port. hack/go-conformance.sh
// runs it.
package conformance
