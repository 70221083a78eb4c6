package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RunPlugin starts a plugin written for Node.js. The engine (since 3.224)
// runs Node.js policy packs (`--policy-pack`) this way, kind "analyzer",
// whenever a nodejs language host is installed, and source-based component
// providers (a directory with PulumiPlugin.yaml), kind "resource"
// (provider.go); nothing else is run as a plugin here. Either is served by a
// command of @pulumi/pulumi (sdkCommand), run by node in the plugin's
// directory, its output streamed to the engine.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	var run func(pluginRun) error
	var command, what string
	switch req.GetKind() {
	case "analyzer":
		run, command, what = runPolicyPack, "run-policy-pack", "policy pack"
	case "resource":
		run, command, what = runComponentProvider, "run-plugin", "plugin"
	default:
		return status.Errorf(codes.Unimplemented, "pulumi-language-nodejs (flux-capsule) runs policy packs and component providers as plugins, not %q", req.GetKind())
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	p := pluginRun{ctx: server.Context(), req: req, dir: programDir(req.GetInfo(), req.GetPwd()), stdout: stdout, stderr: stderr}
	if p.node, p.runner, err = sdkCommand(p.dir, command, what); err != nil {
		return err
	}
	if err := run(p); err != nil {
		return err
	}
	return closer.Close()
}

// pluginRun is a plugin that RunPlugin starts: the engine's request, the
// plugin's directory, node and the @pulumi/pulumi command that serves it,
// and the streams to the engine.
type pluginRun struct {
	ctx               context.Context
	req               *pulumirpc.RunPluginRequest
	dir, node, runner string
	stdout, stderr    io.Writer
}

// runPolicyPack serves a policy pack with @pulumi/pulumi's policy pack host
// (cmd/run-policy-pack, resolved from the pack's directory upward), started
// in the pack's directory with the engine's arguments and the directory last.
// The engine sends the stack's configuration only over the analyzer protocol,
// so the SDK's policy proxy answers first (its port is what the engine reads),
// receives it, and then forwards every call to the pack once that prints its
// own port.
func runPolicyPack(p pluginRun) error {
	proxy, packStdout, err := sdk.NewPolicyProxy(p.ctx, p.stdout)
	if err != nil {
		return fmt.Errorf("policy pack proxy: %w", err)
	}
	stack, err := proxy.AwaitConfiguration(p.ctx)
	if err != nil {
		return fmt.Errorf("policy pack stack configuration: %w", err)
	}
	stackEnv, err := policyEnv(stack)
	if err != nil {
		return err
	}

	cmd := exec.CommandContext(p.ctx, p.node, policyArgs(p.runner, p.dir, p.req.GetArgs())...)
	cmd.Dir = p.dir
	cmd.Env = append(append(os.Environ(), p.req.GetEnv()...), stackEnv...)
	cmd.Stdout, cmd.Stderr = packStdout, p.stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start the policy pack: %w", err)
	}
	// Attach waits for the pack to exit (it owns cmd.Wait).
	if err := proxy.Attach(p.ctx, cmd); err != nil {
		return fmt.Errorf("policy pack %s: %w", p.dir, err)
	}
	return nil
}

// policyArgs is node's command line for a policy pack in dir: the policy pack
// host, the engine's arguments, and the pack's directory last.
func policyArgs(runner, dir string, engineArgs []string) []string {
	args := append([]string{runner}, engineArgs...)
	return append(args, dir)
}

// policyEnv is how the policy pack host learns the stack it checks: the
// PULUMI_NODEJS_* variables and PULUMI_CONFIG (JSON) that @pulumi/pulumi's
// runtime reads; empty values are left unset.
func policyEnv(stack *pulumirpc.AnalyzerStackConfigureRequest) ([]string, error) {
	var env []string
	if stack == nil {
		return env, nil
	}
	set := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	set("PULUMI_NODEJS_ORGANIZATION", stack.GetOrganization())
	set("PULUMI_NODEJS_PROJECT", stack.GetProject())
	set("PULUMI_NODEJS_STACK", stack.GetStack())
	set("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(stack.GetDryRun()))
	if cfg := stack.GetConfig(); cfg != nil {
		text, err := json.Marshal(cfg)
		if err != nil {
			return nil, err
		}
		set("PULUMI_CONFIG", string(text))
	}
	return env, nil
}
