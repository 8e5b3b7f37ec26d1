// Package livetest connects the tests that need a running server to the one the test
// harness started (tests/clients/test_go_client.py): its address and token come from the
// environment, and without them those tests are skipped.
package livetest

import (
	"context"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"

	lepton "lepton.ai/clients/go"
)

// Server is the server under test.
type Server struct {
	Address string
	Token   string
	Conn    *grpc.ClientConn
}

// Connect dials LEPTON_ADDRESS with LEPTON_TOKEN, or skips the test when no server is set.
func Connect(t *testing.T) *Server {
	t.Helper()
	address := os.Getenv("LEPTON_ADDRESS")
	if address == "" {
		t.Skip("LEPTON_ADDRESS is not set: no server to test against")
	}
	token := os.Getenv("LEPTON_TOKEN")
	conn, err := lepton.Dial(address, token)
	if err != nil {
		t.Fatalf("dial %s: %v", address, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &Server{Address: address, Token: token, Conn: conn}
}

// Context is a context for one test's calls: it ends with the test, or after a minute.
func Context(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Env is a variable the harness must set for this test.
func Env(t *testing.T, name string) string {
	t.Helper()
	value := os.Getenv(name)
	if value == "" {
		t.Skipf("%s is not set", name)
	}
	return value
}
