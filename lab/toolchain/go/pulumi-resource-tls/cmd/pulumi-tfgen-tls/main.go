// Command pulumi-tfgen-tls generates the Pulumi schema of the bridged
// provider; the build runs it (`schema --out cmd/pulumi-resource-tls`) before
// building the plugin, which embeds what it writes.
package main

import (
	tfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"fluxcapsule.local/pulumi-resource-tls/info"
)

func main() { tfgen.Main("tls", info.Provider([]byte("{}"))) }
