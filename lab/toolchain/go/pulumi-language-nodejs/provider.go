package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// runComponentProvider serves a source-based component provider written for
// Node.js (RunPlugin, kind "resource"), as the upstream host does:
// @pulumi/pulumi's cmd/run-plugin (found from the plugin's directory upward)
// loads the directory's package (TypeScript through ts-node) and serves the
// components it exports; the engine reads the provider's port from its stdout.
func runComponentProvider(p pluginRun) error {
	cmd := exec.CommandContext(p.ctx, p.node, providerArgs(p.runner, p.dir, p.req.GetArgs())...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), p.req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("component provider %s: %w", p.dir, err)
	}
	return nil
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
