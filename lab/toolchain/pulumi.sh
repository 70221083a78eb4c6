#!/usr/bin/env bash
# Builds the Pulumi engine (CLI), a Node.js language host and the resource
# providers that the project's npm packages ask for, from Go modules only (the
# Go module proxy is the one source: no GitHub, no release downloads), into
#   $FLUX_CAPSULE_CACHE/tools/<tool>/<key>/
#
#   bash lab/toolchain/pulumi.sh
#
# builds whatever is missing, logs each stage's time on stderr, and prints one
# line per tool directory on stdout, for PATH. A warm run rebuilds nothing.
#
# What the proxy serves decides what can be built here:
# - pulumi: pkg/v3 at the npm SDK's version, built in a throwaway wrapper
#   module (go install refuses modules whose go.mod has replace lines).
# - pulumi-language-nodejs: the upstream module is refused by the proxy (403),
#   so a small language host of our own (below) is built against sdk/v3 at the
#   same version. It goes next to `pulumi`, where the engine looks for bundled
#   language hosts, so the engine doesn't warn that it came from $PATH.
#   It also runs Node.js policy packs (`--policy-pack policy`): the engine
#   starts them through the language host's RunPlugin when one is installed,
#   instead of the `pulumi-analyzer-policy` script of the upstream archive.
# - pulumi-resource-kubernetes: the proxy serves one pseudo-version of
#   pulumi-kubernetes/provider/v4; its main package is copied into the wrapper
#   to add the generated files that it embeds and the module zip lacks.
# - pulumi-resource-tls / pulumi-resource-github: pulumi-tls and pulumi-github
#   are refused by the proxy. The upstream Terraform providers are served, so
#   each is bridged here with pulumi-terraform-bridge: a ProviderInfo of our own
#   (standard tokens, "tls:index/privateKey:PrivateKey" etc., as the npm SDKs
#   use), its schema generated at build time by the bridge's tfgen.
# Each plugin reports the version that the npm package asks for, so that
# `pulumi about` and the state show the versions the project pins (the engine
# takes a plugin from $PATH whatever its version; it only warns when it is
# older than the one asked for). The engine warns "using pulumi-resource-X from
# $PATH" on every run: that is how it treats ambient plugins.

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"

# ---- versions -----------------------------------------------------------
# Pulumi engine and language host: npm @pulumi/pulumi in package-lock.json.
PULUMI_VERSION=v3.248.0
# pkg/v3's own replace line (go.mod of pkg/v3 at PULUMI_VERSION).
CLIPBOARD_FORK=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e

# Kubernetes provider: the only pseudo-version of provider/v4 the proxy lists (commit f47bc2d6f199, 2026-01-15; provider ~4.24, older than npm's 4.34.2).
K8S_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
# provider/v4 replaces sdk/v4 with ../sdk; sdk/v4 v4.24.0 that it names is not served, v4.29.0 is the nearest served tag.
K8S_SDK_VERSION=v4.29.0
# Pulumi pkg/sdk for it: it asks for v3.215.0, sdk/v4 v4.29.0 for sdk/v3 v3.226.0; pkg/v3 v3.248.0 changed codegen/schema types it uses.
K8S_PULUMI_VERSION=v3.229.0
# What the plugin reports: "pulumi.version" of node_modules/@pulumi/kubernetes/package.json.
K8S_PLUGIN_VERSION=4.34.2

# Newest pulumi-terraform-bridge the proxy serves.
BRIDGE_VERSION=v3.120.0
# Pulumi pkg/sdk the bridge requires (pkg/v3 v3.248.0 no longer has codegen/dotnet, which the bridge imports).
BRIDGE_PULUMI_VERSION=v3.218.0
# Pulumi's terraform-plugin-sdk/v2 fork that the bridge's own go.mod pins.
PLUGIN_SDK_FORK=github.com/pulumi/terraform-plugin-sdk/v2@v2.0.0-20250923233607-7f1981c8674a

# Upstream Terraform TLS provider: served pseudo-version whose deps match the bridge (the newer d044ca7c6f52 needs terraform-plugin-go v0.31, which the plugin-sdk fork above doesn't implement).
TLS_UPSTREAM_VERSION=v1.2.1-0.20260130152455-857b38cda3fc
# What the plugin reports: "pulumi.version" of node_modules/@pulumi/tls/package.json.
TLS_PLUGIN_VERSION=5.6.1

# Upstream Terraform GitHub provider: the only v6 release the proxy serves.
GITHUB_UPSTREAM_VERSION=v6.6.0
# sum.golang.org (as proxied here) has no record of it: pin its hashes, taken from the proxy's zip on first build.
GITHUB_UPSTREAM_SUMS='github.com/integrations/terraform-provider-github/v6 v6.6.0 h1:nUCD7TVtF65VlA5BjYSZYYrX6QsY+dYU00s5Da2Mck0=
github.com/integrations/terraform-provider-github/v6 v6.6.0/go.mod h1:nrzqmLxqXepsy9PnXgKpHW7UNXOVEOr0WyCvUbs8FZE='
# What the plugin reports: "pulumi.version" of node_modules/@pulumi/github/package.json.
GITHUB_PLUGIN_VERSION=6.15.0
# -------------------------------------------------------------------------

BUILD_FLAGS=(-trimpath)
LDFLAGS_BASE="-s -w"

# The throwaway wrapper modules live in /tmp and go when a build succeeds; a
# failed one is kept for a look (its path is logged).
new_workdir() {
  local work
  work=$(mktemp -d "/tmp/pulumi-build-$1.XXXXXX")
  log "$1: wrapper module in $work"
  printf '%s' "$work"
}

# key_of TEXT... -> a short hash, so that a change of pins or of the sources
# written below gives a new tool directory and so a rebuild.
key_of() { printf '%s\n' "$@" | sha256sum | cut -c1-10; }

# fresh_tool_dir TOOL KEY -> empties and creates the directory for a build.
fresh_tool_dir() {
  local dir
  dir=$(tool_dir "$1" "$2")
  rm -rf "$dir"
  mkdir -p "$dir"
  printf '%s' "$dir"
}

# install_bin SRC DIR -> moves a built binary into DIR atomically.
install_bin() {
  local name
  name=$(basename "$1")
  mv -f "$1" "$2/.$name.tmp"
  mv -f "$2/.$name.tmp" "$2/$name"
}

# Warn when the npm packages ask for other plugin versions than the pins here.
check_npm_pins() {
  local nm="$HERE/../../node_modules/@pulumi" p want got
  [ -d "$nm" ] || return 0
  for p in "pulumi:$PULUMI_VERSION" "kubernetes:$K8S_PLUGIN_VERSION" "tls:$TLS_PLUGIN_VERSION" \
    "github:$GITHUB_PLUGIN_VERSION"; do
    want=${p#*:}
    want=${want#v}
    [ -f "$nm/${p%%:*}/package.json" ] || continue
    got=$(node -e 'const p=require(process.argv[1]); console.log((p.pulumi&&p.pulumi.version)||p.version)' \
      "$nm/${p%%:*}/package.json" 2>/dev/null || true)
    if [ -n "$got" ] && [ "$got" != "$want" ]; then
      log "warning: node_modules/@pulumi/${p%%:*} asks for $got, pulumi.sh pins $want"
    fi
  done
}

# ---- pulumi CLI -----------------------------------------------------------
build_pulumi_cli() {
  local dir work
  dir=$(fresh_tool_dir pulumi "$PULUMI_VERSION")
  work=$(new_workdir cli)
  cat >"$work/go.mod" <<EOF
module fluxcapsule.local/pulumi-cli

go 1.25.11

require (
	github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 $PULUMI_VERSION
)

replace github.com/atotto/clipboard => ${CLIPBOARD_FORK/@/ }
EOF
  (
    cd "$work"
    go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION"
    go build "${BUILD_FLAGS[@]}" -o "$work/pulumi" \
      -ldflags "$LDFLAGS_BASE -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  ) >&2
  install_bin "$work/pulumi" "$dir"
  mark_built pulumi "$PULUMI_VERSION"
  rm -rf "$work"
}

# ---- Node.js language host ------------------------------------------------
write_langhost_source() {
  cat >"$1/main.go" <<'EOF'
// pulumi-language-nodejs: a small Node.js language host for the Pulumi engine,
// written for flux-capsule because the upstream language host module is not
// served by the Go module proxy this project can reach.
//
// It runs a program through the installed @pulumi/pulumi package's own runner
// (node_modules/@pulumi/pulumi/cmd/run, which loads ts-node for TypeScript
// projects) and reports the resource plugins that the installed npm packages
// ask for.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Version is stamped at build time with -ldflags -X main.Version=...
var Version = "dev"

// Exit code with which @pulumi/pulumi's runner says it has already reported
// the error to the user.
const exitAfterReportedError = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
}

func main() {
	h := &host{}
	// The engine passes its own address as the last positional argument.
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			h.engineAddress = a
		}
	}
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

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// options reads the runtime options of Pulumi.yaml (runtime.options).
func options(info *pulumirpc.ProgramInfo) map[string]any {
	if info == nil || info.GetOptions() == nil {
		return map[string]any{}
	}
	return info.GetOptions().AsMap()
}

func programDir(info *pulumirpc.ProgramInfo, fallback string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	if fallback != "" {
		return fallback
	}
	wd, _ := os.Getwd()
	return wd
}

// findUp looks for rel in dir and each of its parents, as Node's resolver does.
func findUp(dir, rel string) (string, bool) {
	dir, _ = filepath.Abs(dir)
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

type npmPackage struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          *struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func readPackage(path string) (*npmPackage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p npmPackage
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// resourcePackages lists the npm packages in the program's node_modules that
// declare a Pulumi resource plugin in their package.json.
func resourcePackages(dir string) ([]*pulumirpc.PackageDependency, error) {
	nm, ok := findUp(dir, "node_modules")
	if !ok {
		return nil, nil
	}
	entries, err := os.ReadDir(nm)
	if err != nil {
		return nil, err
	}
	var pkgDirs []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if strings.HasPrefix(name, "@") {
			scoped, err := os.ReadDir(filepath.Join(nm, name))
			if err != nil {
				continue
			}
			for _, s := range scoped {
				pkgDirs = append(pkgDirs, filepath.Join(nm, name, s.Name()))
			}
			continue
		}
		pkgDirs = append(pkgDirs, filepath.Join(nm, name))
	}
	seen := map[string]bool{}
	var deps []*pulumirpc.PackageDependency
	for _, d := range pkgDirs {
		p, err := readPackage(filepath.Join(d, "package.json"))
		if err != nil || p.Pulumi == nil || !p.Pulumi.Resource {
			continue
		}
		name := p.Pulumi.Name
		if name == "" {
			name = strings.TrimPrefix(p.Name, "@pulumi/")
		}
		version := p.Pulumi.Version
		if version == "" {
			version = p.Version
		}
		if version != "" && !strings.HasPrefix(version, "v") {
			version = "v" + version
		}
		if seen[name+"@"+version] {
			continue
		}
		seen[name+"@"+version] = true
		deps = append(deps, &pulumirpc.PackageDependency{
			Kind: "resource", Name: name, Version: version, Server: p.Pulumi.Server,
		})
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].Name < deps[j].Name })
	return deps, nil
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	deps, err := resourcePackages(programDir(req.GetInfo(), ""))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	deps, err := resourcePackages(programDir(req.GetInfo(), req.GetPwd()))
	if err != nil {
		return nil, err
	}
	var plugins []*pulumirpc.PluginDependency
	for _, d := range deps {
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: d.Name, Kind: d.Kind, Version: d.Version, Server: d.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

func nodeBinary() (string, error) {
	if p := os.Getenv("PULUMI_NODEJS_NODE"); p != "" {
		return p, nil
	}
	return exec.LookPath("node")
}

func (h *host) About(_ context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := nodeBinary()
	if err != nil {
		return nil, fmt.Errorf("node not found on PATH: %w", err)
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	pj, ok := findUp(programDir(req.GetInfo(), req.GetPwd()), "package.json")
	if !ok {
		return nil, errors.New("no package.json found for the program")
	}
	p, err := readPackage(pj)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for n := range p.Dependencies {
		names[n] = true
	}
	for n := range p.DevDependencies {
		names[n] = true
	}
	var deps []*pulumirpc.DependencyInfo
	for n := range names {
		version := ""
		if ip, ok := findUp(filepath.Dir(pj), filepath.Join("node_modules", n, "package.json")); ok {
			if q, err := readPackage(ip); err == nil {
				version = q.Version
			}
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: n, Version: version})
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].Name < deps[j].Name })
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// InstallDependencies does nothing: the project installs its npm packages itself.
func (h *host) InstallDependencies(_ *pulumirpc.InstallDependenciesRequest, _ grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	return nil
}

// RunPlugin starts a plugin written for Node.js. The engine (3.248) runs
// Node.js policy packs (`--policy-pack`) this way, kind "analyzer", whenever
// a nodejs language host is installed; nothing else is run as a plugin here.
//
// The pack is served by @pulumi/pulumi's policy pack host (cmd/run-policy-pack,
// resolved from the pack's directory upward), started in the pack's directory
// with the engine's arguments and the directory last. The engine sends the
// stack's configuration only over the analyzer protocol, so the SDK's policy
// proxy answers first (its port is what the engine reads), receives it, and
// then forwards every call to the pack once that prints its own port.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	switch req.GetKind() {
	case "analyzer":
	case "resource":
		return runResourcePlugin(req, server)
	default:
		return status.Errorf(codes.Unimplemented, "pulumi-language-nodejs (flux-capsule) runs policy packs and component providers as plugins, not %q", req.GetKind())
	}
	ctx := server.Context()
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	dir := programDir(req.GetInfo(), req.GetPwd())
	runner, ok := findUp(dir, filepath.Join("node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack"))
	if !ok {
		return fmt.Errorf("could not find node_modules/@pulumi/pulumi/cmd/run-policy-pack from the policy pack %s: install its npm packages first", dir)
	}
	node, err := nodeBinary()
	if err != nil {
		return errors.New("node not found on PATH")
	}

	proxy, packStdout, err := sdk.NewPolicyProxy(ctx, stdout)
	if err != nil {
		return fmt.Errorf("policy pack proxy: %w", err)
	}
	stack, err := proxy.AwaitConfiguration(ctx)
	if err != nil {
		return fmt.Errorf("policy pack stack configuration: %w", err)
	}
	env := append(os.Environ(), req.GetEnv()...)
	if stack != nil {
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
				return err
			}
			set("PULUMI_CONFIG", string(text))
		}
	}

	args := append([]string{runner}, req.GetArgs()...)
	cmd := exec.CommandContext(ctx, node, append(args, dir)...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = packStdout, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start the policy pack: %w", err)
	}
	// Attach waits for the pack to exit (it owns cmd.Wait).
	if err := proxy.Attach(ctx, cmd); err != nil {
		return fmt.Errorf("policy pack %s: %w", dir, err)
	}
	return closer.Close()
}

// runResourcePlugin starts a source-based component provider written for
// Node.js (a directory with PulumiPlugin.yaml, runtime nodejs), as the
// upstream host does: @pulumi/pulumi's cmd/run-plugin loads the directory's
// package (TypeScript through ts-node) and serves the components it exports.
// The engine reads the provider's port from its stdout.
func runResourcePlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	dir := programDir(req.GetInfo(), req.GetPwd())
	runner, ok := findUp(dir, filepath.Join("node_modules", "@pulumi", "pulumi", "cmd", "run-plugin"))
	if !ok {
		return fmt.Errorf("could not find node_modules/@pulumi/pulumi/cmd/run-plugin from the plugin %s: install its npm packages first", dir)
	}
	node, err := nodeBinary()
	if err != nil {
		return errors.New("node not found on PATH")
	}
	args := append([]string{runner, dir}, req.GetArgs()...)
	cmd := exec.CommandContext(server.Context(), node, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("component provider %s: %w", dir, err)
	}
	return closer.Close()
}

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
	if h.engineAddress != "" {
		args = append(args, "--engine="+h.engineAddress)
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
	args = append(args, req.GetArgs()...)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secrets, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secrets),
		"PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(asBool(opts["typescript"], true)),
	)
	if ts, ok := opts["tsconfig"].(string); ok && ts != "" {
		cmd.Env = append(cmd.Env, "PULUMI_NODEJS_TSCONFIG_PATH="+ts)
	}

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == exitAfterReportedError {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}
EOF
  cat >"$1/go.mod" <<EOF
module fluxcapsule.local/pulumi-language-nodejs

go 1.25.11

require github.com/pulumi/pulumi/sdk/v3 $PULUMI_VERSION
EOF
}

# The language host goes into the pulumi CLI's directory (see the header); its
# own stamp there names a hash of its source, so editing it rebuilds it alone.
build_langhost() {
  local dir=$1 stamp=$2 work
  work=$(new_workdir langhost)
  write_langhost_source "$work"
  (
    cd "$work"
    go mod tidy
    go build "${BUILD_FLAGS[@]}" -o "$work/pulumi-language-nodejs" \
      -ldflags "$LDFLAGS_BASE -X main.Version=${PULUMI_VERSION#v}" .
  ) >&2
  install_bin "$work/pulumi-language-nodejs" "$dir"
  rm -f "$dir"/.langhost-*
  date -u +%FT%TZ >"$stamp"
  rm -rf "$work"
}

langhost_key() {
  local tmp key
  tmp=$(mktemp -d)
  write_langhost_source "$tmp"
  key=$(cat "$tmp/main.go" "$tmp/go.mod" | sha256sum | cut -c1-10)
  rm -rf "$tmp"
  printf '%s' "$key"
}

# ---- Kubernetes provider --------------------------------------------------
K8S_KEY="$K8S_PLUGIN_VERSION-$(key_of "$K8S_MODULE_VERSION" "$K8S_SDK_VERSION" "$K8S_PULUMI_VERSION" "$CLIPBOARD_FORK")"

build_kubernetes() {
  local dir work src cmd
  dir=$(fresh_tool_dir pulumi-resource-kubernetes "$K8S_KEY")
  work=$(new_workdir kubernetes)
  cat >"$work/go.mod" <<EOF
module fluxcapsule.local/pulumi-resource-kubernetes

go 1.25.11

require (
	github.com/pulumi/pulumi-kubernetes/provider/v4 $K8S_MODULE_VERSION
	github.com/pulumi/pulumi/pkg/v3 $K8S_PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 $K8S_PULUMI_VERSION
)

replace github.com/pulumi/pulumi-kubernetes/sdk/v4 => github.com/pulumi/pulumi-kubernetes/sdk/v4 $K8S_SDK_VERSION

replace github.com/atotto/clipboard => ${CLIPBOARD_FORK/@/ }
EOF
  (
    cd "$work"
    src=$(go mod download -json "github.com/pulumi/pulumi-kubernetes/provider/v4@$K8S_MODULE_VERSION" |
      sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    cmd="$work/cmd/pulumi-resource-kubernetes"
    mkdir -p "$cmd"
    # main.go embeds schema-embed.json and terraform-mapping-embed.json, which
    # its generate.go makes from the schema.json and terraform-mapping.json
    # that the module zip holds: run that same generator here.
    cp "$src/cmd/pulumi-resource-kubernetes/"{main.go,generate.go,schema.json,terraform-mapping.json} "$cmd/"
    chmod -R u+w "$cmd"
    go mod tidy
    (cd "$cmd" && VERSION=$K8S_PLUGIN_VERSION go run generate.go)
    go build "${BUILD_FLAGS[@]}" -o "$work/pulumi-resource-kubernetes" \
      -ldflags "$LDFLAGS_BASE -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PLUGIN_VERSION" \
      ./cmd/pulumi-resource-kubernetes
  ) >&2
  install_bin "$work/pulumi-resource-kubernetes" "$dir"
  mark_built pulumi-resource-kubernetes "$K8S_KEY"
  rm -rf "$work"
}

# ---- bridged Terraform providers ------------------------------------------
# write_bridged_mains WORK NAME pf|sdkv2: the two main packages of a provider
# whose ProviderInfo is in WORK/info (package info: Provider(metadata []byte)).
# tfgen's "schema" command writes schema.json and bridge-metadata.json, which
# the plugin embeds.
write_bridged_mains() {
  local work=$1 name=$2 kind=$3
  mkdir -p "$work/cmd/pulumi-tfgen-$name" "$work/cmd/pulumi-resource-$name"
  if [ "$kind" = pf ]; then
    cat >"$work/cmd/pulumi-tfgen-$name/main.go" <<EOF
// Generates the Pulumi schema of the bridged provider (run at build time).
package main

import (
	tfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"fluxcapsule.local/pulumi-resource-$name/info"
)

func main() { tfgen.Main("$name", info.Provider([]byte("{}"))) }
EOF
    cat >"$work/cmd/pulumi-resource-$name/main.go" <<EOF
// The pulumi-resource-$name plugin: serves the bridged provider.
package main

import (
	"context"
	_ "embed"

	tfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"fluxcapsule.local/pulumi-resource-$name/info"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	tfbridge.Main(context.Background(), "$name", info.Provider(metadata),
		tfbridge.ProviderMetadata{PackageSchema: schema})
}
EOF
  else
    cat >"$work/cmd/pulumi-tfgen-$name/main.go" <<EOF
// Generates the Pulumi schema of the bridged provider (run at build time).
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"fluxcapsule.local/pulumi-resource-$name/info"
)

func main() { tfgen.Main("$name", info.Version, info.Provider([]byte("{}"))) }
EOF
    cat >"$work/cmd/pulumi-resource-$name/main.go" <<EOF
// The pulumi-resource-$name plugin: serves the bridged provider.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"fluxcapsule.local/pulumi-resource-$name/info"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() { tfbridge.Main("$name", info.Version, info.Provider(metadata), schema) }
EOF
  fi
}

# build_bridged NAME KEY PLUGIN_VERSION WORK: tidy, generate the schema, build.
build_bridged() {
  local name=$1 key=$2 version=$3 work=$4 dir ldflags
  dir=$(fresh_tool_dir "pulumi-resource-$name" "$key")
  ldflags="$LDFLAGS_BASE -X fluxcapsule.local/pulumi-resource-$name/info.Version=$version"
  (
    cd "$work"
    go mod tidy
    go build "${BUILD_FLAGS[@]}" -ldflags "$ldflags" -o "$work/pulumi-tfgen-$name" "./cmd/pulumi-tfgen-$name"
    "$work/pulumi-tfgen-$name" schema --out "cmd/pulumi-resource-$name"
    go build "${BUILD_FLAGS[@]}" -ldflags "$ldflags" -o "$work/pulumi-resource-$name" "./cmd/pulumi-resource-$name"
  ) >&2
  install_bin "$work/pulumi-resource-$name" "$dir"
  mark_built "pulumi-resource-$name" "$key"
  rm -rf "$work"
}

bridge_go_mod() {
  local name=$1
  shift
  cat <<EOF
module fluxcapsule.local/pulumi-resource-$name

go 1.25.11

require (
$(printf '\t%s\n' "$@")
	github.com/pulumi/pulumi-terraform-bridge/v3 $BRIDGE_VERSION
	github.com/pulumi/pulumi/pkg/v3 $BRIDGE_PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 $BRIDGE_PULUMI_VERSION
)

replace github.com/hashicorp/terraform-plugin-sdk/v2 => ${PLUGIN_SDK_FORK/@/ }

replace github.com/atotto/clipboard => ${CLIPBOARD_FORK/@/ }
EOF
}

write_tls_source() {
  local work=$1
  mkdir -p "$work/shim" "$work/info"
  bridge_go_mod tls "github.com/hashicorp/terraform-provider-tls $TLS_UPSTREAM_VERSION" \
    "github.com/hashicorp/terraform-provider-tls/shim v0.0.0" >"$work/go.mod"
  printf '\nreplace github.com/hashicorp/terraform-provider-tls/shim => ./shim\n' >>"$work/go.mod"
  # The upstream provider's package is internal to its module: only a package
  # under the upstream module's path may import it, hence the shim's path.
  cat >"$work/shim/go.mod" <<EOF
module github.com/hashicorp/terraform-provider-tls/shim

go 1.24.8

require github.com/hashicorp/terraform-provider-tls $TLS_UPSTREAM_VERSION
EOF
  cat >"$work/shim/shim.go" <<'EOF'
// Package shim exposes the upstream Terraform TLS provider.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	upstream "github.com/hashicorp/terraform-provider-tls/internal/provider"
)

// NewProvider returns the upstream Terraform TLS provider.
func NewProvider() provider.Provider { return upstream.New() }
EOF
  cat >"$work/info/info.go" <<'EOF'
// Package info maps the Terraform TLS provider onto the Pulumi "tls" package.
package info

import (
	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"

	"github.com/hashicorp/terraform-provider-tls/shim"
)

// Version is stamped at build time.
var Version = "0.0.0-dev"

// Provider describes the package: Terraform resource "tls_x_y" becomes
// "tls:index/xY:XY" and data source "tls_x_y" becomes "tls:index/getXY:getXY",
// the tokens of the @pulumi/tls SDK.
func Provider(metadata []byte) tfbridge.ProviderInfo {
	p := tfbridge.ProviderInfo{
		P:            pftfbridge.ShimProvider(shim.NewProvider()),
		Name:         "tls",
		Version:      Version,
		GitHubOrg:    "hashicorp",
		Description:  "TLS keys and certificates (bridged from the Terraform TLS provider).",
		License:      "Apache-2.0",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
	}
	p.MustComputeTokens(tokens.SingleModule("tls_", "index", tokens.MakeStandard("tls")))
	return p
}
EOF
  write_bridged_mains "$work" tls pf
}

write_github_source() {
  local work=$1
  mkdir -p "$work/info"
  bridge_go_mod github "github.com/integrations/terraform-provider-github/v6 $GITHUB_UPSTREAM_VERSION" >"$work/go.mod"
  printf '%s\n' "$GITHUB_UPSTREAM_SUMS" >"$work/go.sum"
  cat >"$work/info/info.go" <<'EOF'
// Package info maps the Terraform GitHub provider onto the Pulumi "github" package.
package info

import (
	"github.com/integrations/terraform-provider-github/v6/github"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
)

// Version is stamped at build time.
var Version = "0.0.0-dev"

// Provider describes the package: Terraform resource "github_x_y" becomes
// "github:index/xY:XY" and data source "github_x_y" becomes
// "github:index/getXY:getXY", the tokens of the @pulumi/github SDK.
func Provider(metadata []byte) tfbridge.ProviderInfo {
	p := tfbridge.ProviderInfo{
		P:            shimv2.NewProvider(github.Provider()),
		Name:         "github",
		Version:      Version,
		GitHubOrg:    "integrations",
		Description:  "GitHub resources (bridged from the Terraform GitHub provider).",
		License:      "Apache-2.0",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		DataSources: map[string]*tfbridge.DataSourceInfo{
			// The one name in @pulumi/github that the standard rule doesn't give.
			"github_app": {Tok: "github:index/getGithubApp:getGithubApp"},
		},
	}
	p.MustComputeTokens(tokens.SingleModule("github_", "index", tokens.MakeStandard("github")))
	return p
}
EOF
  write_bridged_mains "$work" github sdkv2
}

# source_key WRITER: hash of everything a bridged build writes.
source_key() {
  local tmp key
  tmp=$(mktemp -d)
  "$1" "$tmp"
  key=$(find "$tmp" -type f | sort | xargs cat | sha256sum | cut -c1-10)
  rm -rf "$tmp"
  printf '%s' "$key"
}

# ---- main -----------------------------------------------------------------
main() {
  local cli_dir stamp tls_key github_key work
  check_npm_pins

  cli_dir=$(tool_dir pulumi "$PULUMI_VERSION")
  if have_tool pulumi "$PULUMI_VERSION"; then
    log "pulumi $PULUMI_VERSION: cached"
  else
    log "pulumi $PULUMI_VERSION: building"
    timed "pulumi $PULUMI_VERSION" build_pulumi_cli
  fi

  stamp="$cli_dir/.langhost-$(langhost_key)"
  if [ -f "$stamp" ]; then
    log "pulumi-language-nodejs: cached"
  else
    log "pulumi-language-nodejs: building"
    timed "pulumi-language-nodejs" build_langhost "$cli_dir" "$stamp"
  fi

  if have_tool pulumi-resource-kubernetes "$K8S_KEY"; then
    log "pulumi-resource-kubernetes $K8S_KEY: cached"
  else
    log "pulumi-resource-kubernetes $K8S_KEY: building"
    timed "pulumi-resource-kubernetes $K8S_KEY" build_kubernetes
  fi

  tls_key="$TLS_PLUGIN_VERSION-$(source_key write_tls_source)"
  if have_tool pulumi-resource-tls "$tls_key"; then
    log "pulumi-resource-tls $tls_key: cached"
  else
    log "pulumi-resource-tls $tls_key: building"
    work=$(new_workdir tls)
    write_tls_source "$work"
    timed "pulumi-resource-tls $tls_key" build_bridged tls "$tls_key" "$TLS_PLUGIN_VERSION" "$work"
  fi

  github_key="$GITHUB_PLUGIN_VERSION-$(source_key write_github_source)"
  if have_tool pulumi-resource-github "$github_key"; then
    log "pulumi-resource-github $github_key: cached"
  else
    log "pulumi-resource-github $github_key: building"
    work=$(new_workdir github)
    write_github_source "$work"
    # sum.golang.org has no record of the upstream GitHub provider; its
    # hashes are pinned in go.sum above instead.
    GONOSUMDB=github.com/integrations/terraform-provider-github \
      timed "pulumi-resource-github $github_key" build_bridged github "$github_key" "$GITHUB_PLUGIN_VERSION" "$work"
  fi

  printf '%s\n' "$cli_dir" \
    "$(tool_dir pulumi-resource-kubernetes "$K8S_KEY")" \
    "$(tool_dir pulumi-resource-tls "$tls_key")" \
    "$(tool_dir pulumi-resource-github "$github_key")"
}

main "$@"
