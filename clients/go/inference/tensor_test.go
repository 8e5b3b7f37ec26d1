package inference

import (
	"bytes"
	"math"
	"testing"
)

func TestNumbersRoundTripLittleEndian(t *testing.T) {
	raw := Encode([]int32{1, -2, math.MaxInt32})
	want := []byte{1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	if !bytes.Equal(raw, want) {
		t.Fatalf("Encode = % x, want % x", raw, want)
	}
	back, err := Decode[int32](raw)
	if err != nil || len(back) != 3 || back[1] != -2 || back[2] != math.MaxInt32 {
		t.Fatalf("Decode = %v, %v", back, err)
	}
	floats := []float64{-0.0, math.Inf(1), math.SmallestNonzeroFloat64}
	decoded, _ := Decode[float64](Encode(floats))
	for i := range floats {
		if math.Float64bits(decoded[i]) != math.Float64bits(floats[i]) {
			t.Fatalf("float64 %d: %v, want %v", i, decoded[i], floats[i])
		}
	}
}

func TestValuesChecksDatatypeAndSize(t *testing.T) {
	tensor := Of("x", []int64{2}, []float32{1, 2})
	if tensor.Datatype != "FP32" || len(tensor.Raw) != 8 {
		t.Fatalf("Of = %+v", tensor)
	}
	if _, err := Values[int32](tensor); err == nil {
		t.Fatal("an FP32 tensor read as INT32")
	}
	if _, err := Decode[int64](make([]byte, 7)); err == nil {
		t.Fatal("7 bytes read as int64 values")
	}
	if _, err := Decode[bool]([]byte{0, 1, 2}); err == nil {
		t.Fatal("a BOOL byte of 2 read")
	}
}

func TestBytesFraming(t *testing.T) {
	values := [][]byte{{}, []byte("hello"), {0, 0xff, 0}}
	raw := EncodeBytes(values)
	want := append([]byte{0, 0, 0, 0, 5, 0, 0, 0}, "hello"...)
	want = append(want, 3, 0, 0, 0, 0, 0xff, 0)
	if !bytes.Equal(raw, want) {
		t.Fatalf("EncodeBytes = % x, want % x", raw, want)
	}
	back, err := DecodeBytes(raw)
	if err != nil || len(back) != 3 || !bytes.Equal(back[2], values[2]) || len(back[0]) != 0 {
		t.Fatalf("DecodeBytes = %q, %v", back, err)
	}
	for _, broken := range [][]byte{{5, 0, 0}, {5, 0, 0, 0, 'a'}, append(raw, 1)} {
		if _, err := DecodeBytes(broken); err == nil {
			t.Fatalf("DecodeBytes(% x) succeeded", broken)
		}
	}
}

func TestHalfPrecision(t *testing.T) {
	cases := []struct {
		value float32
		bits  uint16
	}{
		{0.5, 0x3800}, {-2, 0xc000}, {65504, 0x7bff}, {0.0009765625, 0x1400},
		{float32(math.Inf(1)), 0x7c00}, {65520, 0x7c00}, {5.960464477539063e-08, 0x0001},
		{2.980232238769531e-08, 0x0000}, {1.0009765625 + 0.00048828125, 0x3c02}, {float32(math.Copysign(0, -1)), 0x8000},
	}
	for _, c := range cases {
		if got := HalfBits(c.value); got != c.bits {
			t.Errorf("HalfBits(%g) = %#04x, want %#04x", c.value, got, c.bits)
		}
	}
	for _, bits := range []uint16{0x3800, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00} {
		if got := HalfBits(HalfValue(bits)); got != bits {
			t.Errorf("HalfBits(HalfValue(%#04x)) = %#04x", bits, got)
		}
	}
}
