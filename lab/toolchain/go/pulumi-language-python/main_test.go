package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestRunArgs(t *testing.T) {
	req := &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:1", Project: "p", Stack: "s", Organization: "o", DryRun: true,
		Info: &pulumirpc.ProgramInfo{RootDirectory: "/root"},
	}
	got := runArgs(req, "127.0.0.1:2", "/prog/__main__.py")
	want := []string{"--monitor", "127.0.0.1:1", "--project", "p", "--stack", "s", "--parallel", "1",
		"--engine", "127.0.0.1:2", "--organization", "o", "--root-directory", "/root", "--dry-run", "/prog/__main__.py"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("runArgs =\n%q\nwant\n%q", got, want)
	}
	// An update (not a preview) with parallelism and no organization.
	got = runArgs(&pulumirpc.RunRequest{MonitorAddress: "m", Project: "p", Stack: "s", Parallel: 8}, "", "main.py")
	want = []string{"--monitor", "m", "--project", "p", "--stack", "s", "--parallel", "8", "main.py"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("runArgs =\n%q\nwant\n%q", got, want)
	}
}

func TestEntryPointAndInterpreter(t *testing.T) {
	if got := entryPoint(&pulumirpc.ProgramInfo{}, "/prog"); got != "/prog/__main__.py" {
		t.Fatalf("default entry point = %q", got)
	}
	if got := entryPoint(&pulumirpc.ProgramInfo{EntryPoint: "app.py"}, "/prog"); got != "/prog/app.py" {
		t.Fatalf("main: app.py = %q", got)
	}
	opts, err := structpb.NewStruct(map[string]any{"virtualenv": "venv"})
	if err != nil {
		t.Fatal(err)
	}
	if got := interpreter(&pulumirpc.ProgramInfo{Options: opts}, "/prog"); got != "/prog/venv/bin/python" {
		t.Fatalf("relative virtualenv = %q", got)
	}
	if got := interpreter(&pulumirpc.ProgramInfo{}, "/prog"); got != "python3" {
		t.Fatalf("no virtualenv = %q", got)
	}
}

func TestWriteFilesStaysInItsDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := writeFiles(dir, map[string][]byte{"pkg/a.py": []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pkg", "a.py")); err != nil || string(b) != "x" {
		t.Fatalf("written file: %q, %v", b, err)
	}
	for _, name := range []string{"../escape.py", "pkg/../../escape.py"} {
		if err := writeFiles(dir, map[string][]byte{name: []byte("x")}); err == nil {
			t.Fatalf("%s: written outside the directory", name)
		}
	}
}
