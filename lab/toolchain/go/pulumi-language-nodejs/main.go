// Command pulumi-language-nodejs is a small Node.js language host for the
// Pulumi engine, written for flux-capsule because the upstream language host
// module is not served by the Go module proxy this project can reach.
//
// It runs a program through the installed @pulumi/pulumi package's own runner
// (node_modules/@pulumi/pulumi/cmd/run, which loads ts-node for TypeScript
// projects), reports the resource plugins that the installed npm packages ask
// for, and runs Node.js policy packs (RunPlugin, see policy.go). What it
// shares with pulumi-language-python (serving, the handshake, the stack
// configuration, how a run ends) is the langhost module beside it.
package main

import (
	"os"

	"fluxcapsule.local/langhost"
)

// Version is stamped at build time with -ldflags -X main.Version=...
var Version = "dev"

// host serves the engine's LanguageRuntime protocol (its methods are in
// host.go, run.go and policy.go); the handshake and the plugin info are
// langhost.Base's.
type host struct {
	langhost.Base
}

// main serves the host on a free local port (langhost.Serve, shared with
// pulumi-language-python), the engine's address taken from the arguments.
func main() {
	langhost.Serve("pulumi-language-nodejs", &host{Base: langhost.NewBase(Version, os.Args[1:])})
}
