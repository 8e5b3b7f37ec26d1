package data

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestCanonicalTypeStrings(t *testing.T) {
	cases := map[string]arrow.DataType{
		"double":                         arrow.PrimitiveTypes.Float64,
		"halffloat":                      arrow.FixedWidthTypes.Float16,
		"timestamp[us, tz=UTC]":          &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
		"time32[ms]":                     arrow.FixedWidthTypes.Time32ms,
		"decimal128(10, 2)":              &arrow.Decimal128Type{Precision: 10, Scale: 2},
		"list<item: string>":             arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.BinaryTypes.String, Nullable: false}),
		"fixed_size_list<item: int8>[3]": arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Int8),
		"map<string, int64>":             arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64),
		"struct<a: bool, b: date32[day]>": arrow.StructOf(
			arrow.Field{Name: "a", Type: arrow.FixedWidthTypes.Boolean},
			arrow.Field{Name: "b", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		),
	}
	for want, dt := range cases {
		if got, err := CanonicalType(dt); err != nil || got != want {
			t.Errorf("CanonicalType(%s) = %q, %v; want %q", dt, got, err, want)
		}
	}
	if _, err := CanonicalType(arrow.FixedWidthTypes.MonthDayNanoInterval); err == nil {
		t.Error("an interval type has a canonical string")
	}
}

// A table of n rows: ids, halves of them (every 7th null) and their names.
func sample(n int, chunk int) arrow.Table {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "half", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	var records []arrow.RecordBatch
	for start := 0; start < n; start += chunk {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i := start; i < min(start+chunk, n); i++ {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
			if i%7 == 0 {
				b.Field(1).AppendNull()
				b.Field(2).AppendNull()
			} else {
				b.Field(1).(*array.Float64Builder).Append(float64(i) / 2)
				b.Field(2).(*array.StringBuilder).Append("row")
			}
		}
		records = append(records, b.NewRecordBatch())
		b.Release()
	}
	return array.NewTableFromRecords(schema, records)
}

func TestDigestDoesNotDependOnChunking(t *testing.T) {
	rows := 2*LeafRows + 123
	whole, err := ContentDigest(sample(rows, rows))
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{1000, LeafRows, LeafRows + 1} {
		if got, _ := ContentDigest(sample(rows, chunk)); got != whole {
			t.Errorf("chunks of %d rows: %s, want %s", chunk, got, whole)
		}
	}
	if other, _ := ContentDigest(sample(rows-1, rows)); other == whole {
		t.Error("one row fewer, the same digest")
	}
}

func TestDigestSkipsEmptyBatches(t *testing.T) {
	// Batches of 4, 0, 4, 0, 2 rows through Arrow IPC, whose reader gives an empty batch's
	// arrays no values buffer at all.
	parts := sample(10, 4)
	schema := parts.Schema()
	var stream bytes.Buffer
	writer := ipc.NewWriter(&stream, ipc.WithSchema(schema))
	reader := array.NewTableReader(parts, 4)
	for reader.Next() {
		if err := writer.Write(reader.RecordBatch()); err != nil {
			t.Fatal(err)
		}
		empty := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		if err := writer.Write(empty.NewRecordBatch()); err != nil {
			t.Fatal(err)
		}
		empty.Release()
	}
	reader.Release()
	writer.Close()
	read, err := ipc.NewReader(&stream)
	if err != nil {
		t.Fatal(err)
	}
	var records []arrow.RecordBatch
	for read.Next() {
		record := read.RecordBatch()
		record.Retain()
		records = append(records, record)
	}
	want, _ := ContentDigest(sample(10, 10))
	got, err := ContentDigest(array.NewTableFromRecords(schema, records))
	if err != nil || got != want || len(records) != 6 {
		t.Fatalf("%d batches with empty ones: %s, %v; want %s", len(records), got, err, want)
	}
}
