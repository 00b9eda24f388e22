package inventory

import (
	"encoding/json"
	"math"
	"strconv"
)

// FieldType is the JSON type a field's value must have.
type FieldType string

// The field types, as written in garde.yaml. TypeAny is the default.
const (
	TypeAny     FieldType = "any"
	TypeString  FieldType = "string"
	TypeNumber  FieldType = "number"
	TypeInteger FieldType = "integer"
	TypeBoolean FieldType = "boolean"
	TypeObject  FieldType = "object"
	TypeArray   FieldType = "array"
)

// valid reports whether t is one of the declared types.
func (t FieldType) valid() bool {
	switch t {
	case TypeAny, TypeString, TypeNumber, TypeInteger, TypeBoolean, TypeObject, TypeArray:
		return true
	}
	return false
}

// Accepts reports whether v, a value as decoded by encoding/json into an
// `any` (string, float64, bool, map[string]any, []any or nil; json.Number
// when decoded with UseNumber), has type t. An integer is a finite number
// with no fractional part. TypeAny, and the zero FieldType, accept every
// value, null included; every other type refuses null. An unknown type
// accepts nothing.
func (t FieldType) Accepts(v any) bool {
	switch t {
	case TypeAny, "":
		return true
	case TypeString:
		_, ok := v.(string)
		return ok
	case TypeBoolean:
		_, ok := v.(bool)
		return ok
	case TypeObject:
		_, ok := v.(map[string]any)
		return ok
	case TypeArray:
		_, ok := v.([]any)
		return ok
	case TypeNumber:
		switch n := v.(type) {
		case float64:
			return !math.IsNaN(n) && !math.IsInf(n, 0)
		case json.Number:
			_, err := strconv.ParseFloat(string(n), 64)
			return err == nil
		}
	case TypeInteger:
		switch n := v.(type) {
		case float64:
			return !math.IsInf(n, 0) && n == math.Trunc(n)
		case json.Number:
			if _, err := strconv.ParseInt(string(n), 10, 64); err == nil {
				return true
			}
			f, err := strconv.ParseFloat(string(n), 64)
			return err == nil && !math.IsInf(f, 0) && f == math.Trunc(f)
		}
	}
	return false
}
