package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fluxcapsule.local/langhost"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// write creates path under root with the given content, and its parents.
func write(t *testing.T, root, path, content string) string {
	t.Helper()
	p := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAsBool(t *testing.T) {
	for _, c := range []struct {
		v    any
		def  bool
		want bool
	}{
		{nil, true, true}, {nil, false, false}, {false, true, false}, {true, false, true},
		{"false", true, false}, {"1", false, true}, {"maybe", true, true}, {3.0, false, false},
	} {
		if got := asBool(c.v, c.def); got != c.want {
			t.Errorf("asBool(%v, %v) = %v, want %v", c.v, c.def, got, c.want)
		}
	}
}

func TestFindUpSearchesParents(t *testing.T) {
	root := t.TempDir()
	want := write(t, root, "node_modules/x/package.json", "{}")
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	got, ok := findUp(deep, "node_modules/x/package.json")
	if !ok || got != want {
		t.Errorf("findUp = %q, %v; want %q", got, ok, want)
	}
	if _, ok := findUp(deep, "no-such-file-anywhere-9f2c"); ok {
		t.Error("findUp found a file that does not exist")
	}
}

func TestResourcePackagesReadsPulumiPluginDeclarations(t *testing.T) {
	root := t.TempDir()
	nm := "node_modules/"
	write(t, root, nm+"@pulumi/kubernetes/package.json",
		`{"name":"@pulumi/kubernetes","version":"4.34.2","pulumi":{"resource":true,"name":"kubernetes"}}`)
	write(t, root, nm+"@pulumi/tls/package.json",
		`{"name":"@pulumi/tls","version":"5.6.1-alpha","pulumi":{"resource":true,"version":"5.6.1"}}`)
	write(t, root, nm+"@pulumi/github/package.json",
		`{"name":"@pulumi/github","version":"6.15.0","pulumi":{"resource":true,"name":"github","version":"v6.15.0","server":"https://example.invalid"}}`)
	write(t, root, nm+"@pulumi/pulumi/package.json", `{"name":"@pulumi/pulumi","version":"3.248.0"}`)
	write(t, root, nm+"@pulumi/policy/package.json", `{"name":"@pulumi/policy","pulumi":{"resource":false}}`)
	write(t, root, nm+"yaml/package.json", `{"name":"yaml","version":"2.9.1"}`)
	write(t, root, nm+"broken/package.json", `{`)
	write(t, root, nm+".package-lock.json", `{}`)
	prog := filepath.Join(root, "program")
	if err := os.MkdirAll(prog, 0o755); err != nil {
		t.Fatal(err)
	}

	deps, err := resourcePackages(prog)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range deps {
		got = append(got, d.Kind+" "+d.Name+" "+d.Version+" "+d.Server)
	}
	want := []string{
		"resource github v6.15.0 https://example.invalid",
		"resource kubernetes v4.34.2 ",
		"resource tls v5.6.1 ",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resourcePackages =\n%q\nwant\n%q", got, want)
	}

	plugins, err := (&host{}).GetRequiredPlugins(context.Background(), &pulumirpc.GetRequiredPluginsRequest{
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: prog},
	})
	if err != nil || len(plugins.GetPlugins()) != 3 || plugins.GetPlugins()[1].GetName() != "kubernetes" {
		t.Errorf("GetRequiredPlugins = %v, %v", plugins, err)
	}
}

func TestResourcePackagesWithoutNodeModules(t *testing.T) {
	deps, err := resourcePackages(string(filepath.Separator))
	if err != nil || deps != nil {
		t.Errorf("resourcePackages(/) = %v, %v; want none", deps, err)
	}
}

func TestProgramDependenciesReportsInstalledVersions(t *testing.T) {
	root := t.TempDir()
	write(t, root, "package.json", `{"dependencies":{"yaml":"^2"},"devDependencies":{"@pulumi/pulumi":"~3.248.0","missing":"1"}}`)
	write(t, root, "node_modules/yaml/package.json", `{"name":"yaml","version":"2.9.1"}`)
	write(t, root, "node_modules/@pulumi/pulumi/package.json", `{"name":"@pulumi/pulumi","version":"3.248.0"}`)
	res, err := (&host{}).GetProgramDependencies(context.Background(), &pulumirpc.GetProgramDependenciesRequest{Pwd: root})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range res.GetDependencies() {
		got = append(got, d.Name+"@"+d.Version)
	}
	want := []string{"@pulumi/pulumi@3.248.0", "missing@", "yaml@2.9.1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("dependencies = %q, want %q", got, want)
	}
}

func TestRunArgs(t *testing.T) {
	req := &pulumirpc.RunRequest{
		MonitorAddress: "m:1", Project: "p", Stack: "dev", Organization: "org",
		DryRun: true, Parallel: 8, Program: "ignored", Args: []string{"a1", "a2"},
		Info: &pulumirpc.ProgramInfo{EntryPoint: "index.ts", RootDirectory: "/root"},
	}
	got := runArgs("/nm/run", "/prog", "e:2", req, map[string]any{"nodeargs": " --inspect  --max-old-space-size=4096 "})
	want := []string{
		"--inspect", "--max-old-space-size=4096", "/nm/run",
		"--monitor=m:1", "--project=p", "--stack=dev", "--pwd=/prog", "--engine=e:2",
		"--organization=org", "--root-directory=/root", "--dry-run", "--parallel=8",
		"index.ts", "a1", "a2",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("runArgs =\n%q\nwant\n%q", got, want)
	}

	got = runArgs("/nm/run", "/prog", "", &pulumirpc.RunRequest{Project: "p", Stack: "s"}, map[string]any{})
	want = []string{"/nm/run", "--monitor=", "--project=p", "--stack=s", "--pwd=/prog", "."}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("minimal runArgs = %q, want %q", got, want)
	}
}

func TestRunEnv(t *testing.T) {
	env, err := runEnv(&pulumirpc.RunRequest{Config: map[string]string{"p:k": "v"}}, map[string]any{"typescript": "false", "tsconfig": "tsconfig.lab.json"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`PULUMI_CONFIG={"p:k":"v"}`, `PULUMI_CONFIG_SECRET_KEYS=[]`,
		"PULUMI_NODEJS_TYPESCRIPT=false", "PULUMI_NODEJS_TSCONFIG_PATH=tsconfig.lab.json",
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("runEnv = %q, want %q", env, want)
	}
	env, _ = runEnv(&pulumirpc.RunRequest{ConfigSecretKeys: []string{"p:s"}}, map[string]any{})
	// No config at all is sent as JSON null, as it always was.
	want = []string{`PULUMI_CONFIG=null`, `PULUMI_CONFIG_SECRET_KEYS=["p:s"]`, "PULUMI_NODEJS_TYPESCRIPT=true"}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("runEnv = %q, want %q", env, want)
	}
}

// Run starts node (here a script recording what it was given) with the
// runner found above the program directory, in that directory.
func TestRunStartsTheRunnerWithConfig(t *testing.T) {
	root := t.TempDir()
	runner := write(t, root, "node_modules/@pulumi/pulumi/cmd/run/index.js", "")
	runner = filepath.Dir(runner)
	prog := filepath.Join(root, "stack")
	if err := os.MkdirAll(prog, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "out")
	node := write(t, root, "fake-node", "#!/bin/sh\n"+
		`{ pwd; for a in "$@"; do echo "$a"; done; echo "$PULUMI_CONFIG"; } >"`+out+`"`+"\n"+
		`[ "$PULUMI_CONFIG_SECRET_KEYS" = '["p:s"]' ] || exit 5`+"\n")
	t.Setenv("PULUMI_NODEJS_NODE", node)

	h := &host{Base: langhost.Base{EngineAddress: "e:3"}}
	opts, _ := structpb.NewStruct(map[string]any{"typescript": false})
	res, err := h.Run(context.Background(), &pulumirpc.RunRequest{
		Project: "p", Stack: "dev", Config: map[string]string{"p:k": "v"}, ConfigSecretKeys: []string{"p:s"},
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: prog, Options: opts},
	})
	if err != nil || res.GetError() != "" || res.GetBail() {
		t.Fatalf("Run = %v, %v", res, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []string{prog, runner, "--monitor=", "--project=p", "--stack=dev", "--pwd=" + prog, "--engine=e:3", ".", `{"p:k":"v"}`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("node saw\n%q\nwant\n%q", got, want)
	}

	res, _ = h.Run(context.Background(), &pulumirpc.RunRequest{Pwd: t.TempDir()})
	if !strings.Contains(res.GetError(), "could not find node_modules/@pulumi/pulumi/cmd/run") {
		t.Errorf("Run without npm packages = %v", res)
	}
}

func TestRunPluginRunsPolicyPacksAndComponentProvidersOnly(t *testing.T) {
	err := (&host{}).RunPlugin(&pulumirpc.RunPluginRequest{Kind: "converter"}, nil)
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("RunPlugin(converter) = %v, want Unimplemented", err)
	}
}

// pluginServer is the engine's end of a RunPlugin stream: it keeps what the
// plugin writes to stdout.
type pluginServer struct {
	grpc.ServerStream
	stdout strings.Builder
}

func (s *pluginServer) Context() context.Context { return context.Background() }

func (s *pluginServer) Send(r *pulumirpc.RunPluginResponse) error {
	s.stdout.Write(r.GetStdout())
	return nil
}

// RunPlugin (kind "resource") runs node (a script recording what it was
// given) with @pulumi/pulumi's cmd/run-plugin found above the plugin's
// directory, in that directory, its output streamed to the engine; without
// the npm packages it says what is missing.
func TestRunPluginStartsAComponentProvider(t *testing.T) {
	root := t.TempDir()
	runner := filepath.Dir(write(t, root, "node_modules/@pulumi/pulumi/cmd/run-plugin/index.js", ""))
	dir := filepath.Join(root, "provider")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PULUMI_NODEJS_NODE", write(t, root, "fake-node", "#!/bin/sh\n"+
		`pwd; for a in "$@"; do echo "$a"; done; echo "$FROM_ENGINE"`+"\n"))

	server := &pluginServer{}
	req := &pulumirpc.RunPluginRequest{Kind: "resource", Pwd: dir, Args: []string{"e:5"}, Env: []string{"FROM_ENGINE=yes"}}
	if err := (&host{}).RunPlugin(req, server); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(server.stdout.String()), "\n")
	if want := []string{dir, runner, dir, "e:5", "yes"}; !reflect.DeepEqual(got, want) {
		t.Errorf("node saw\n%q\nwant\n%q", got, want)
	}

	err := (&host{}).RunPlugin(&pulumirpc.RunPluginRequest{Kind: "resource", Pwd: t.TempDir()}, &pluginServer{})
	if err == nil || !strings.Contains(err.Error(), "could not find node_modules/@pulumi/pulumi/cmd/run-plugin") {
		t.Errorf("RunPlugin without npm packages = %v", err)
	}
}

func TestProviderArgs(t *testing.T) {
	got := providerArgs("/nm/run-plugin", "/provider", []string{"127.0.0.1:4242"})
	if want := []string{"/nm/run-plugin", "/provider", "127.0.0.1:4242"}; !reflect.DeepEqual(got, want) {
		t.Errorf("providerArgs = %q, want %q", got, want)
	}
}

func TestPolicyArgsAndEnv(t *testing.T) {
	got := policyArgs("/nm/run-policy-pack", "/policy", []string{"e:4"})
	if want := []string{"/nm/run-policy-pack", "e:4", "/policy"}; !reflect.DeepEqual(got, want) {
		t.Errorf("policyArgs = %q, want %q", got, want)
	}

	env, err := policyEnv(nil)
	if err != nil || len(env) != 0 {
		t.Errorf("policyEnv(nil) = %q, %v", env, err)
	}
	env, err = policyEnv(&pulumirpc.AnalyzerStackConfigureRequest{
		Project: "p", Stack: "dev", Config: map[string]string{"p:k": "v"},
	})
	want := []string{"PULUMI_NODEJS_PROJECT=p", "PULUMI_NODEJS_STACK=dev", "PULUMI_NODEJS_DRY_RUN=false", `PULUMI_CONFIG={"p:k":"v"}`}
	if err != nil || !reflect.DeepEqual(env, want) {
		t.Errorf("policyEnv = %q, %v; want %q", env, err, want)
	}
}
