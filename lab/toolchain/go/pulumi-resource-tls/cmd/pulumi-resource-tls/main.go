// Command pulumi-resource-tls is the plugin: it serves the bridged provider
// with the schema and bridge metadata that pulumi-tfgen-tls generated into
// this directory at build time (they are not checked in).
package main

import (
	"context"
	_ "embed"

	tfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"fluxcapsule.local/pulumi-resource-tls/info"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	tfbridge.Main(context.Background(), "tls", info.Provider(metadata),
		tfbridge.ProviderMetadata{PackageSchema: schema})
}
