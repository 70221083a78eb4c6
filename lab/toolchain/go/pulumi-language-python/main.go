// pulumi-language-python: a small Python language host for the Pulumi
// engine, written for flux-capsule's lab because the upstream host's module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) is not
// served by the Go module proxy this project can reach.
//
// It does two things: runs a program with the Python of its virtualenv and
// the pulumi package installed there (PyPI), through run.py; and generates a
// package's Python SDK from its schema with the engine's own code generator
// (pkg/codegen/python), which is how `pulumi package gen-sdk --language
// python` and `pulumi package add` reach it. What it shares with
// pulumi-language-nodejs (serving, the handshake, the stack configuration, how
// a run ends) is the langhost module beside it.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"fluxcapsule.local/langhost"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// Version is stamped at build time with -ldflags -X main.Version=...
var Version = "0.0.0-dev"

// runner is the Python side: it connects the SDK to the engine and runs the
// program. It exits with langhost.ExitAfterReportedError (32) when it has
// already reported the error to the engine.
//
//go:embed run.py
var runner []byte

// host serves the engine's LanguageRuntime protocol; the handshake and the
// plugin info are langhost.Base's.
type host struct {
	langhost.Base
}

// main serves the host on a free local port (langhost.Serve, shared with
// pulumi-language-nodejs), the engine's address taken from the arguments.
func main() {
	langhost.Serve("pulumi-language-python", &host{Base: langhost.NewBase(Version, os.Args[1:])})
}

// GetRequiredPackages reports nothing: the lab installs the providers the
// program uses into the plugin directory, and Pulumi.yaml's `packages` names
// the component provider.
func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetProgramDependencies(context.Context, *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

// InstallDependencies does nothing: the virtualenv is the caller's (the lab fills it with pip).
func (h *host) InstallDependencies(*pulumirpc.InstallDependenciesRequest, grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	return nil
}

func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	return &pulumirpc.AboutResponse{Executable: "python3"}, nil
}

// interpreter returns the Python of the program's virtualenv (runtime option
// `virtualenv`, relative to the program's directory), or python3 from PATH.
func interpreter(info *pulumirpc.ProgramInfo, dir string) string {
	if info != nil && info.GetOptions() != nil {
		if venv, ok := info.GetOptions().AsMap()["virtualenv"].(string); ok && venv != "" {
			if !filepath.IsAbs(venv) {
				venv = filepath.Join(dir, venv)
			}
			return filepath.Join(venv, "bin", "python")
		}
	}
	return "python3"
}

// runArgs are run.py's arguments for a RunRequest, the program last.
func runArgs(req *pulumirpc.RunRequest, engine, program string) []string {
	args := []string{
		"--monitor", req.GetMonitorAddress(),
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--parallel", fmt.Sprint(max(req.GetParallel(), 1)),
	}
	if engine != "" {
		args = append(args, "--engine", engine)
	}
	if req.GetOrganization() != "" {
		args = append(args, "--organization", req.GetOrganization())
	}
	if root := req.GetInfo().GetRootDirectory(); root != "" {
		args = append(args, "--root-directory", root)
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	return append(args, program)
}

// entryPoint is the file run.py runs: the program directory's __main__.py
// unless Pulumi.yaml's `main` names another.
func entryPoint(info *pulumirpc.ProgramInfo, dir string) string {
	entry := info.GetEntryPoint()
	if entry == "" || entry == "." {
		entry = "__main__.py"
	}
	if !filepath.IsAbs(entry) {
		entry = filepath.Join(dir, entry)
	}
	return entry
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	script, err := os.CreateTemp("", "flux-capsule-run-*.py")
	if err != nil {
		return nil, err
	}
	defer os.Remove(script.Name())
	if _, err := script.Write(runner); err != nil {
		return nil, err
	}
	if err := script.Close(); err != nil {
		return nil, err
	}
	env, err := langhost.ConfigEnv(req)
	if err != nil {
		return nil, err
	}

	args := append([]string{"-u", script.Name()}, runArgs(req, h.EngineAddress, entryPoint(req.GetInfo(), dir))...)
	cmd := exec.CommandContext(ctx, interpreter(req.GetInfo(), dir), args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	return langhost.RunResult(cmd.Run()), nil
}

// GeneratePackage writes a package's Python SDK into the requested directory,
// resolving referenced packages through the engine's schema loader.
func (h *host) GeneratePackage(_ context.Context, req *pulumirpc.GeneratePackageRequest) (*pulumirpc.GeneratePackageResponse, error) {
	loader, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.GetSchema()), &spec); err != nil {
		return nil, fmt.Errorf("package schema: %w", err)
	}
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{})
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("package schema %s: %s", spec.Name, diags.Error())
	}
	files, err := python.GeneratePackage("pulumi-language-python", pkg, req.GetExtraFiles(), loader)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GeneratePackageResponse{}, writeFiles(req.GetDirectory(), files)
}

// writeFiles writes generated files under dir, refusing any path that leaves it.
func writeFiles(dir string, files map[string][]byte) error {
	for name, data := range files {
		path := filepath.Join(dir, name)
		if rel, err := filepath.Rel(dir, path); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("generated file %q is outside %s", name, dir)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
