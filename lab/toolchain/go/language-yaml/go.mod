// The Pulumi YAML language host (pulumi-language-yaml), built from the
// pulumi-yaml module for the lab: YAML programs use the package's Platform
// component through the component provider in provider/.
//
// pulumi-yaml v1.25.0 (the newest the proxy serves) builds against Pulumi's
// pkg/sdk v3.218.0, the version the Terraform bridge needs too (its
// plugin.NewContextWithRoot call passes the 13 parameters of v3.218;
// v3.224 takes 14, v3.248 takes 12), not against the CLI's v3.248.0. esc stays
// at v0.17.0, pkg v3.218.0's own pin: a newer esc asks for pkg v3.243.0,
// which the proxy refuses (403).
module flux-capsule.local/pulumi-language-yaml

go 1.25.11

require (
	github.com/pulumi/esc v0.17.0
	github.com/pulumi/pulumi-yaml v1.25.0
	github.com/pulumi/pulumi/pkg/v3 v3.218.0
	github.com/pulumi/pulumi/sdk/v3 v3.218.0
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
