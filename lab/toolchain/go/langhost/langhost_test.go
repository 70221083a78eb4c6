package langhost

import (
	"context"
	"os/exec"
	"reflect"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestEngineAddressIsTheLastPositionalArgument(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"127.0.0.1:4000"}, "127.0.0.1:4000"},
		{[]string{"-tracing", "x", "127.0.0.1:4001"}, "127.0.0.1:4001"},
		{[]string{"--root=/p", "127.0.0.1:4002", "--logtostderr"}, "127.0.0.1:4002"},
		{[]string{"-v=9"}, ""},
	} {
		if got := EngineAddress(c.args); got != c.want {
			t.Errorf("EngineAddress(%q) = %q, want %q", c.args, got, c.want)
		}
	}
}

func TestHandshakeTakesTheEngineAddressWhenGiven(t *testing.T) {
	b := &Base{EngineAddress: "from-args"}
	if _, err := b.Handshake(context.Background(), &pulumirpc.LanguageHandshakeRequest{}); err != nil {
		t.Fatal(err)
	}
	if b.EngineAddress != "from-args" {
		t.Errorf("an empty handshake changed the address to %q", b.EngineAddress)
	}
	if _, err := b.Handshake(context.Background(), &pulumirpc.LanguageHandshakeRequest{EngineAddress: "e:1"}); err != nil {
		t.Fatal(err)
	}
	if b.EngineAddress != "e:1" {
		t.Errorf("EngineAddress = %q, want e:1", b.EngineAddress)
	}
}

func TestPluginInfoReportsTheVersion(t *testing.T) {
	info, err := (&Base{Version: "1.2.3"}).GetPluginInfo(context.Background(), nil)
	if err != nil || info.GetVersion() != "1.2.3" {
		t.Fatalf("GetPluginInfo = %v, %v; want version 1.2.3", info, err)
	}
}

func TestConfigEnv(t *testing.T) {
	env, err := ConfigEnv(&pulumirpc.RunRequest{Config: map[string]string{"p:k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`PULUMI_CONFIG={"p:k":"v"}`, `PULUMI_CONFIG_SECRET_KEYS=[]`}; !reflect.DeepEqual(env, want) {
		t.Errorf("ConfigEnv = %q, want %q", env, want)
	}
	env, _ = ConfigEnv(&pulumirpc.RunRequest{ConfigSecretKeys: []string{"p:s"}})
	// No config at all is sent as JSON null, as it always was.
	if want := []string{`PULUMI_CONFIG=null`, `PULUMI_CONFIG_SECRET_KEYS=["p:s"]`}; !reflect.DeepEqual(env, want) {
		t.Errorf("ConfigEnv = %q, want %q", env, want)
	}
}

func TestRunResult(t *testing.T) {
	exit := func(code string) error { return exec.Command("sh", "-c", "exit "+code).Run() }
	if r := RunResult(nil); r.GetBail() || r.GetError() != "" {
		t.Errorf("success = %v", r)
	}
	if r := RunResult(exit("32")); !r.GetBail() || r.GetError() != "" {
		t.Errorf("exit 32 = %v, want Bail", r)
	}
	if r := RunResult(exit("3")); r.GetBail() || r.GetError() != "Program exited with non-zero exit code: 3" {
		t.Errorf("exit 3 = %v", r)
	}
	if r := RunResult(exec.Command("/no/such/runner").Run()); r.GetError() == "" {
		t.Errorf("a runner that cannot start = %v, want an error", r)
	}
}

func TestNewBase(t *testing.T) {
	b := NewBase("1.2.3", []string{"-tracing", "127.0.0.1:4000"})
	if b.Version != "1.2.3" || b.EngineAddress != "127.0.0.1:4000" {
		t.Errorf("NewBase = %+v", b)
	}
}
