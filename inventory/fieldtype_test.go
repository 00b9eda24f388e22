package inventory_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/garde-privacy/garde/inventory"
)

func TestFieldTypeAccepts(t *testing.T) {
	values := map[string]any{
		"string":   "x",
		"empty":    "",
		"int":      float64(3),
		"negative": float64(-2),
		"fraction": 2.5,
		"big":      1e300,
		"inf":      math.Inf(1),
		"nan":      math.NaN(),
		"true":     true,
		"object":   map[string]any{"a": 1.0},
		"array":    []any{1.0},
		"null":     nil,
		"jsonint":  json.Number("42"),
		"jsonfrac": json.Number("4.2"),
		"jsonbad":  json.Number("x"),
		"go int":   7, // not what encoding/json produces
	}
	for _, tc := range []struct {
		t      inventory.FieldType
		accept []string
	}{
		{inventory.TypeAny, []string{"string", "empty", "int", "negative", "fraction", "big", "inf", "nan", "true", "object", "array", "null", "jsonint", "jsonfrac", "jsonbad", "go int"}},
		{"", []string{"string", "empty", "int", "negative", "fraction", "big", "inf", "nan", "true", "object", "array", "null", "jsonint", "jsonfrac", "jsonbad", "go int"}},
		{inventory.TypeString, []string{"string", "empty"}},
		{inventory.TypeNumber, []string{"int", "negative", "fraction", "big", "jsonint", "jsonfrac"}},
		{inventory.TypeInteger, []string{"int", "negative", "big", "jsonint"}},
		{inventory.TypeBoolean, []string{"true"}},
		{inventory.TypeObject, []string{"object"}},
		{inventory.TypeArray, []string{"array"}},
		{"date", nil},
	} {
		accepted := map[string]bool{}
		for _, name := range tc.accept {
			accepted[name] = true
		}
		for name, v := range values {
			if got := tc.t.Accepts(v); got != accepted[name] {
				t.Errorf("FieldType(%q).Accepts(%s %#v) = %v, want %v", tc.t, name, v, got, accepted[name])
			}
		}
	}
}

// TestAcceptsDecoded feeds values straight from encoding/json.
func TestAcceptsDecoded(t *testing.T) {
	for _, tc := range []struct {
		json string
		t    inventory.FieldType
		want bool
	}{
		{`12`, inventory.TypeInteger, true},
		{`12.0`, inventory.TypeInteger, true},
		{`12.5`, inventory.TypeInteger, false},
		{`1e3`, inventory.TypeInteger, true},
		{`"12"`, inventory.TypeNumber, false},
		{`{"a":[1]}`, inventory.TypeObject, true},
		{`[{"a":1}]`, inventory.TypeArray, true},
		{`null`, inventory.TypeString, false},
		{`false`, inventory.TypeBoolean, true},
	} {
		var v any
		if err := json.Unmarshal([]byte(tc.json), &v); err != nil {
			t.Fatal(err)
		}
		if got := tc.t.Accepts(v); got != tc.want {
			t.Errorf("%s accepts %s: %v, want %v", tc.t, tc.json, got, tc.want)
		}
	}
}
