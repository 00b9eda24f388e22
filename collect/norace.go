//go:build !race

package collect

// raceEnabled: built with the race detector (the tests).
const raceEnabled = false
