package main

import (
	"strings"
	"testing"

	"lepton.ai/clients/go/internal/livetest"
)

func TestInferExample(t *testing.T) {
	server := livetest.Connect(t)
	var out strings.Builder
	if err := run(livetest.Context(t), server.Address, server.Token, "add_sub_fp32", &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"model add_sub_fp32",
		"OUTPUT0 [1 16] [0.5 1.5 2.5",
		"OUTPUT1 [1 16] [-0.5 0.5 1.5",
		"stream response stream-0", "stream response stream-2",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
}
