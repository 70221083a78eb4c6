// Command pulumi-tfgen-github generates the Pulumi schema of the bridged
// provider; the build runs it (`schema --out cmd/pulumi-resource-github`)
// before building the plugin, which embeds what it writes.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"fluxcapsule.local/pulumi-resource-github/info"
)

func main() { tfgen.Main("github", info.Version, info.Provider([]byte("{}"))) }
