//go:build tools

// Package tools pins the Pulumi YAML language host: the module exists only
// so that `go build github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml`
// resolves the versions in go.mod.
package tools

import _ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
