package inference

import (
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"lepton.ai/clients/go/internal/livetest"
	inferencev1 "lepton.ai/generated/go/lepton/inference/v1"
)

// The golden vectors and error table of the conformance suite
// (conformance/lepton_conformance/suites/inference/vectors/inference.yaml), read as the
// suite reads them.

type vectorFile struct {
	Golden []vector   `yaml:"golden"`
	Errors []errorRow `yaml:"errors"`
}

type vector struct {
	ID            string                `yaml:"id"`
	Model         string                `yaml:"model"`
	Version       string                `yaml:"version"`
	ExpectVersion string                `yaml:"expect_version"`
	Forms         []string              `yaml:"forms"`
	Inputs        map[string]tensorSpec `yaml:"inputs"`
	Outputs       map[string]tensorSpec `yaml:"outputs"`
	Identity      *tensorSpec           `yaml:"identity"`
}

type tensorSpec struct {
	Datatype string    `yaml:"datatype"`
	Shape    []int64   `yaml:"shape"`
	Values   yaml.Node `yaml:"values"`
}

type errorRow struct {
	ID     string    `yaml:"id"`
	Base   string    `yaml:"base"`
	Form   string    `yaml:"form"`
	Change yaml.Node `yaml:"change"`
	Code   string    `yaml:"code"`
	Reason string    `yaml:"reason"`
}

func loadVectors(t *testing.T) *vectorFile {
	t.Helper()
	data, err := os.ReadFile(livetest.Env(t, "LEPTON_VECTORS"))
	if err != nil {
		t.Fatal(err)
	}
	var file vectorFile
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	return &file
}

// io is a vector's inputs and expected outputs, in name order for inputs (INPUT0, INPUT1).
func (v vector) io(t *testing.T) ([]Tensor, map[string]Tensor) {
	t.Helper()
	if v.Identity != nil {
		input := v.Identity.tensor(t, "INPUT0")
		output := input
		output.Name = "OUTPUT0"
		return []Tensor{input}, map[string]Tensor{"OUTPUT0": output}
	}
	var inputs []Tensor
	for _, name := range []string{"INPUT0", "INPUT1"} {
		if spec, ok := v.Inputs[name]; ok {
			inputs = append(inputs, spec.tensor(t, name))
		}
	}
	outputs := map[string]Tensor{}
	for name, spec := range v.Outputs {
		outputs[name] = spec.tensor(t, name)
	}
	return inputs, outputs
}

func (s tensorSpec) tensor(t *testing.T, name string) Tensor {
	t.Helper()
	count := int64(1)
	for _, d := range s.Shape {
		count *= d
	}
	values, err := s.texts(int(count))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	raw, err := encodeTexts(s.Datatype, values)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return Tensor{Name: name, Datatype: s.Datatype, Shape: s.Shape, Raw: raw}
}

// texts is the spec's values as YAML scalars: a list, {range: [start, stop]} or {fill: v}.
func (s tensorSpec) texts(count int) ([]string, error) {
	node := s.Values
	if node.Kind == yaml.SequenceNode {
		out := make([]string, len(node.Content))
		for i, item := range node.Content {
			out[i] = item.Value
		}
		return out, nil
	}
	var form struct {
		Range []float64 `yaml:"range"`
		Fill  yaml.Node `yaml:"fill"`
	}
	if err := node.Decode(&form); err != nil {
		return nil, err
	}
	out := make([]string, count)
	for i := range out {
		switch {
		case form.Fill.Kind == yaml.ScalarNode:
			out[i] = form.Fill.Value
		case len(form.Range) == 2:
			start, stop := form.Range[0], form.Range[1]
			value := start + float64(i)
			if stop-start != float64(count) {
				value = start + float64(i)*(stop-start)/float64(count)
			}
			out[i] = strconv.FormatFloat(value, 'g', -1, 64)
		default:
			return nil, fmt.Errorf("values are neither a list, a range nor a fill")
		}
	}
	return out, nil
}

func parseFloat(text string) (float64, error) {
	switch text {
	case ".inf", "+.inf", ".Inf":
		return math.Inf(1), nil
	case "-.inf", "-.Inf":
		return math.Inf(-1), nil
	case ".nan", ".NaN":
		return math.NaN(), nil
	}
	return strconv.ParseFloat(text, 64)
}

// encodeTexts is YAML scalars as raw contents of datatype.
func encodeTexts(datatype string, texts []string) ([]byte, error) {
	var out []byte
	for _, text := range texts {
		var err error
		switch datatype {
		case "BYTES":
			return EncodeBytes(bytesOf(texts)), nil
		case "BOOL":
			var v bool
			v, err = strconv.ParseBool(text)
			out = append(out, Encode([]bool{v})...)
		case "INT8", "INT16", "INT32", "INT64":
			var v int64
			v, err = strconv.ParseInt(text, 10, 8*ElementSize(datatype))
			out = append(out, Encode([]int64{v})[:ElementSize(datatype)]...)
		case "UINT8", "UINT16", "UINT32", "UINT64":
			var v uint64
			v, err = strconv.ParseUint(text, 10, 8*ElementSize(datatype))
			out = append(out, Encode([]uint64{v})[:ElementSize(datatype)]...)
		case "FP16":
			var v float64
			v, err = parseFloat(text)
			out = append(out, Encode([]uint16{HalfBits(float32(v))})...)
		case "FP32":
			var v float64
			v, err = parseFloat(text)
			out = append(out, Encode([]float32{float32(v)})...)
		case "FP64":
			var v float64
			v, err = parseFloat(text)
			out = append(out, Encode([]float64{v})...)
		default:
			return nil, fmt.Errorf("datatype %s", datatype)
		}
		if err != nil {
			return nil, fmt.Errorf("%s value %q: %w", datatype, text, err)
		}
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

func bytesOf(texts []string) [][]byte {
	out := make([][]byte, len(texts))
	for i, text := range texts {
		out[i] = []byte(text)
	}
	return out
}

// edit applies an error-table row's change to the raw request of its base vector, key by
// key in the row's order, as the conformance suite's editor does. It reports false for a
// change this test does not make (typed contents of a typed base).
func edit(message *inferencev1.ModelInferRequest, change *yaml.Node) (bool, error) {
	index := 0
	for i := 0; i+1 < len(change.Content); i += 2 {
		key, value := change.Content[i].Value, change.Content[i+1]
		var number int
		_ = value.Decode(&number)
		switch key {
		case "model_name":
			message.ModelName = value.Value
		case "model_version":
			message.ModelVersion = value.Value
		case "input", "raw":
			index = number
		case "datatype":
			message.Inputs[index].Datatype = value.Value
		case "name":
			message.Inputs[index].Name = value.Value
		case "shape":
			var shape []int64
			if err := value.Decode(&shape); err != nil {
				return false, err
			}
			message.Inputs[index].Shape = shape
		case "drop_input":
			message.Inputs = append(message.Inputs[:number:number], message.Inputs[number+1:]...)
			message.RawInputContents = append(message.RawInputContents[:number:number], message.RawInputContents[number+1:]...)
		case "duplicate_input":
			message.Inputs = append(message.Inputs, proto.Clone(message.Inputs[number]).(*inferencev1.ModelInferRequest_InferInputTensor))
			message.RawInputContents = append(message.RawInputContents, message.RawInputContents[number])
		case "drop_raw":
			message.RawInputContents = append(message.RawInputContents[:number:number], message.RawInputContents[number+1:]...)
		case "truncate":
			raw := message.RawInputContents[index]
			message.RawInputContents[index] = raw[: len(raw)-number : len(raw)-number]
		case "append", "replace":
			patch, err := hex.DecodeString(value.Value)
			if err != nil {
				return false, err
			}
			raw := message.RawInputContents[index]
			if key == "append" {
				message.RawInputContents[index] = append(append([]byte{}, raw...), patch...)
			} else {
				message.RawInputContents[index] = append(patch, raw[len(patch):]...)
			}
		case "typed", "typed_only":
			if key == "typed_only" {
				message.RawInputContents = nil
			}
			var fields map[string][]float64
			if err := value.Decode(&fields); err != nil {
				return false, err
			}
			contents := &inferencev1.InferTensorContents{}
			for field, values := range fields {
				if field != "fp32_contents" {
					return false, nil
				}
				for _, v := range values {
					contents.Fp32Contents = append(contents.Fp32Contents, float32(v))
				}
			}
			message.Inputs[index].Contents = contents
		case "outputs":
			var names []string
			if err := value.Decode(&names); err != nil {
				return false, err
			}
			for _, name := range names {
				message.Outputs = append(message.Outputs, &inferencev1.ModelInferRequest_InferRequestedOutputTensor{Name: name})
			}
		case "rows":
			for position, tensor := range message.Inputs {
				raw := message.RawInputContents[position]
				row := raw[:len(raw)/int(tensor.Shape[0])]
				var grown []byte
				for range number {
					grown = append(grown, row...)
				}
				message.RawInputContents[position] = grown
				tensor.Shape[0] = int64(number)
			}
		default:
			return false, nil
		}
	}
	return true, nil
}
