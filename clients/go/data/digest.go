package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/endian"
)

// LeafRows is L of spec/data.md §4.3: the rows of one column that one leaf hashes.
const LeafRows = 65536

const digestMagic = "lepton-table-v2\n"

// ContentDigest is the content digest of table (spec/data.md §4.3), in hex: SHA-256 over E,
// whose columns are hash trees of leaves of LeafRows rows. It depends only on the column
// names, their canonical types and the row values in order, not on how the rows are
// chunked.
func ContentDigest(table arrow.Table) (string, error) {
	if endian.IsBigEndian {
		return "", fmt.Errorf("content digests are computed on little-endian hosts only")
	}
	e := sha256.New()
	e.Write([]byte(digestMagic))
	fields := table.Schema().Fields()
	writeU64(e, uint64(len(fields)))
	for _, field := range fields {
		canonical, err := CanonicalType(field.Type)
		if err != nil {
			return "", fmt.Errorf("column %q: %w", field.Name, err)
		}
		writeStr(e, field.Name)
		writeStr(e, canonical)
	}
	rows := table.NumRows()
	writeU64(e, uint64(rows))
	for i := range fields {
		column := table.Column(i).Data()
		leaves := (rows + LeafRows - 1) / LeafRows
		tree := sha256.New()
		writeU64(tree, uint64(leaves))
		for leaf := int64(0); leaf < leaves; leaf++ {
			slice := array.NewChunkedSlice(column, leaf*LeafRows, min((leaf+1)*LeafRows, rows))
			h := sha256.New()
			err := writeCol(h, slice.Chunks(), column.DataType())
			slice.Release()
			if err != nil {
				return "", fmt.Errorf("column %q: %w", fields[i].Name, err)
			}
			tree.Write(h.Sum(nil))
		}
		e.Write(tree.Sum(nil))
	}
	return hex.EncodeToString(e.Sum(nil)), nil
}

// CanonicalType is the one spelling of a type that spec/data.md §4.2 gives it.
func CanonicalType(t arrow.DataType) (string, error) {
	switch t := t.(type) {
	case *arrow.NullType:
		return "null", nil
	case *arrow.BooleanType:
		return "bool", nil
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type:
		return t.Name(), nil
	case *arrow.Float16Type:
		return "halffloat", nil
	case *arrow.Float32Type:
		return "float", nil
	case *arrow.Float64Type:
		return "double", nil
	case *arrow.Decimal128Type:
		return fmt.Sprintf("decimal128(%d, %d)", t.Precision, t.Scale), nil
	case *arrow.Decimal256Type:
		return fmt.Sprintf("decimal256(%d, %d)", t.Precision, t.Scale), nil
	case *arrow.StringType:
		return "string", nil
	case *arrow.LargeStringType:
		return "large_string", nil
	case *arrow.BinaryType:
		return "binary", nil
	case *arrow.LargeBinaryType:
		return "large_binary", nil
	case *arrow.FixedSizeBinaryType:
		return fmt.Sprintf("fixed_size_binary[%d]", t.ByteWidth), nil
	case *arrow.Date32Type:
		return "date32[day]", nil
	case *arrow.Date64Type:
		return "date64[ms]", nil
	case *arrow.Time32Type:
		return fmt.Sprintf("time32[%s]", t.Unit), nil
	case *arrow.Time64Type:
		return fmt.Sprintf("time64[%s]", t.Unit), nil
	case *arrow.TimestampType:
		if t.TimeZone == "" {
			return fmt.Sprintf("timestamp[%s]", t.Unit), nil
		}
		return fmt.Sprintf("timestamp[%s, tz=%s]", t.Unit, t.TimeZone), nil
	case *arrow.DurationType:
		return fmt.Sprintf("duration[%s]", t.Unit), nil
	case *arrow.MapType:
		key, err := CanonicalType(t.KeyType())
		if err != nil {
			return "", err
		}
		value, err := CanonicalType(t.ItemType())
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("map<%s, %s>", key, value), nil
	case *arrow.ListType:
		item, err := CanonicalType(t.Elem())
		return "list<item: " + item + ">", err
	case *arrow.LargeListType:
		item, err := CanonicalType(t.Elem())
		return "large_list<item: " + item + ">", err
	case *arrow.FixedSizeListType:
		item, err := CanonicalType(t.Elem())
		return fmt.Sprintf("fixed_size_list<item: %s>[%d]", item, t.Len()), err
	case *arrow.StructType:
		children := make([]string, len(t.Fields()))
		for i, field := range t.Fields() {
			child, err := CanonicalType(field.Type)
			if err != nil {
				return "", err
			}
			children[i] = field.Name + ": " + child
		}
		return "struct<" + strings.Join(children, ", ") + ">", nil
	}
	return "", fmt.Errorf("type %s is not one of spec/data.md §4.1", t)
}

// writeCol writes col(a) of §4.3 for the array that is the concatenation of parts.
func writeCol(w hash.Hash, parts []arrow.Array, t arrow.DataType) error {
	for _, part := range parts {
		validity := make([]byte, part.Len())
		if t.ID() != arrow.NULL {
			for i := range validity {
				if part.IsValid(i) {
					validity[i] = 1
				}
			}
		}
		w.Write(validity)
	}
	switch t.ID() {
	case arrow.NULL:
		return nil
	case arrow.BOOL:
		for _, part := range parts {
			values := part.(*array.Boolean)
			out := make([]byte, values.Len())
			for i := range out {
				if values.IsValid(i) && values.Value(i) {
					out[i] = 1
				}
			}
			w.Write(out)
		}
		return nil
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		for _, part := range parts {
			for i := 0; i < part.Len(); i++ {
				writeU64(w, uint64(len(binaryValue(part, i))))
			}
		}
		for _, part := range parts {
			for i := 0; i < part.Len(); i++ {
				w.Write(binaryValue(part, i))
			}
		}
		return nil
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.MAP:
		var children []arrow.Array
		defer releaseAll(&children)
		for _, part := range parts {
			lists := part.(array.ListLike)
			for i := 0; i < lists.Len(); i++ {
				start, end := lists.ValueOffsets(i)
				if !lists.IsValid(i) {
					start, end = 0, 0
				}
				writeU64(w, uint64(end-start))
			}
			children = appendValidRuns(children, lists, func(i int) (int64, int64) { return lists.ValueOffsets(i) }, lists.ListValues())
		}
		return writeCol(w, children, listElem(t))
	case arrow.STRUCT:
		for field := range t.(*arrow.StructType).Fields() {
			var children []arrow.Array
			for _, part := range parts {
				structs := part.(*array.Struct)
				children = appendValidRuns(children, structs, func(i int) (int64, int64) { return int64(i), int64(i + 1) }, structs.Field(field))
			}
			err := writeCol(w, children, t.(*arrow.StructType).Field(field).Type)
			releaseAll(&children)
			if err != nil {
				return err
			}
		}
		return nil
	}
	width, ok := t.(arrow.FixedWidthDataType)
	if !ok || width.BitWidth()%8 != 0 {
		return fmt.Errorf("type %s is not one of spec/data.md §4.1", t)
	}
	for _, part := range parts {
		w.Write(fixedWidthValues(part, width.BitWidth()/8))
	}
	return nil
}

// listElem is the type of a list-like type's elements (a map's: its entries struct).
func listElem(t arrow.DataType) arrow.DataType {
	if m, ok := t.(*arrow.MapType); ok {
		return m.Elem()
	}
	return t.(arrow.ListLikeType).Elem()
}

// appendValidRuns appends to children the slices of values that the valid slots of parent
// cover (span gives a slot's range), one slice per run of adjacent ranges.
func appendValidRuns(children []arrow.Array, parent arrow.Array, span func(int) (int64, int64), values arrow.Array) []arrow.Array {
	runStart, runEnd := int64(-1), int64(-1)
	flush := func() {
		if runStart >= 0 && runEnd > runStart {
			children = append(children, array.NewSlice(values, runStart, runEnd))
		}
		runStart, runEnd = -1, -1
	}
	for i := 0; i < parent.Len(); i++ {
		if !parent.IsValid(i) {
			continue
		}
		start, end := span(i)
		if start != runEnd {
			flush()
			runStart = start
		}
		runEnd = end
	}
	flush()
	return children
}

func releaseAll(arrays *[]arrow.Array) {
	for _, a := range *arrays {
		a.Release()
	}
	*arrays = nil
}

// binaryValue is slot i of a string or binary array; empty for a null slot.
func binaryValue(a arrow.Array, i int) []byte {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.String:
		return []byte(a.Value(i))
	case *array.LargeString:
		return []byte(a.Value(i))
	case *array.Binary:
		return a.Value(i)
	case *array.LargeBinary:
		return a.Value(i)
	}
	panic(fmt.Sprintf("not a string or binary array: %s", a.DataType()))
}

// fixedWidthValues is each slot's physical value, little-endian, width bytes each: null
// slots zero, every floating-point NaN the quiet NaN.
func fixedWidthValues(a arrow.Array, width int) []byte {
	out := make([]byte, a.Len()*width)
	if a.Len() == 0 {
		return out // an empty array may have no values buffer at all
	}
	data := a.Data()
	buffer := data.Buffers()[1].Bytes()
	copy(out, buffer[data.Offset()*width:(data.Offset()+a.Len())*width])
	for i := 0; i < a.Len(); i++ {
		slot := out[i*width : (i+1)*width]
		if a.IsNull(i) {
			clear(slot)
			continue
		}
		switch a.DataType().ID() {
		case arrow.FLOAT16:
			if v := binary.LittleEndian.Uint16(slot); v&0x7c00 == 0x7c00 && v&0x03ff != 0 {
				binary.LittleEndian.PutUint16(slot, 0x7e00)
			}
		case arrow.FLOAT32:
			if v := binary.LittleEndian.Uint32(slot); v&0x7f800000 == 0x7f800000 && v&0x007fffff != 0 {
				binary.LittleEndian.PutUint32(slot, 0x7fc00000)
			}
		case arrow.FLOAT64:
			if v := binary.LittleEndian.Uint64(slot); v&0x7ff0000000000000 == 0x7ff0000000000000 && v&0x000fffffffffffff != 0 {
				binary.LittleEndian.PutUint64(slot, 0x7ff8000000000000)
			}
		}
	}
	return out
}

func writeU64(w hash.Hash, x uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	w.Write(b[:])
}

func writeStr(w hash.Hash, s string) {
	writeU64(w, uint64(len(s)))
	w.Write([]byte(s))
}
