package main

import (
	"strings"
	"testing"

	"lepton.ai/clients/go/internal/livetest"
)

func TestFlightReadExample(t *testing.T) {
	server := livetest.Connect(t)
	version := livetest.Env(t, "LEPTON_EXAMPLE_VERSION")
	var out strings.Builder
	if err := run(livetest.Context(t), server.Address, server.Token, version, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "matches") {
		t.Fatalf("output:\n%s", out.String())
	}
}
