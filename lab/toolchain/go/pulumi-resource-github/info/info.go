// Package info maps the Terraform GitHub provider onto the Pulumi "github" package.
package info

import (
	"github.com/integrations/terraform-provider-github/v6/github"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
)

// Version is stamped at build time.
var Version = "0.0.0-dev"

// Provider describes the package: Terraform resource "github_x_y" becomes
// "github:index/xY:XY" and data source "github_x_y" becomes
// "github:index/getXY:getXY", the tokens of the @pulumi/github SDK.
func Provider(metadata []byte) tfbridge.ProviderInfo {
	p := tfbridge.ProviderInfo{
		P:            shimv2.NewProvider(github.Provider()),
		Name:         "github",
		Version:      Version,
		GitHubOrg:    "integrations",
		Description:  "GitHub resources (bridged from the Terraform GitHub provider).",
		License:      "Apache-2.0",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		DataSources: map[string]*tfbridge.DataSourceInfo{
			// The one name in @pulumi/github that the standard rule doesn't give.
			"github_app": {Tok: "github:index/getGithubApp:getGithubApp"},
		},
	}
	p.MustComputeTokens(tokens.SingleModule("github_", "index", tokens.MakeStandard("github")))
	return p
}
