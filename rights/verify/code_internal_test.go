package verify

import (
	"math"
	"testing"
)

// TestNewCodeUniform: codes are 6 digits, leading zeros kept, and every
// digit of every position is about equally likely (chi-square, 9 degrees of
// freedom: 27.9 is the 0.1 % critical value).
func TestNewCodeUniform(t *testing.T) {
	const n = 200_000
	var counts [6][10]int
	for range n {
		c := newCode()
		if !validCode(c) {
			t.Fatalf("code %q is not 6 digits", c)
		}
		for i := range 6 {
			counts[i][c[i]-'0']++
		}
	}
	for pos, row := range counts {
		chi := 0.0
		for _, k := range row {
			d := float64(k) - n/10
			chi += d * d / (n / 10)
		}
		if chi > 27.9 || math.IsNaN(chi) {
			t.Errorf("position %d: chi-square %.1f, counts %v", pos, chi, row)
		}
	}
}

func TestFormatCode(t *testing.T) {
	for v, want := range map[uint32]string{0: "000000", 7: "000007", 123456: "123456", 999999: "999999"} {
		if got := formatCode(v); got != want {
			t.Errorf("formatCode(%d) = %q, want %q", v, got, want)
		}
	}
}
