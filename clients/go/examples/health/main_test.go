package main

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	lepton "lepton.ai/clients/go"
	"lepton.ai/clients/go/internal/livetest"
)

func TestHealthExample(t *testing.T) {
	server := livetest.Connect(t)
	for _, service := range []string{"", "lepton.inference.v1.InferenceService", "lepton.data.v1.DatasetService"} {
		var out strings.Builder
		if err := run(livetest.Context(t), server.Address, service, &out); err != nil || out.String() != "SERVING\n" {
			t.Fatalf("%q: %q, %v", service, out.String(), err)
		}
	}
	err := run(livetest.Context(t), server.Address, "no.such.Service", &strings.Builder{})
	if e, ok := lepton.AsError(err); !ok || e.Code != codes.NotFound {
		t.Fatalf("an unknown service: %v", err)
	}
}
