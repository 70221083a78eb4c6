// Package info maps the Terraform TLS provider onto the Pulumi "tls" package.
package info

import (
	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"

	"github.com/hashicorp/terraform-provider-tls/shim"
)

// Version is stamped at build time.
var Version = "0.0.0-dev"

// Provider describes the package: Terraform resource "tls_x_y" becomes
// "tls:index/xY:XY" and data source "tls_x_y" becomes "tls:index/getXY:getXY",
// the tokens of the @pulumi/tls SDK.
func Provider(metadata []byte) tfbridge.ProviderInfo {
	p := tfbridge.ProviderInfo{
		P:            pftfbridge.ShimProvider(shim.NewProvider()),
		Name:         "tls",
		Version:      Version,
		GitHubOrg:    "hashicorp",
		Description:  "TLS keys and certificates (bridged from the Terraform TLS provider).",
		License:      "Apache-2.0",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
	}
	p.MustComputeTokens(tokens.SingleModule("tls_", "index", tokens.MakeStandard("tls")))
	return p
}
