// Package langhost is what the lab's two language hosts of ours,
// pulumi-language-nodejs and pulumi-language-python, share: serving the
// engine's LanguageRuntime protocol over gRPC, the engine's address, the
// handshake and plugin info, the stack configuration that a program's runner
// reads from its environment, and the engine's answer to how the runner
// exited. Each host is a module of its own (go/README.md) that requires this
// one through a replace line (../langhost).
package langhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// ExitAfterReportedError is the exit code with which a program's runner
// (@pulumi/pulumi's cmd/run, the Python host's run.py) says it has already
// reported the error to the engine.
const ExitAfterReportedError = 32

// Base is the part of a host's LanguageRuntime server that both hosts share;
// a host embeds it and implements the rest.
type Base struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	// EngineAddress is the engine's gRPC address: from the command line
	// (NewBase), or the handshake's when it names one.
	EngineAddress string
	// Version is what GetPluginInfo reports: the host's main.Version, which
	// its build stamps.
	Version string
}

// Handshake takes the engine's address when the engine sends one.
func (b *Base) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		b.EngineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetPluginInfo reports the host's version.
func (b *Base) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: b.Version}, nil
}

// NewBase is the Base of a host built as VERSION, started with ARGS (its
// command line's arguments, which name the engine's address).
func NewBase(version string, args []string) Base {
	return Base{EngineAddress: EngineAddress(args), Version: version}
}

// EngineAddress picks the engine's address out of the host's arguments: the
// engine passes it as the last positional argument, after any flags.
func EngineAddress(args []string) string {
	addr := ""
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			addr = a
		}
	}
	return addr
}

// Serve serves srv as the language host NAME (used in its error messages) on a
// free port of 127.0.0.1, and prints that port as the first line of stdout,
// where the engine reads it. A failure to listen or to serve exits the
// process with status 1.
func Serve(name string, srv pulumirpc.LanguageRuntimeServer) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: listen: %v\n", name, err)
		os.Exit(1)
	}
	s := grpc.NewServer(grpc.MaxRecvMsgSize(400 * 1024 * 1024))
	pulumirpc.RegisterLanguageRuntimeServer(s, srv)
	fmt.Printf("%d\n", lis.Addr().(*net.TCPAddr).Port)
	if err := s.Serve(lis); err != nil {
		fmt.Fprintf(os.Stderr, "%s: serve: %v\n", name, err)
		os.Exit(1)
	}
}

// ConfigEnv is the stack's configuration as a runner reads it from its
// environment: PULUMI_CONFIG (JSON) and PULUMI_CONFIG_SECRET_KEYS (a JSON
// list, [] when there is none).
func ConfigEnv(req *pulumirpc.RunRequest) ([]string, error) {
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
	return []string{"PULUMI_CONFIG=" + string(config), "PULUMI_CONFIG_SECRET_KEYS=" + string(secrets)}, nil
}

// RunResult turns how the runner exited (cmd.Run's error) into the engine's
// answer: ExitAfterReportedError means the runner has reported the error
// itself (Bail), any other failure is reported as the program's error.
func RunResult(err error) *pulumirpc.RunResponse {
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if exitErr.ExitCode() == ExitAfterReportedError {
			return &pulumirpc.RunResponse{Bail: true}
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}
	}
	return &pulumirpc.RunResponse{Error: err.Error()}
}
