package inference

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	lepton "lepton.ai/clients/go"
	inferencev1 "lepton.ai/generated/go/lepton/inference/v1"
)

// Request is one inference request: the model (and version; empty for the server's
// choice), an optional id echoed in the response, the inputs, and the outputs to return
// (none: every output).
type Request struct {
	Model   string
	Version string
	ID      string
	Inputs  []Tensor
	Outputs []string
}

// Proto is the request as ModelInferRequest, its inputs in raw_input_contents.
func (r Request) Proto() *inferencev1.ModelInferRequest {
	message := &inferencev1.ModelInferRequest{ModelName: r.Model, ModelVersion: r.Version, Id: r.ID}
	for _, input := range r.Inputs {
		message.Inputs = append(message.Inputs, &inferencev1.ModelInferRequest_InferInputTensor{
			Name: input.Name, Datatype: input.Datatype, Shape: append([]int64(nil), input.Shape...),
		})
		message.RawInputContents = append(message.RawInputContents, input.Raw)
	}
	for _, name := range r.Outputs {
		message.Outputs = append(message.Outputs, &inferencev1.ModelInferRequest_InferRequestedOutputTensor{Name: name})
	}
	return message
}

// Result is a response with its outputs as tensors, in the order the server sent them.
type Result struct {
	Model   string
	Version string
	ID      string
	Outputs []Tensor
}

// Output is the output named name.
func (r *Result) Output(name string) (Tensor, error) {
	for _, output := range r.Outputs {
		if output.Name == name {
			return output, nil
		}
	}
	return Tensor{}, fmt.Errorf("the response has no output %q", name)
}

// ResultOf reads a ModelInferResponse. Outputs come as raw contents, or as typed contents
// (which the protocol allows), converted here to raw.
func ResultOf(response *inferencev1.ModelInferResponse) (*Result, error) {
	result := &Result{Model: response.GetModelName(), Version: response.GetModelVersion(), ID: response.GetId()}
	raw := response.GetRawOutputContents()
	if len(raw) != 0 && len(raw) != len(response.GetOutputs()) {
		return nil, fmt.Errorf("%d outputs but %d raw contents", len(response.GetOutputs()), len(raw))
	}
	for i, output := range response.GetOutputs() {
		tensor := Tensor{Name: output.GetName(), Datatype: output.GetDatatype(), Shape: output.GetShape()}
		if len(raw) != 0 {
			tensor.Raw = raw[i]
		} else {
			contents, err := rawOfTyped(tensor.Datatype, output.GetContents())
			if err != nil {
				return nil, fmt.Errorf("output %q: %w", tensor.Name, err)
			}
			tensor.Raw = contents
		}
		result.Outputs = append(result.Outputs, tensor)
	}
	return result, nil
}

func rawOfTyped(datatype string, c *inferencev1.InferTensorContents) ([]byte, error) {
	switch datatype {
	case "BOOL":
		return Encode(c.GetBoolContents()), nil
	case "INT8":
		return Encode(narrow[int32, int8](c.GetIntContents())), nil
	case "INT16":
		return Encode(narrow[int32, int16](c.GetIntContents())), nil
	case "INT32":
		return Encode(c.GetIntContents()), nil
	case "INT64":
		return Encode(c.GetInt64Contents()), nil
	case "UINT8":
		return Encode(narrow[uint32, uint8](c.GetUintContents())), nil
	case "UINT16":
		return Encode(narrow[uint32, uint16](c.GetUintContents())), nil
	case "UINT32":
		return Encode(c.GetUintContents()), nil
	case "UINT64":
		return Encode(c.GetUint64Contents()), nil
	case "FP32":
		return Encode(c.GetFp32Contents()), nil
	case "FP64":
		return Encode(c.GetFp64Contents()), nil
	case "BYTES":
		return EncodeBytes(c.GetBytesContents()), nil
	}
	return nil, fmt.Errorf("datatype %s has no typed contents", datatype)
}

func narrow[W, N int32 | uint32 | int8 | int16 | uint8 | uint16](values []W) []N {
	out := make([]N, len(values))
	for i, v := range values {
		out[i] = N(v)
	}
	return out
}

// Client calls an inference service: lepton.inference.v1.InferenceService, or with
// NewOIPClient the same methods under inference.GRPCInferenceService (Triton, KServe).
type Client struct {
	Service inferencev1.InferenceServiceClient
}

// NewClient is a client of lepton.inference.v1.InferenceService over conn.
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{Service: inferencev1.NewInferenceServiceClient(conn)}
}

// NewOIPClient is a client of the Open Inference Protocol's own service name,
// inference.GRPCInferenceService, which Triton and KServe serve and a Lepton server
// mirrors: the messages are the same on the wire.
func NewOIPClient(conn grpc.ClientConnInterface) *Client {
	return &Client{Service: inferencev1.NewInferenceServiceClient(renamed{conn})}
}

type renamed struct{ grpc.ClientConnInterface }

const (
	leptonService = "/lepton.inference.v1.InferenceService/"
	oipService    = "/inference.GRPCInferenceService/"
)

func (r renamed) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return r.ClientConnInterface.Invoke(ctx, oipName(method), args, reply, opts...)
}

func (r renamed) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return r.ClientConnInterface.NewStream(ctx, desc, oipName(method), opts...)
}

func oipName(method string) string {
	if len(method) > len(leptonService) && method[:len(leptonService)] == leptonService {
		return oipService + method[len(leptonService):]
	}
	return method
}

// Metadata describes a model (version; empty for the server's choice).
func (c *Client) Metadata(ctx context.Context, model, version string) (*inferencev1.ModelMetadataResponse, error) {
	response, err := c.Service.ModelMetadata(ctx, &inferencev1.ModelMetadataRequest{Name: model, Version: version})
	return response, wrap(err)
}

// Infer runs one request. A failed call's error is a *lepton.Error, with its ErrorInfo
// reason.
func (c *Client) Infer(ctx context.Context, request Request) (*Result, error) {
	response, err := c.Service.ModelInfer(ctx, request.Proto())
	if err != nil {
		return nil, wrap(err)
	}
	return ResultOf(response)
}

func wrap(err error) error {
	if e, ok := lepton.AsError(err); ok {
		return e
	}
	return err
}

// Stream is an open ModelStreamInfer: requests go out with Send, results come back with
// Recv in the order the requests were sent.
type Stream struct {
	stream grpc.BidiStreamingClient[inferencev1.ModelInferRequest, inferencev1.ModelStreamInferResponse]
}

// Stream opens a ModelStreamInfer stream; it ends with ctx.
func (c *Client) Stream(ctx context.Context) (*Stream, error) {
	stream, err := c.Service.ModelStreamInfer(ctx)
	if err != nil {
		return nil, wrap(err)
	}
	return &Stream{stream: stream}, nil
}

// Send sends one request.
func (s *Stream) Send(request Request) error { return wrap(s.stream.Send(request.Proto())) }

// CloseSend says no more requests will be sent.
func (s *Stream) CloseSend() error { return s.stream.CloseSend() }

// Recv is the next result. A request that failed gives a *lepton.Error read from the
// response's error_message, and the stream goes on; the stream's own end is io.EOF.
func (s *Stream) Recv() (*Result, error) {
	response, err := s.stream.Recv()
	if err != nil {
		return nil, wrap(err)
	}
	if response.GetErrorMessage() != "" {
		return nil, lepton.ParseStreamError(response.GetErrorMessage())
	}
	return ResultOf(response.GetInferResponse())
}
