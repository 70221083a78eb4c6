// Command pulumi-resource-github is the plugin: it serves the bridged provider
// with the schema and bridge metadata that pulumi-tfgen-github generated into
// this directory at build time (they are not checked in).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"fluxcapsule.local/pulumi-resource-github/info"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() { tfbridge.Main("github", info.Version, info.Provider(metadata), schema) }
