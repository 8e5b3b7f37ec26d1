package inference

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"google.golang.org/grpc/codes"

	lepton "lepton.ai/clients/go"
	"lepton.ai/clients/go/internal/livetest"
)

// Against the server the harness started with the conformance model set.

func TestGoldenVectorsAreBitExact(t *testing.T) {
	server := livetest.Connect(t)
	client := NewClient(server.Conn)
	golden := loadVectors(t).Golden
	if len(golden) < 20 {
		t.Fatalf("only %d golden vectors", len(golden))
	}
	for _, v := range golden {
		t.Run(v.ID, func(t *testing.T) {
			inputs, want := v.io(t)
			result, err := client.Infer(livetest.Context(t), Request{Model: v.Model, Version: v.Version, ID: v.ID, Inputs: inputs})
			if err != nil {
				t.Fatal(err)
			}
			if result.ID != v.ID || (v.ExpectVersion != "" && result.Version != v.ExpectVersion) {
				t.Fatalf("id %q version %q", result.ID, result.Version)
			}
			for name, expected := range want {
				got, err := result.Output(name)
				if err != nil {
					t.Fatal(err)
				}
				if got.Datatype != expected.Datatype || fmt.Sprint(got.Shape) != fmt.Sprint(expected.Shape) || !bytes.Equal(got.Raw, expected.Raw) {
					t.Errorf("%s: %s %v % x, want %s %v % x", name, got.Datatype, got.Shape, got.Raw, expected.Datatype, expected.Shape, expected.Raw)
				}
			}
		})
	}
}

func TestBytesRoundTripUnderBothServiceNames(t *testing.T) {
	server := livetest.Connect(t)
	// identity_bytes holds text (an ONNX string tensor): any UTF-8, NUL included.
	values := [][]byte{{}, []byte("hello"), []byte("a\x00b"), []byte("πλ ✓"), bytes.Repeat([]byte("z"), 70000), []byte("end")}
	for name, client := range map[string]*Client{"lepton": NewClient(server.Conn), "oip": NewOIPClient(server.Conn)} {
		t.Run(name, func(t *testing.T) {
			request := Request{Model: "identity_bytes", Inputs: []Tensor{Bytes("INPUT0", []int64{2, 3}, values)}}
			result, err := client.Infer(livetest.Context(t), request)
			if err != nil {
				t.Fatal(err)
			}
			output, err := result.Output("OUTPUT0")
			if err != nil {
				t.Fatal(err)
			}
			got, err := BytesValues(output)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(values) {
				t.Fatalf("%d elements, want %d", len(got), len(values))
			}
			for i := range values {
				if !bytes.Equal(got[i], values[i]) {
					t.Errorf("element %d: % x, want % x", i, got[i], values[i])
				}
			}
		})
	}
}

func TestErrorTableGivesCodeAndReason(t *testing.T) {
	server := livetest.Connect(t)
	file := loadVectors(t)
	golden := map[string]vector{}
	for _, v := range file.Golden {
		golden[v.ID] = v
	}
	client := NewClient(server.Conn)
	checked, typed := 0, 0
	for _, row := range file.Errors {
		if row.Form == "typed" {
			typed++
			continue // built from typed contents, which this client does not send
		}
		base := golden[row.Base]
		inputs, _ := base.io(t)
		message := Request{Model: base.Model, Version: base.Version, Inputs: inputs}.Proto()
		applied, err := edit(message, &row.Change)
		if err != nil {
			t.Fatalf("%s: %v", row.ID, err)
		}
		if !applied {
			continue
		}
		checked++
		t.Run(row.ID, func(t *testing.T) {
			_, err := client.Service.ModelInfer(livetest.Context(t), message)
			e, ok := lepton.AsError(err)
			if !ok {
				t.Fatalf("no status: %v", err)
			}
			if lepton.CodeName(e.Code) != row.Code || e.Reason != row.Reason || e.Domain != lepton.ErrorDomain {
				t.Errorf("%s [%s] (%s), want %s [%s]", lepton.CodeName(e.Code), e.Reason, e.Domain, row.Code, row.Reason)
			}
		})
	}
	// Every row but those built from typed contents.
	if checked != len(file.Errors)-typed || checked < 25 {
		t.Fatalf("checked %d of %d rows (%d typed)", checked, len(file.Errors), typed)
	}
}

func TestMetadataAndStream(t *testing.T) {
	server := livetest.Connect(t)
	client := NewClient(server.Conn)
	ctx := livetest.Context(t)
	metadata, err := client.Metadata(ctx, "add_sub_fp32", "")
	if err != nil {
		t.Fatal(err)
	}
	if metadata.GetName() != "add_sub_fp32" || len(metadata.GetInputs()) != 2 {
		t.Fatalf("metadata %v", metadata)
	}
	_, err = client.Metadata(ctx, "no_such_model", "")
	var e *lepton.Error
	if !errors.As(err, &e) || e.Code != codes.NotFound || e.Reason != "MODEL_NOT_FOUND" {
		t.Fatalf("unknown model: %v", err)
	}

	stream, err := client.Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ones := make([]float32, 16)
	for i := range ones {
		ones[i] = 1
	}
	for i := range 3 {
		inputs := []Tensor{Of("INPUT0", []int64{1, 16}, ones), Of("INPUT1", []int64{1, 16}, ones)}
		model := "add_sub_fp32"
		if i == 1 {
			model = "no_such_model"
		}
		if err := stream.Send(Request{Model: model, ID: fmt.Sprint(i), Inputs: inputs}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		result, err := stream.Recv()
		if i == 1 {
			if !errors.As(err, &e) || e.Code != codes.NotFound || e.Reason != "MODEL_NOT_FOUND" {
				t.Fatalf("response 1: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		sum, _ := result.Output("OUTPUT0")
		values, err := Values[float32](sum)
		if err != nil || result.ID != fmt.Sprint(i) || len(values) != 16 || values[0] != 2 {
			t.Fatalf("response %d: %v %v %v", i, result.ID, values, err)
		}
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("after the last response: %v", err)
	}
}
