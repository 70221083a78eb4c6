package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// runComponentProvider starts a source-based component provider written for
// Node.js, as the upstream host does: @pulumi/pulumi's cmd/run-plugin (found
// from the plugin's directory upward) loads the directory's package
// (TypeScript through ts-node) and serves the components it exports; the
// engine reads the provider's port from its stdout.
func runComponentProvider(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	dir := programDir(req.GetInfo(), req.GetPwd())
	node, runner, err := sdkCommand(dir, "run-plugin", "plugin")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(server.Context(), node, providerArgs(runner, dir, req.GetArgs())...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("component provider %s: %w", dir, err)
	}
	return closer.Close()
}

// providerArgs is node's command line for the component provider in dir: the
// plugin runner, the directory, then the engine's arguments (its address).
func providerArgs(runner, dir string, engineArgs []string) []string {
	return append([]string{runner, dir}, engineArgs...)
}

// sdkCommand finds node on PATH and the @pulumi/pulumi command cmd/NAME that
// serves a plugin (a policy pack, a component provider) in dir, resolved from
// dir upward as Node's resolver does; WHAT names the plugin in the error.
func sdkCommand(dir, name, what string) (node, runner string, err error) {
	runner, ok := findUp(dir, filepath.Join("node_modules", "@pulumi", "pulumi", "cmd", name))
	if !ok {
		return "", "", fmt.Errorf("could not find node_modules/@pulumi/pulumi/cmd/%s from the %s %s: install its npm packages first", name, what, dir)
	}
	if node, err = nodeBinary(); err != nil {
		return "", "", errors.New("node not found on PATH")
	}
	return node, runner, nil
}
