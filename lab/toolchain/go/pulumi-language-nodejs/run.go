package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"fluxcapsule.local/langhost"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func asBool(v any, def bool) bool {
	switch t := v.(type) {
	case bool:
		return t
	case string:
		if b, err := strconv.ParseBool(t); err == nil {
			return b
		}
	}
	return def
}

// runArgs is node's command line for running the program in dir through
// @pulumi/pulumi's runner: runtime option nodeargs first, then the runner and
// its flags, the program (the entry point of Pulumi.yaml, else "."), and the
// program's own arguments.
func runArgs(runner, dir, engineAddress string, req *pulumirpc.RunRequest, opts map[string]any) []string {
	program := req.GetProgram()
	if info := req.GetInfo(); info != nil && info.GetEntryPoint() != "" {
		program = info.GetEntryPoint()
	}
	if program == "" {
		program = "."
	}

	var args []string
	if na, ok := opts["nodeargs"].(string); ok && na != "" {
		args = append(args, strings.Fields(na)...)
	}
	args = append(args, runner,
		"--monitor="+req.GetMonitorAddress(),
		"--project="+req.GetProject(),
		"--stack="+req.GetStack(),
		"--pwd="+dir,
	)
	if engineAddress != "" {
		args = append(args, "--engine="+engineAddress)
	}
	if req.GetOrganization() != "" {
		args = append(args, "--organization="+req.GetOrganization())
	}
	if info := req.GetInfo(); info != nil && info.GetRootDirectory() != "" {
		args = append(args, "--root-directory="+info.GetRootDirectory())
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() > 0 {
		args = append(args, fmt.Sprintf("--parallel=%d", req.GetParallel()))
	}
	args = append(args, program)
	return append(args, req.GetArgs()...)
}

// runEnv is what the runner reads from its environment on top of the host's:
// the stack's configuration and which keys of it are secret
// (langhost.ConfigEnv), and the TypeScript runtime options.
func runEnv(req *pulumirpc.RunRequest, opts map[string]any) ([]string, error) {
	env, err := langhost.ConfigEnv(req)
	if err != nil {
		return nil, err
	}
	env = append(env, "PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(asBool(opts["typescript"], true)))
	if ts, ok := opts["tsconfig"].(string); ok && ts != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+ts)
	}
	return env, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	opts := options(req.GetInfo())
	dir := programDir(req.GetInfo(), req.GetPwd())
	runner, ok := findUp(dir, filepath.Join("node_modules", "@pulumi", "pulumi", "cmd", "run"))
	if !ok {
		return &pulumirpc.RunResponse{Error: "could not find node_modules/@pulumi/pulumi/cmd/run from " +
			dir + ": install the project's npm packages first"}, nil
	}
	node, err := nodeBinary()
	if err != nil {
		return &pulumirpc.RunResponse{Error: "node not found on PATH"}, nil
	}
	env, err := runEnv(req, opts)
	if err != nil {
		return nil, err
	}

	cmd := exec.CommandContext(ctx, node, runArgs(runner, dir, h.EngineAddress, req, opts)...)
	cmd.Dir = dir
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), env...)
	// Exit code 32 is the runner's Bail (langhost.RunResult).
	return langhost.RunResult(cmd.Run()), nil
}
