// Command infer describes a model, runs one request and a short stream against a Lepton (or
// any Open Inference Protocol) server:
//
//	go run ./examples/infer -address 127.0.0.1:50051
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	lepton "lepton.ai/clients/go"
	"lepton.ai/clients/go/inference"
)

func main() {
	address := flag.String("address", "127.0.0.1:50051", "the server's host:port")
	token := flag.String("token", "", "bearer token, when the server requires one")
	model := flag.String("model", "add_sub_fp32", "a model with FP32 inputs INPUT0 and INPUT1 of shape [1, 16]")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, *address, *token, *model, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, address, token, model string, out io.Writer) error {
	conn, err := lepton.Dial(address, token)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := inference.NewClient(conn)

	metadata, err := client.Metadata(ctx, model, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "model %s versions %v platform %s\n", metadata.GetName(), metadata.GetVersions(), metadata.GetPlatform())

	a, b := make([]float32, 16), make([]float32, 16)
	for i := range a {
		a[i], b[i] = float32(i), 0.5
	}
	request := inference.Request{Model: model, Inputs: []inference.Tensor{
		inference.Of("INPUT0", []int64{1, 16}, a),
		inference.Of("INPUT1", []int64{1, 16}, b),
	}}
	result, err := client.Infer(ctx, request)
	if err != nil {
		return err
	}
	for _, output := range result.Outputs {
		values, err := inference.Values[float32](output)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s %v %v\n", output.Name, output.Shape, values)
	}

	stream, err := client.Stream(ctx)
	if err != nil {
		return err
	}
	for i := range 3 {
		request.ID = fmt.Sprintf("stream-%d", i)
		if err := stream.Send(request); err != nil {
			return err
		}
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	for {
		result, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "stream response %s with %d outputs\n", result.ID, len(result.Outputs))
	}
}
