// Package inference is a typed layer over the Open Inference Protocol messages of
// lepton.inference.v1 (and inference.GRPCInferenceService, the same wire format): tensors to
// and from Go slices, BYTES framing, and a client whose errors carry their ErrorInfo reason.
package inference

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Tensor is one named input or output: its OIP datatype, shape and raw contents, the
// little-endian row-major bytes of raw_input_contents / raw_output_contents.
type Tensor struct {
	Name     string
	Datatype string
	Shape    []int64
	Raw      []byte
}

// Element is a Go type with an OIP datatype of fixed width. Named types (type Score
// float32) are left out on purpose: convert them to the built-in type first.
type Element interface {
	bool | int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64
}

// DatatypeOf is the OIP datatype of T's elements.
func DatatypeOf[T Element]() string {
	var zero T
	switch any(zero).(type) {
	case bool:
		return "BOOL"
	case int8:
		return "INT8"
	case int16:
		return "INT16"
	case int32:
		return "INT32"
	case int64:
		return "INT64"
	case uint8:
		return "UINT8"
	case uint16:
		return "UINT16"
	case uint32:
		return "UINT32"
	case uint64:
		return "UINT64"
	case float32:
		return "FP32"
	default:
		return "FP64"
	}
}

// ElementSize is the width in bytes of one element of datatype, or 0 for BYTES and unknown
// datatypes.
func ElementSize(datatype string) int {
	switch datatype {
	case "BOOL", "INT8", "UINT8":
		return 1
	case "INT16", "UINT16", "FP16", "BF16":
		return 2
	case "INT32", "UINT32", "FP32":
		return 4
	case "INT64", "UINT64", "FP64":
		return 8
	}
	return 0
}

// Of is a tensor of values with the datatype of T.
func Of[T Element](name string, shape []int64, values []T) Tensor {
	return Tensor{Name: name, Datatype: DatatypeOf[T](), Shape: shape, Raw: Encode(values)}
}

// Encode is values as OIP raw contents: little-endian, BOOL as one byte 0 or 1.
func Encode[T Element](values []T) []byte {
	size := ElementSize(DatatypeOf[T]())
	out := make([]byte, len(values)*size)
	for i, v := range values {
		put(out[i*size:], v)
	}
	return out
}

func put[T Element](b []byte, v T) {
	switch x := any(v).(type) {
	case bool:
		if x {
			b[0] = 1
		}
	case int8:
		b[0] = byte(x)
	case uint8:
		b[0] = x
	case int16:
		binary.LittleEndian.PutUint16(b, uint16(x))
	case uint16:
		binary.LittleEndian.PutUint16(b, x)
	case int32:
		binary.LittleEndian.PutUint32(b, uint32(x))
	case uint32:
		binary.LittleEndian.PutUint32(b, x)
	case int64:
		binary.LittleEndian.PutUint64(b, uint64(x))
	case uint64:
		binary.LittleEndian.PutUint64(b, x)
	case float32:
		binary.LittleEndian.PutUint32(b, math.Float32bits(x))
	case float64:
		binary.LittleEndian.PutUint64(b, math.Float64bits(x))
	}
}

// Values reads t's contents as Go values; its datatype must be T's and its contents a whole
// number of elements.
func Values[T Element](t Tensor) ([]T, error) {
	want := DatatypeOf[T]()
	if t.Datatype != want {
		return nil, fmt.Errorf("tensor %q is %s, not %s", t.Name, t.Datatype, want)
	}
	return Decode[T](t.Raw)
}

// Decode reads raw contents as values of T.
func Decode[T Element](raw []byte) ([]T, error) {
	size := ElementSize(DatatypeOf[T]())
	if len(raw)%size != 0 {
		return nil, fmt.Errorf("%d bytes are not a whole number of %d-byte elements", len(raw), size)
	}
	out := make([]T, len(raw)/size)
	for i := range out {
		b := raw[i*size:]
		var v any
		switch any(out[i]).(type) {
		case bool:
			if b[0] > 1 {
				return nil, fmt.Errorf("BOOL element %d is %d, not 0 or 1", i, b[0])
			}
			v = b[0] == 1
		case int8:
			v = int8(b[0])
		case uint8:
			v = b[0]
		case int16:
			v = int16(binary.LittleEndian.Uint16(b))
		case uint16:
			v = binary.LittleEndian.Uint16(b)
		case int32:
			v = int32(binary.LittleEndian.Uint32(b))
		case uint32:
			v = binary.LittleEndian.Uint32(b)
		case int64:
			v = int64(binary.LittleEndian.Uint64(b))
		case uint64:
			v = binary.LittleEndian.Uint64(b)
		case float32:
			v = math.Float32frombits(binary.LittleEndian.Uint32(b))
		case float64:
			v = math.Float64frombits(binary.LittleEndian.Uint64(b))
		}
		out[i] = v.(T)
	}
	return out, nil
}

// Bytes is a BYTES tensor of values.
func Bytes(name string, shape []int64, values [][]byte) Tensor {
	return Tensor{Name: name, Datatype: "BYTES", Shape: shape, Raw: EncodeBytes(values)}
}

// EncodeBytes frames BYTES elements as OIP raw contents: each one a 4-byte little-endian
// length, then its bytes.
func EncodeBytes(values [][]byte) []byte {
	size := 0
	for _, v := range values {
		size += 4 + len(v)
	}
	out := make([]byte, 0, size)
	for _, v := range values {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(v)))
		out = append(out, v...)
	}
	return out
}

// DecodeBytes reads framed BYTES elements; a frame cut short is an error.
func DecodeBytes(raw []byte) ([][]byte, error) {
	var out [][]byte
	for offset := 0; offset < len(raw); {
		if len(raw)-offset < 4 {
			return nil, fmt.Errorf("BYTES element %d: %d bytes left, too few for a length", len(out), len(raw)-offset)
		}
		size := int(binary.LittleEndian.Uint32(raw[offset:]))
		offset += 4
		if size > len(raw)-offset {
			return nil, fmt.Errorf("BYTES element %d: length %d, %d bytes left", len(out), size, len(raw)-offset)
		}
		out = append(out, raw[offset:offset+size:offset+size])
		offset += size
	}
	return out, nil
}

// BytesValues reads a BYTES tensor's elements.
func BytesValues(t Tensor) ([][]byte, error) {
	if t.Datatype != "BYTES" {
		return nil, fmt.Errorf("tensor %q is %s, not BYTES", t.Name, t.Datatype)
	}
	return DecodeBytes(t.Raw)
}

// FP16 is an FP16 tensor of values, each rounded to the nearest half-precision value (ties
// to even); Go has no float16 type.
func FP16(name string, shape []int64, values []float32) Tensor {
	raw := make([]byte, 2*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint16(raw[2*i:], HalfBits(v))
	}
	return Tensor{Name: name, Datatype: "FP16", Shape: shape, Raw: raw}
}

// HalfBits is the IEEE 754 binary16 encoding of v, rounded to nearest, ties to even.
func HalfBits(v float32) uint16 {
	bits := math.Float32bits(v)
	sign := uint16(bits>>16) & 0x8000
	exponent := int((bits >> 23) & 0xff)
	mantissa := bits & 0x7fffff
	switch {
	case exponent == 0xff: // infinity or NaN
		if mantissa != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exponent-127 > 15: // too large: infinity
		return sign | 0x7c00
	case exponent-127 >= -14: // normal
		half := uint32(exponent-127+15)<<10 | mantissa>>13
		return sign | uint16(roundHalf(half, mantissa&0x1fff, 0x1000))
	case exponent-127 >= -25: // subnormal
		mantissa |= 0x800000
		shift := uint(-14-(exponent-127)) + 13
		half := mantissa >> shift
		rest := mantissa & (1<<shift - 1)
		return sign | uint16(roundHalf(half, rest, 1<<(shift-1)))
	}
	return sign // too small: signed zero
}

// roundHalf rounds value up when the dropped bits are over half, or exactly half and value
// is odd; a carry into the exponent is the right result (up to infinity).
func roundHalf(value, dropped, half uint32) uint32 {
	if dropped > half || (dropped == half && value&1 == 1) {
		return value + 1
	}
	return value
}

// HalfValue is the float32 value of an IEEE 754 binary16 encoding.
func HalfValue(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exponent := uint32(h>>10) & 0x1f
	mantissa := uint32(h & 0x3ff)
	switch {
	case exponent == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mantissa<<13)
	case exponent == 0:
		value := float32(mantissa) / (1 << 24)
		if sign != 0 {
			value = -value
		}
		return value
	}
	return math.Float32frombits(sign | (exponent+112)<<23 | mantissa<<13)
}
