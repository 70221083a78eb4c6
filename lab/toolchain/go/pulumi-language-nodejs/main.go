// Command pulumi-language-nodejs is a small Node.js language host for the
// Pulumi engine, written for flux-capsule because the upstream language host
// module is not served by the Go module proxy this project can reach.
//
// It runs a program through the installed @pulumi/pulumi package's own runner
// (node_modules/@pulumi/pulumi/cmd/run, which loads ts-node for TypeScript
// projects), reports the resource plugins that the installed npm packages ask
// for, and runs Node.js policy packs (RunPlugin, see policy.go).
package main

import (
	"fmt"
	"net"
	"os"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// Version is stamped at build time with -ldflags -X main.Version=...
var Version = "dev"

// engineAddress picks the engine's address out of the host's arguments: the
// engine passes it as the last positional argument, after any flags.
func engineAddress(args []string) string {
	addr := ""
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			addr = a
		}
	}
	return addr
}

func main() {
	h := &host{engineAddress: engineAddress(os.Args[1:])}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: listen: %v\n", err)
		os.Exit(1)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(400 * 1024 * 1024))
	pulumirpc.RegisterLanguageRuntimeServer(srv, h)
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", lis.Addr().(*net.TCPAddr).Port)
	if err := srv.Serve(lis); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: serve: %v\n", err)
		os.Exit(1)
	}
}
